package nextcloud

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"jpegveil/config"
	"jpegveil/proxy/internal/hashes"
	"jpegveil/proxy/internal/session"
	"jpegveil/proxy/services"
)

// putChunk handles the PUT of one chunk.
func putChunk(ex services.Exchange, nc *upload, name string, found []hashes.Found) (*http.Response, error) {
	req := ex.Request()
	cn, ok := parseChunkName(name)
	if !ok {
		return ex.Refuse(fmt.Errorf("chunk name %q: jpegveil handles numbered chunks (1, 2, … or 00001, …) and byte-range names (000000000000000-000000010485759)", name))
	}
	if ce := services.Compressed(req.Header); ce != "" {
		return ex.Refuse(fmt.Errorf("the chunk is compressed (Content-Encoding: %s)", ce))
	}
	hold := ex.Env().Memory.NewHold()
	defer hold.Close()
	b, tooLarge, err := session.ReadWholeChunk(req, "chunked upload", ex.Env().HashBuffer(), hold)
	if tooLarge != nil {
		return ex.Refuse(tooLarge)
	}
	if services.IsBusy(err) {
		// Nothing was committed: the client can send the chunk again.
		return services.AnswerBusy(ex, err)
	}
	if err != nil {
		ex.Record(services.ClientError, err)
		return nil, err
	}
	if nc.last.Matches(name, 0, b) {
		// An exact repeat of the last chunk.
		if nc.acked || nc.lastUp == "" {
			ex.Record(services.AnsweredRepeat, nil)
			return services.Respond(req, http.StatusCreated, nil, ""), nil
		}
		return forward(ex, nc, b, found)
	}
	if err := nc.checkNext(name, cn, len(b), ex.Env().HashBuffer()); err != nil {
		return ex.Refuse(err)
	}
	st := nc.st
	if err := st.Commit(req.Context(), b, false); err != nil {
		ex.SetResult(st.Result())
		return ex.Refuse(err)
	}
	nc.last = session.NewChunkID(name, 0, b)
	nc.lastNm, nc.acked, nc.lastUp = cn, false, ""
	if len(st.Out) == 0 || st.HoldsTrailer() {
		// Everything is held back, or the transformer holds the data
		// after a phone's image (a motion photo's video) until the file
		// ends: what is ready would go up as a chunk shorter than the
		// client's, and a service on object storage refuses a chunk but
		// the last below its minimum size, which the client's chunks
		// meet. It goes up with the tail.
		ex.Record(services.Held, nil)
		return services.Respond(req, http.StatusCreated, nil, ""), nil
	}
	nc.lastUp = cn.upstreamName(st.OutOff, len(st.Out))
	return forward(ex, nc, b, found)
}

// Release gives the memory the upload's pending output holds back to the
// proxy's budget when its session is dropped (session.Releaser).
func (u *upload) Release() { u.st.Release() }

// checkNext returns why chunk name (parsed: cn), of n bytes, cannot be the
// next one of the upload, or nil.
func (nc *upload) checkNext(name string, cn chunkName, n int, limit int64) error {
	st := nc.st
	switch {
	case st.EOF:
		return errors.New("a chunk after the upload was assembled")
	case nc.last.Set && !nc.acked && nc.lastUp != "":
		return fmt.Errorf("the previous chunk (%s) did not reach the server: send it again before the next one", nc.last.Name)
	case nc.last.Set && cn.isRange != nc.lastNm.isRange:
		return errors.New("numbered and byte-range chunk names mixed in one upload")
	case cn.isRange && (cn.num != st.In || cn.end-cn.num+1 != int64(n)):
		return fmt.Errorf("chunk %s: jpegveil expects the next chunk to start at byte %d and its name to give its length (%d bytes); chunks must come in order, one at a time", name, st.In, n)
	case !cn.isRange && nc.last.Set && cn.num <= nc.lastNm.num:
		return fmt.Errorf("chunk %s after chunk %s: jpegveil encrypts a chunked upload in order and cannot go back; chunks must come in order, one at a time", name, nc.last.Name)
	case !cn.isRange && nc.v2 && (cn.num < 1 || cn.num >= 10000):
		return fmt.Errorf("chunk %s: with chunked upload v2 jpegveil needs chunk numbers from 1 to 9999, to add the end of the file as one more chunk", name)
	case st.Pending()+int64(n) > limit:
		// Pending counts what the transformer holds back too: the data
		// after a photo's image (a motion photo's video) until the file
		// ends.
		return fmt.Errorf("jpegveil holds at most limits.hash_buffer (%s) of an upload until it goes up, and %d bytes are held", config.Size(limit), st.Pending())
	}
	return nil
}

