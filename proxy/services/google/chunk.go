package google

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"jpegveil/config"
	"jpegveil/proxy/internal/hashes"
	"jpegveil/proxy/internal/session"
	"jpegveil/proxy/services"
)

// chunk handles upload and finalize commands.
func chunk(ex services.Exchange, sess *session.Session, g *upload, cmds commands) (*http.Response, error) {
	req, env := ex.Request(), ex.Env()
	if g.st.Err != nil {
		return ex.Refuse(g.st.Err)
	}
	if ce := services.Compressed(req.Header); ce != "" {
		return ex.Refuse(fmt.Errorf("the chunk is compressed (Content-Encoding: %s)", ce))
	}
	found, err := env.Hashes.Parse(req.Header)
	if err != nil {
		return ex.Refuse(err)
	}
	off := g.st.In
	if v := req.Header.Get("X-Goog-Upload-Offset"); v != "" {
		if off, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil || off < 0 {
			return ex.Refuse(fmt.Errorf("invalid X-Goog-Upload-Offset %q", v))
		}
	} else if cmds.upload {
		return ex.Refuse(errors.New("an upload command without X-Goog-Upload-Offset"))
	}
	hold := env.Memory.NewHold()
	defer hold.Close()
	b, tooLarge, err := session.ReadWholeChunk(req, "resumable upload", env.HashBuffer(), hold)
	switch {
	case tooLarge != nil:
		return ex.Refuse(tooLarge)
	case services.IsBusy(err):
		// Nothing was committed: the client can send the chunk again.
		return services.AnswerBusy(ex, err)
	case err != nil:
		// The client broke off: nothing was committed, the upload can
		// resume at the same offset.
		ex.Record(services.ClientError, err)
		return nil, err
	case !cmds.upload && len(b) > 0:
		return ex.Refuse(errors.New("a finalize command without upload carries a body"))
	}
	if err := commit(ex, g, off, b, cmds.finalize); err != nil {
		return ex.Refuse(err)
	}
	return forward(ex, sess, g, b, found, cmds.finalize)
}

// Release gives the memory the upload's pending output holds back to the
// proxy's budget when its session is dropped (session.Releaser).
func (u *upload) Release() { u.st.Release() }

// commit feeds the chunk b at offset off to the upload's stream, or
// recognizes it as a repeat; an error says why the chunk is refused.
func commit(ex services.Exchange, g *upload, off int64, b []byte, final bool) error {
	st, ctx := g.st, ex.Request().Context()
	switch {
	case off == st.In && !st.EOF:
		if limit := ex.Env().HashBuffer(); st.Pending()+int64(len(b)) > limit {
			return fmt.Errorf("jpegveil holds %d bytes of this upload that the service has not taken yet (not acknowledged, or data after the photo's image, such as a motion photo's video, which goes up when the file ends), and at most limits.hash_buffer (%s)", st.Pending(), config.Size(limit))
		}
		if err := st.Commit(ctx, b, final); err != nil {
			ex.SetResult(st.Result())
			return err
		}
		if len(b) > 0 {
			g.last = session.NewChunkID("", off, b)
		}
	case off == st.In && len(b) == 0 && final:
		// The finalize is repeated: what is left goes up again.
	case g.last.Matches("", off, b):
		// An exact repeat of the last chunk: it is committed already.
		if final && !st.EOF {
			if err := st.Commit(ctx, nil, true); err != nil {
				ex.SetResult(st.Result())
				return err
			}
		}
	case st.EOF:
		return fmt.Errorf("a chunk at offset %d after the upload was finalized at %d bytes", off, st.In)
	default:
		return fmt.Errorf("a chunk at offset %d, but this upload continues at offset %d: jpegveil encrypts a resumable upload in order and cannot go back (query the upload status and resume from there)", off, st.In)
	}
	return nil
}

// ready is how much of the upload's output can go up now: whole multiples
// of the granularity, or everything once the upload is final.
func (g *upload) ready(final bool) int {
	if final {
		return len(g.st.Out)
	}
	return len(g.st.Out) - len(g.st.Out)%g.gran
}

