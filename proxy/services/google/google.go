// Package google is jpegveil's knowledge of Google Photos uploads: the
// resumable upload protocol of the Photos Library API and of
// photos.google.com, its single-request variant, and the X-Goog-Hash header.
//
// Google's resumable upload protocol (Photos Library API POST /v1/uploads,
// photos.google.com/_/upload/uploadmedia/…):
//
//	start:    X-Goog-Upload-Protocol: resumable, X-Goog-Upload-Command: start
//	          (X-Goog-Upload-Raw-Size or X-Goog-Upload-Header-Content-Length)
//	          → X-Goog-Upload-URL, X-Goog-Upload-Chunk-Granularity
//	chunks:   POST <upload URL>, X-Goog-Upload-Command: upload (or
//	          "upload, finalize"), X-Goog-Upload-Offset; every chunk but the
//	          last a multiple of the granularity (262,144 bytes)
//	query:    X-Goog-Upload-Command: query → X-Goog-Upload-Status,
//	          X-Goog-Upload-Size-Received
//	finalize: answers the upload token
//
// The proxy forwards the start and keeps a session under the upload URL
// the service answered. Each chunk is received completely, committed to
// the session's stream, and the output that is ready goes upstream in whole
// multiples of the granularity, at the upstream offset; the rest waits for
// the next request. When nothing can go up, the proxy answers the client
// itself ("active"), as the service would. A query is answered from the
// session: the client's view, in which every committed chunk was received.
// The finalizing request sends everything left.
//
// A forward that fails leaves its bytes in the session; the next request
// (a query too) first asks the service how much it has and sends the rest.
// When the service says the upload is over (cancelled, expired), the
// session is dropped and the client told so.
//
// Nothing of the file goes up but through a session: a start may carry
// JSON metadata, never data (a start combined with upload or finalize, or
// whose body is not JSON, is unsupported), nor a hash of the file
// (X-Goog-Upload-Header-Content-MD5 or -X-Goog-Hash announce hashes of the
// upload to come, which cannot be recomputed before the file has been
// encrypted: refused); a query or a cancel carries no body.
//
// Limits: a chunk must fit in limits.hash_buffer; chunks must come in order
// (an exact repeat of the last chunk is answered from the session, any
// other offset is refused); all requests of an upload must go through the
// same proxy process, within limits.session_ttl of each other; at most
// limits.max_sessions uploads are in progress at once (the least recently
// used one is dropped beyond that).
package google

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"jpegveil/config"
	"jpegveil/proxy/internal/hashes"
	"jpegveil/proxy/internal/session"
	"jpegveil/proxy/services"
)

// Service is Google Photos.
type Service struct{}

// Name is "google", the value of a rule's resumable key.
func (Service) Name() string { return string(config.ResumableGoogle) }

// HashHeaders is X-Goog-Hash: "crc32c=<b64>,md5=<b64>" of the object,
// which for a raw upload is the body. On a resumable upload it may cover
// the chunk or, on the finalizing request, the whole file.
func (Service) HashHeaders() []hashes.Header {
	return []hashes.Header{{
		Name:    "X-Goog-Hash",
		Labels:  map[string]hashes.Alg{"md5": hashes.MD5, "crc32c": hashes.CRC32C},
		ItemSep: ",", LabelSep: "=", Unknown: "hash",
		Base64: true,
	}}
}

const (
	granularity = 262144
	sessionTag  = "google|"
)

// upload is what the proxy keeps of one resumable upload between its
// requests.
type upload struct {
	st   *session.Stream
	gran int
	// unsure is set when a forward failed: the service may or may not have
	// the bytes, so the next forward asks it first.
	unsure bool
	last   session.ChunkID
}

// commands are the X-Goog-Upload-Command of a request.
type commands struct {
	start, upload, finalize, query, cancel bool
	unknown                                string
	any                                    bool
}

func parseCommands(h string) commands {
	var c commands
	for _, f := range strings.Split(h, ",") {
		switch f = strings.ToLower(strings.TrimSpace(f)); f {
		case "":
			continue
		case "start":
			c.start = true
		case "upload":
			c.upload = true
		case "finalize":
			c.finalize = true
		case "query":
			c.query = true
		case "cancel":
			c.cancel = true
		default:
			c.unknown = f
		}
		c.any = true
	}
	return c
}

func sessionKey(u *url.URL) string {
	return sessionTag + config.CanonicalHost(u.Host) + u.EscapedPath() + "?" + u.RawQuery
}