// forward PUTs the session's pending output as the last chunk's upstream
// chunk; b is the client's chunk.
func forward(ex services.Exchange, nc *upload, b []byte, found []hashes.Found) (*http.Response, error) {
	req, st := ex.Request(), nc.st
	data := bytes.Clone(st.Out)
	fwd := req.Clone(req.Context())
	fwd.URL = siblingURL(req.URL, nc.lastUp)
	services.SetBody(fwd, data)
	if len(found) > 0 {
		algs := hashes.Algs(found)
		if err := hashes.Rewrite(fwd.Header, found, &hashes.Span{What: "chunk", Plain: hashes.Of(b, algs...), Cipher: hashes.Of(data, algs...)}, nil); err != nil {
			return ex.Refuse(err)
		}
	}
	resp, err := ex.RoundTrip(fwd)
	ex.Sent(int64(len(data)))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		ex.Record(services.PassedStatus(resp.StatusCode), nil)
		return resp, nil
	}
	st.Ack(len(data))
	nc.acked = true
	ex.Record(services.Forwarded, nil)
	return resp, nil
}

// assemble handles the MOVE that assembles the upload: the held-back end
// of the file goes up as one more chunk first.
func assemble(ex services.Exchange, sess *session.Session, nc *upload, found []hashes.Found) (*http.Response, error) {
	req, env, st := ex.Request(), ex.Env(), nc.st
	if nc.last.Set && !nc.acked && nc.lastUp != "" {
		return ex.Refuse(fmt.Errorf("the last chunk (%s) did not reach the server: send it again before assembling", nc.last.Name))
	}
	if !st.EOF {
		if err := st.Commit(req.Context(), nil, true); err != nil {
			ex.SetResult(st.Result())
			return ex.Refuse(err)
		}
		nc.tail = tailName(nc)
	}
	if len(st.Out) > 0 {
		if resp, err := putTail(ex, nc); resp != nil || err != nil {
			return resp, err
		}
	}
	if len(found) > 0 {
		plain, cipher := st.FileSums()
		if err := hashes.Rewrite(req.Header, found, nil, &hashes.Span{What: "file", Plain: plain, Cipher: cipher}); err != nil {
			return ex.Refuse(err)
		}
	}
	resp, err := ex.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	ex.SetResult(st.Result())
	if resp.StatusCode/100 != 2 {
		ex.Record(services.PassedStatus(resp.StatusCode), nil)
		return resp, nil
	}
	env.Sessions.Remove(sess.Key(), sess)
	ex.SetFileHash(st.CiphertextSHA256())
	ex.Record(services.Of(st.Result()), nil)
	if ex.Rule().Service == "nextcloud" && st.Result().Transformed {
		remember(ex, st, resp, req.Header.Get("Destination"))
	}
	return resp, nil
}

// remember records what an assembled upload on a rule that names its
// service taught: the checksums of photo and ciphertext (for PROPFIND
// answers) and the path of the file ID the server answered (for its
// previews).
func remember(ex services.Exchange, st *session.Stream, resp *http.Response, dest string) {
	ctx, env := ex.Request().Context(), ex.Env()
	p, c := st.FileSums()
	if p[hashes.SHA1] != nil && c[hashes.SHA1] != nil && env.Checksums != nil {
		env.Checksums.Record(ctx, p[hashes.SHA1], c[hashes.SHA1])
	}
	u, err := url.Parse(dest)
	if id := fileIDOf(resp.Header.Get("OC-FileId")); id != "" && err == nil && env.Names != nil {
		env.Names.Remember(ctx, "nextcloud", "fileid:"+id, u.Path)
	}
}

// putTail PUTs the held-back end of the file as the next chunk, with the
// MOVE's headers that a chunk upload carries (authentication; with v2
// Destination and OC-Total-Length). It returns the service's answer only
// when the tail failed.
func putTail(ex services.Exchange, nc *upload) (*http.Response, error) {
	req, st := ex.Request(), nc.st
	put := req.Clone(req.Context())
	put.Method = http.MethodPut
	put.URL = siblingURL(req.URL, nc.tail)
	for _, h := range []string{"OC-Checksum", "X-OC-Mtime", "X-OC-Ctime", "Overwrite", "Depth", "If", "If-Match", "If-None-Match", "OC-If-Match", "Content-MD5", "Content-Type", "Expect"} {
		put.Header.Del(h)
	}
	if !nc.v2 { // v1 chunk uploads carry neither
		put.Header.Del("Destination")
		put.Header.Del("OC-Total-Length")
	}
	data := bytes.Clone(st.Out)
	services.SetBody(put, data)
	resp, err := ex.RoundTrip(put)
	ex.Sent(int64(len(data)))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		ex.Record(services.TailStatus(resp.StatusCode), nil)
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	st.Ack(len(data))
	return nil, nil
}

// tailName names the chunk that carries the held-back end of the file:
// after the last chunk, in its style.
func tailName(nc *upload) string {
	if !nc.last.Set {
		return "1"
	}
	c := nc.lastNm
	if c.isRange {
		return c.upstreamName(nc.st.OutOff, len(nc.st.Out))
	}
	c.num++
	return c.upstreamName(0, 0)
}

// siblingURL returns u with its last path segment replaced by name.
func siblingURL(u *url.URL, name string) *url.URL {
	v := *u
	ep := u.EscapedPath()
	base := ep[:strings.LastIndex(ep, "/")+1]
	v.RawPath = base + url.PathEscape(name)
	if p, err := url.PathUnescape(v.RawPath); err == nil {
		v.Path = p
	}
	return &v
}