// held answers a chunk the proxy committed but holds, as the service would.
func held(ex services.Exchange) (*http.Response, error) {
	ex.Record(services.Held, nil)
	h := make(http.Header)
	h.Set("X-Goog-Upload-Status", "active")
	return services.Respond(ex.Request(), http.StatusOK, h, ""), nil
}

// forward sends what is ready of the upload upstream, after the chunk b.
func forward(ex services.Exchange, sess *session.Session, g *upload, b []byte, found []hashes.Found, final bool) (*http.Response, error) {
	req, st := ex.Request(), g.st
	if g.ready(final) == 0 && !final {
		return held(ex)
	}
	if g.unsure {
		if resp, done, err := resyncFirst(ex, sess, g); done {
			return resp, err
		}
		if g.ready(final) == 0 && !final {
			return held(ex)
		}
	}
	n := g.ready(final)
	data := bytes.Clone(st.Out[:n]) // the transport may read it after RoundTrip returns
	fwd := req.Clone(req.Context())
	services.SetBody(fwd, data)
	fwd.Header.Set("X-Goog-Upload-Offset", strconv.FormatInt(st.OutOff, 10))
	if final {
		fwd.Header.Set("X-Goog-Upload-Command", "upload, finalize")
	} else {
		fwd.Header.Set("X-Goog-Upload-Command", "upload")
	}
	if len(found) > 0 {
		algs := hashes.Algs(found)
		body := &hashes.Span{What: "chunk", Plain: hashes.Of(b, algs...), Cipher: hashes.Of(data, algs...)}
		var file *hashes.Span
		if final {
			plain, cipher := st.FileSums()
			file = &hashes.Span{What: "file", Plain: plain, Cipher: cipher}
		}
		if err := hashes.Rewrite(fwd.Header, found, body, file); err != nil {
			return ex.Refuse(err)
		}
	}
	resp, err := ex.RoundTrip(fwd)
	ex.Sent(int64(n))
	switch {
	case err != nil:
		g.unsure = true
		return retryLater(req, "forward this upload to the service", "query the upload status and continue", err), nil
	case resp.StatusCode/100 != 2:
		g.unsure = true
		ex.Record(services.PassedStatus(resp.StatusCode), nil)
		clientView(resp, st)
		return resp, nil
	case final:
		finished(ex, sess, st)
		return resp, nil
	}
	st.Ack(n)
	ex.Record(services.Forwarded, nil)
	clientView(resp, st)
	return resp, nil
}

// resyncFirst asks the service what it has of an upload whose last forward
// failed. done says the request is answered with resp: the upload cannot
// go on, the service could not be asked, or it finalized the upload
// already.
func resyncFirst(ex services.Exchange, sess *session.Session, g *upload) (resp *http.Response, done bool, err error) {
	req, st := ex.Request(), g.st
	resp, err = resync(ex, g)
	switch {
	case st.Err != nil:
		// The upload cannot go on: the service ended it, or has other
		// bytes than the proxy sent.
		ex.Env().Sessions.Remove(sess.Key(), sess)
		ex.SetResult(st.Result())
		return refusal(ex, st.Err), true, nil
	case err != nil:
		ex.Record(services.UpstreamError, err)
		return retryLater(req, "forward this upload to the service", "query the upload status and continue", err), true, nil
	case resp != nil: // the service finalized the upload already
		finished(ex, sess, st)
		return resp, true, nil
	}
	return nil, false, nil
}

// finished ends the session of an upload the service has finalized and
// records what was sent.
func finished(ex services.Exchange, sess *session.Session, st *session.Stream) {
	ex.Env().Sessions.Remove(sess.Key(), sess)
	ex.SetResult(st.Result())
	ex.SetFileHash(st.CiphertextSHA256())
	ex.Record(services.Of(st.Result()), nil)
}

// clientView rewrites the service's count of received bytes into the
// client's: the bytes the proxy holds count as received.
func clientView(resp *http.Response, st *session.Stream) {
	if resp.Header.Get("X-Goog-Upload-Size-Received") != "" {
		resp.Header.Set("X-Goog-Upload-Size-Received", strconv.FormatInt(st.In, 10))
	}
}