// Upload handles a request on a route of Google's upload protocol.
func (Service) Upload(ex services.Exchange) (*http.Response, error) {
	req := ex.Request()
	cmds := parseCommands(req.Header.Get("X-Goog-Upload-Command"))
	proto := strings.ToLower(strings.TrimSpace(req.Header.Get("X-Goog-Upload-Protocol")))
	switch {
	case !cmds.any && proto == "raw":
		// A single-request upload: the body is the file.
		return ex.Upload()
	case cmds.start:
		return start(ex, cmds)
	case !cmds.any:
		return ex.Unsupported(fmt.Errorf("an upload without X-Goog-Upload-Command (X-Goog-Upload-Protocol %q) on a resumable route", proto))
	case cmds.unknown != "":
		return ex.Refuse(fmt.Errorf("unknown X-Goog-Upload-Command %q", cmds.unknown))
	}
	if cmds.cancel || !cmds.upload && !cmds.finalize {
		// A query or a cancel carries nothing to encrypt: a body would go
		// up as it came.
		empty, err := bodyEmpty(req)
		if err != nil {
			ex.Record(services.ClientError, err)
			return nil, err
		}
		if !empty {
			return ex.Unsupported(fmt.Errorf("X-Goog-Upload-Command %q with a body, which jpegveil does not encrypt", req.Header.Get("X-Goog-Upload-Command")))
		}
	}
	tbl := ex.Env().Sessions
	key := sessionKey(req.URL)
	sess := tbl.Acquire(key)
	if sess == nil {
		return unknownSession(ex, cmds)
	}
	defer tbl.Release(sess)
	g, ok := sess.State.(*upload)
	if !ok {
		return ex.Refuse(errors.New("this upload URL belongs to an upload of another protocol"))
	}
	switch {
	case cmds.cancel:
		tbl.Remove(key, sess)
		return ex.Pass(services.Cancelled)
	case !cmds.upload && !cmds.finalize:
		return answerQuery(ex, sess, g)
	}
	return chunk(ex, sess, g, cmds)
}

// unknownSession handles a request of an upload the proxy holds no session
// for.
func unknownSession(ex services.Exchange, cmds commands) (*http.Response, error) {
	req := ex.Request()
	if !cmds.upload && !cmds.finalize {
		// A status query or a cancel, without a body (checked above).
		return ex.Pass(services.PassedUnknownSession)
	}
	if cmds.finalize {
		// The finalize may be a repeat whose first answer was lost
		// after the proxy closed the session: the service knows.
		services.Drain(req.Body)
		if resp, err := query(ex); err == nil {
			if resp.StatusCode == http.StatusOK && strings.EqualFold(resp.Header.Get("X-Goog-Upload-Status"), "final") {
				ex.Record(services.AnsweredFinal, nil)
				return resp, nil
			}
			resp.Body.Close()
		}
	}
	return ex.Refuse(errors.New("this resumable upload is not known to jpegveil (it expired, the proxy restarted, or it was started without the proxy): start the upload again"))
}

// answerQuery answers a status query from the session: the client's view,
// in which every committed chunk was received.
func answerQuery(ex services.Exchange, sess *session.Session, g *upload) (*http.Response, error) {
	req := ex.Request()
	if g.st.Err != nil {
		return ex.Refuse(g.st.Err)
	}
	if g.unsure {
		// A forward failed: the service may have the bytes or not, or
		// the upload may have ended on its side. Ask it first.
		resp, err := resync(ex, g)
		switch {
		case g.st.Err != nil:
			ex.Env().Sessions.Remove(sess.Key(), sess)
			return refusal(ex, g.st.Err), nil
		case err != nil:
			ex.Record(services.UpstreamError, err)
			return retryLater(req, "ask the service for the status of this upload", "query again", err), nil
		case resp != nil:
			// The finalize got through but its answer was lost. The
			// client learns it when it finalizes again (the session
			// stays unsure, so that request asks the service too):
			// here it sees every byte it sent as received.
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
	}
	ex.Record(services.AnsweredQuery, nil)
	h := make(http.Header)
	h.Set("X-Goog-Upload-Status", "active")
	h.Set("X-Goog-Upload-Size-Received", strconv.FormatInt(g.st.In, 10))
	h.Set("X-Goog-Upload-Chunk-Granularity", strconv.Itoa(g.gran))
	return services.Respond(req, http.StatusOK, h, ""), nil
}

// UploadID is the upload URL of a resumable upload (the URL of its
// finalizing request), or "upload-token:" and the upload token a
// single-request upload is answered with. Neither is a download route:
// the media item the token becomes (mediaItems:batchCreate) is another
// request.
func (Service) UploadID(req *http.Request, resp *http.Response, head []byte) (string, bool) {
	if strings.EqualFold(strings.TrimSpace(req.Header.Get("X-Goog-Upload-Protocol")), "raw") {
		tok := strings.TrimSpace(string(head))
		if tok == "" || len(tok) > 2048 || strings.ContainsAny(tok, " \n\r\t{<") {
			return "", false
		}
		return "upload-token:" + tok, true
	}
	if c := parseCommands(req.Header.Get("X-Goog-Upload-Command")); c.finalize {
		return req.URL.String(), true
	}
	return "", false
}
