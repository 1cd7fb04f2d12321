package proxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"jpegveil/config"
)

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

const (
	googleGranularity = 262144
	googleSessionTag  = "google|"
)

type googleSession struct {
	st   *uploadStream
	gran int
	// unsure is set when a forward failed: the service may or may not have
	// the bytes, so the next forward asks it first.
	unsure bool
	last   chunkID
}

// chunkID identifies the last committed chunk, to recognize an exact
// repeat.
type chunkID struct {
	set  bool
	name string // Nextcloud: the chunk's name
	off  int64  // Google: the chunk's offset
	n    int
	sum  [32]byte
}

func (c chunkID) matches(name string, off int64, b []byte) bool {
	return c.set && c.name == name && c.off == off && c.n == len(b) && c.sum == sha256.Sum256(b)
}

type googleCommands struct {
	start, upload, finalize, query, cancel bool
	unknown                                string
	any                                    bool
}

func parseGoogleCommands(h string) googleCommands {
	var c googleCommands
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

func googleSessionKey(u *url.URL) string {
	return googleSessionTag + config.CanonicalHost(u.Host) + u.EscapedPath() + "?" + u.RawQuery
}

// googleUpload handles a request on a route of Google's upload protocol.
func (s *Server) googleUpload(req *http.Request, ev *event) (*http.Response, error) {
	cmds := parseGoogleCommands(req.Header.Get("X-Goog-Upload-Command"))
	proto := strings.ToLower(strings.TrimSpace(req.Header.Get("X-Goog-Upload-Protocol")))
	switch {
	case !cmds.any && proto == "raw":
		// A single-request upload: the body is the file.
		return s.upload(req, ev)
	case cmds.start:
		return s.googleStart(req, ev, cmds)
	}
	ev.dir = "upload"
	defer ev.log()
	refuse := func(reason string) (*http.Response, error) {
		drain(req.Body)
		ev.outcome, ev.err = "refused", errors.New(reason)
		return refusal(req, reason), nil
	}
	if !cmds.any {
		return s.unsupported(req, ev, fmt.Errorf("an upload without X-Goog-Upload-Command (X-Goog-Upload-Protocol %q) on a resumable route", proto))
	}
	if cmds.unknown != "" {
		return refuse(fmt.Sprintf("unknown X-Goog-Upload-Command %q", cmds.unknown))
	}
	if cmds.cancel || !cmds.upload && !cmds.finalize {
		// A query or a cancel carries nothing to encrypt: a body would go
		// up as it came.
		empty, err := bodyEmpty(req)
		if err != nil {
			ev.outcome, ev.err = "client-error", err
			return nil, err
		}
		if !empty {
			return s.unsupported(req, ev, fmt.Errorf("X-Goog-Upload-Command %q with a body, which jpegveil does not encrypt", req.Header.Get("X-Goog-Upload-Command")))
		}
	}
	tbl := sessionsFor(s)
	key := googleSessionKey(req.URL)
	sess := tbl.acquire(key)
	if sess == nil {
		if !cmds.upload && !cmds.finalize {
			// A status query or a cancel, without a body (checked above).
			ev.outcome = "passed-unknown-session"
			return s.upstream.RoundTrip(req)
		}
		if cmds.finalize {
			// The finalize may be a repeat whose first answer was lost
			// after the proxy closed the session: the service knows.
			drain(req.Body)
			if resp, err := s.googleQuery(req); err == nil {
				if resp.StatusCode == http.StatusOK && strings.EqualFold(resp.Header.Get("X-Goog-Upload-Status"), "final") {
					ev.outcome = "answered-final"
					return resp, nil
				}
				resp.Body.Close()
			}
		}
		return refuse("this resumable upload is not known to jpegveil (it expired, the proxy restarted, or it was started without the proxy): start the upload again")
	}
	defer tbl.release(sess)
	g, ok := sess.state.(*googleSession)
	if !ok {
		return refuse("this upload URL belongs to an upload of another protocol")
	}
	switch {
	case cmds.cancel:
		tbl.remove(key, sess)
		ev.outcome = "cancelled"
		return s.upstream.RoundTrip(req)
	case !cmds.upload && !cmds.finalize:
		if g.st.err != nil {
			return refuse(describe(g.st.err))
		}
		if g.unsure {
			// A forward failed: the service may have the bytes or not, or
			// the upload may have ended on its side. Ask it first.
			resp, err := s.googleResync(req, g)
			switch {
			case g.st.err != nil:
				tbl.remove(key, sess)
				return googleRefusal(req, ev, g.st.err), nil
			case err != nil:
				ev.outcome, ev.err = "upstream-error", err
				return queryFailed(req, err), nil
			case resp != nil:
				// The finalize got through but its answer was lost. The
				// client learns it when it finalizes again (the session
				// stays unsure, so that request asks the service too):
				// here it sees every byte it sent as received.
				io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
			}
		}
		ev.outcome = "answered-query"
		h := make(http.Header)
		h.Set("X-Goog-Upload-Status", "active")
		h.Set("X-Goog-Upload-Size-Received", strconv.FormatInt(g.st.in, 10))
		h.Set("X-Goog-Upload-Chunk-Granularity", strconv.Itoa(g.gran))
		return synthResponse(req, http.StatusOK, h, ""), nil
	}
	return s.googleChunk(req, ev, tbl, sess, g, cmds, refuse)
}

// maxStartBody bounds the body of a start request: JSON metadata.
const maxStartBody = 1 << 20

// googleStart forwards the start of a resumable upload and opens its
// session under the upload URL the service answers. A start must carry no
// data of the file (see the protocol notes above).
func (s *Server) googleStart(req *http.Request, ev *event, cmds googleCommands) (*http.Response, error) {
	ev.dir = "upload"
	defer ev.log()
	if cmds.upload || cmds.finalize {
		return s.unsupported(req, ev, fmt.Errorf("X-Goog-Upload-Command %q starts an upload and sends its data in one request; jpegveil encrypts a resumable upload only when its data comes in upload requests after the start", req.Header.Get("X-Goog-Upload-Command")))
	}
	if cmds.unknown != "" {
		drain(req.Body)
		err := fmt.Errorf("unknown X-Goog-Upload-Command %q", cmds.unknown)
		ev.outcome, ev.err = "refused", err
		return refusal(req, err.Error()), nil
	}
	// The body: nothing, or JSON metadata. It is read whole (it is small)
	// to check it and any hash of it.
	if ce := req.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return s.unsupported(req, ev, fmt.Errorf("the start request of a resumable upload is compressed (Content-Encoding: %s)", ce))
	}
	var b []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		b, err = io.ReadAll(io.LimitReader(req.Body, maxStartBody+1))
		if err != nil {
			ev.outcome, ev.err = "client-error", err
			return nil, err
		}
		if len(b) > maxStartBody {
			req.Body = readCloser{io.MultiReader(bytes.NewReader(b), req.Body), req.Body}
			return s.unsupported(req, ev, fmt.Errorf("the start request of a resumable upload carries a body of more than %s; a start carries JSON metadata, never the file", config.Size(maxStartBody)))
		}
		if len(bytes.TrimSpace(b)) > 0 && !json.Valid(b) {
			req.Body = readCloser{bytes.NewReader(b), req.Body}
			return s.unsupported(req, ev, errors.New("the start request of a resumable upload carries a body that is not JSON metadata (the file goes in upload requests after the start)"))
		}
	}
	if err := checkStartHashes(req.Header, b); err != nil {
		ev.outcome, ev.err = "refused", err
		return refusal(req, err.Error()), nil
	}
	if len(b) == 0 {
		req.Body = http.NoBody
	} else {
		body := b
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	req.ContentLength, req.TransferEncoding = int64(len(b)), nil
	resp, err := s.upstream.RoundTrip(req)
	if err != nil {
		ev.outcome, ev.err = "upstream-error", err
		return nil, err
	}
	loc := resp.Header.Get("X-Goog-Upload-URL")
	if resp.StatusCode/100 != 2 || loc == "" {
		ev.outcome = "passed-status-" + strconv.Itoa(resp.StatusCode)
		return resp, nil
	}
	u, err := req.URL.Parse(loc)
	var rule *config.Rule
	if err == nil {
		rule = s.cfg.Match(http.MethodPost, u.Hostname(), u.Path)
	}
	if rule == nil || rule.Body != config.BodyResumable || rule.Resumable != config.ResumableGoogle {
		resp.Body.Close()
		host := ""
		if u != nil {
			host = u.Hostname() + u.Path
		}
		reason := fmt.Sprintf("the service gave an upload URL (%s) that no resumable google rule covers: its chunks would reach the service unencrypted", host)
		ev.outcome, ev.err = "refused", errors.New(reason)
		return refusal(req, reason), nil
	}
	gran := googleGranularity
	if v, err := strconv.Atoi(resp.Header.Get("X-Goog-Upload-Chunk-Granularity")); err == nil && v > 0 && v <= 64<<20 {
		gran = v
	}
	st := s.newSessionStream(rule, hashMD5, hashCRC32C)
	if sessionsFor(s).add(googleSessionKey(u), &googleSession{st: st, gran: gran}) {
		s.log.Warn("limits.max_sessions reached: the least recently used resumable upload was dropped")
	}
	ev.outcome = "session-started"
	return resp, nil
}

// googleChunk handles upload and finalize commands.
func (s *Server) googleChunk(req *http.Request, ev *event, tbl *sessionTable, sess *session, g *googleSession, cmds googleCommands, refuse func(string) (*http.Response, error)) (*http.Response, error) {
	st := g.st
	if st.err != nil {
		return refuse(describe(st.err))
	}
	if ce := req.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return refuse(fmt.Sprintf("the chunk is compressed (Content-Encoding: %s)", ce))
	}
	hhs, err := parseHashHeaders(req.Header)
	if err != nil {
		return refuse(err.Error())
	}
	off := st.in
	if v := req.Header.Get("X-Goog-Upload-Offset"); v != "" {
		if off, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil || off < 0 {
			return refuse(fmt.Sprintf("invalid X-Goog-Upload-Offset %q", v))
		}
	} else if cmds.upload {
		return refuse("an upload command without X-Goog-Upload-Offset")
	}
	limit := int64(s.cfg.Limits.HashBuffer)
	b, why, err := s.readWholeChunk(req, "resumable upload")
	if why != "" {
		return refuse(why)
	}
	if err != nil {
		// The client broke off: nothing was committed, the upload can
		// resume at the same offset.
		ev.outcome, ev.err = "client-error", err
		return nil, err
	}
	if !cmds.upload && len(b) > 0 {
		return refuse("a finalize command without upload carries a body")
	}
	switch {
	case off == st.in && !st.eof:
		if len(st.out)+len(b) > int(limit) {
			return refuse(fmt.Sprintf("the service has not acknowledged %d bytes of this upload; jpegveil holds at most limits.hash_buffer (%s)", len(st.out), config.Size(limit)))
		}
		if err := st.commit(req.Context(), b, cmds.finalize); err != nil {
			ev.result = st.vr.Result()
			return refuse(describe(err))
		}
		if len(b) > 0 {
			g.last = chunkID{set: true, off: off, n: len(b), sum: sha256.Sum256(b)}
		}
	case off == st.in && len(b) == 0 && cmds.finalize:
		// The finalize is repeated: what is left goes up again.
	case g.last.matches("", off, b):
		// An exact repeat of the last chunk: it is committed already.
		if cmds.finalize && !st.eof {
			if err := st.commit(req.Context(), nil, true); err != nil {
				ev.result = st.vr.Result()
				return refuse(describe(err))
			}
		}
	case st.eof:
		return refuse(fmt.Sprintf("a chunk at offset %d after the upload was finalized at %d bytes", off, st.in))
	default:
		return refuse(fmt.Sprintf("a chunk at offset %d, but this upload continues at offset %d: jpegveil encrypts a resumable upload in order and cannot go back (query the upload status and resume from there)", off, st.in))
	}
	final := cmds.finalize
	ready := func() int {
		if final {
			return len(st.out)
		}
		return len(st.out) - len(st.out)%g.gran
	}
	if ready() == 0 && !final {
		ev.outcome = "held"
		h := make(http.Header)
		h.Set("X-Goog-Upload-Status", "active")
		return synthResponse(req, http.StatusOK, h, ""), nil
	}
	if g.unsure {
		resp, err := s.googleResync(req, g)
		if st.err != nil {
			// The upload cannot go on: the service ended it, or has other
			// bytes than the proxy sent.
			tbl.remove(sess.key, sess)
			ev.result = st.vr.Result()
			return googleRefusal(req, ev, st.err), nil
		}
		if err != nil {
			ev.outcome, ev.err = "upstream-error", err
			return upstreamFailed(req, err), nil
		}
		if resp != nil { // the service finalized the upload already
			tbl.remove(sess.key, sess)
			ev.result = st.vr.Result()
			ev.outcome = outcomeOf(ev.result)
			return resp, nil
		}
		if ready() == 0 && !final {
			ev.outcome = "held"
			h := make(http.Header)
			h.Set("X-Goog-Upload-Status", "active")
			return synthResponse(req, http.StatusOK, h, ""), nil
		}
	}
	n := ready()
	data := bytes.Clone(st.out[:n]) // the transport may read it after RoundTrip returns
	fwd := req.Clone(req.Context())
	fwd.Body = io.NopCloser(bytes.NewReader(data))
	fwd.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	fwd.ContentLength = int64(n)
	fwd.TransferEncoding = nil
	fwd.Header.Del("Expect")
	fwd.Header.Set("X-Goog-Upload-Offset", strconv.FormatInt(st.outOff, 10))
	if final {
		fwd.Header.Set("X-Goog-Upload-Command", "upload, finalize")
	} else {
		fwd.Header.Set("X-Goog-Upload-Command", "upload")
	}
	if len(hhs) > 0 {
		algs := hashAlgsOf(hhs)
		body := &hashSpan{what: "chunk", plain: digestsOf(b, algs...), cipher: digestsOf(data, algs...)}
		var file *hashSpan
		if final {
			file = &hashSpan{what: "file", plain: st.plain.sums(), cipher: st.cipher.sums()}
		}
		if err := rewriteHashes(fwd.Header, hhs, body, file); err != nil {
			return refuse(err.Error())
		}
	}
	resp, err := s.upstream.RoundTrip(fwd)
	ev.bytes = int64(n)
	if err != nil {
		g.unsure = true
		ev.outcome, ev.err = "upstream-error", err
		return upstreamFailed(req, err), nil
	}
	if resp.StatusCode/100 != 2 {
		g.unsure = true
		ev.outcome = "passed-status-" + strconv.Itoa(resp.StatusCode)
		googleClientView(resp, st)
		return resp, nil
	}
	if final {
		tbl.remove(sess.key, sess)
		ev.result = st.vr.Result()
		ev.outcome = outcomeOf(ev.result)
		return resp, nil
	}
	st.ack(n)
	ev.outcome = "forwarded"
	googleClientView(resp, st)
	return resp, nil
}

// googleClientView rewrites the service's count of received bytes into the
// client's: the bytes the proxy holds count as received.
func googleClientView(resp *http.Response, st *uploadStream) {
	if resp.Header.Get("X-Goog-Upload-Size-Received") != "" {
		resp.Header.Set("X-Goog-Upload-Size-Received", strconv.FormatInt(st.in, 10))
	}
}

// googleResync asks the service how much of the upload it has after a
// forward that failed, and drops what it has from the session. When the
// service says the upload is final already (the finalize got through but
// its answer was lost), it returns the service's answer. When the service
// says the upload is over (any other status than active or final, or it no
// longer knows it), or has other bytes than the proxy sent, it sets st.err:
// the caller drops the session. Any other error (the service did not
// answer, or answered 5xx) may pass: the session stays unsure.
func (s *Server) googleResync(req *http.Request, g *googleSession) (*http.Response, error) {
	st := g.st
	resp, err := s.googleQuery(req)
	if err != nil {
		return nil, err
	}
	status := strings.ToLower(strings.TrimSpace(resp.Header.Get("X-Goog-Upload-Status")))
	if resp.StatusCode == http.StatusOK && status == "final" {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case status != "" && status != "active" && status != "final",
		resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusGone:
		st.err = &googleGoneError{status: status, code: resp.Status}
		return nil, st.err
	case resp.StatusCode != http.StatusOK || status != "active":
		return nil, fmt.Errorf("the service answered the upload status query with %s (status %q)", resp.Status, status)
	}
	r, err := strconv.ParseInt(resp.Header.Get("X-Goog-Upload-Size-Received"), 10, 64)
	if err != nil {
		return nil, errors.New("the service's upload status has no X-Goog-Upload-Size-Received")
	}
	if r < st.outOff || r > st.outOff+int64(len(st.out)) {
		st.err = fmt.Errorf("the service reports %d bytes received, but jpegveil has sent bytes up to %d and holds bytes %d to %d: the upload cannot continue, start it again",
			r, st.outOff, st.outOff, st.outOff+int64(len(st.out)))
		return nil, st.err
	}
	st.ack(int(r - st.outOff))
	g.unsure = false
	return nil, nil
}

// googleQuery asks the service for the status of the upload req is part
// of, with req's headers (authentication) and no body.
func (s *Server) googleQuery(req *http.Request) (*http.Response, error) {
	q := req.Clone(req.Context())
	q.Method = http.MethodPost
	q.Body, q.GetBody, q.ContentLength, q.TransferEncoding = http.NoBody, nil, 0, nil
	for _, h := range []string{"X-Goog-Upload-Offset", "X-Goog-Hash", "Content-MD5", "Content-Type", "Content-Encoding", "Expect"} {
		q.Header.Del(h)
	}
	q.Header.Set("X-Goog-Upload-Command", "query")
	return s.upstream.RoundTrip(q)
}

// upstreamFailed answers a chunk the proxy committed but could not forward:
// the client should query the upload and go on; the proxy keeps the bytes.
func upstreamFailed(req *http.Request, err error) *http.Response {
	h := make(http.Header)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Retry-After", "1")
	return synthResponse(req, http.StatusServiceUnavailable, h,
		"jpegveil could not forward this upload to the service ("+err.Error()+"); it keeps what it received: query the upload status and continue\n")
}

// googleGoneError is set on a session whose upload the service ended
// (cancelled or expired it).
type googleGoneError struct {
	status string // X-Goog-Upload-Status, lower case; may be empty
	code   string // the HTTP status of the service's answer
}

func (e *googleGoneError) Error() string {
	if e.status != "" {
		return fmt.Sprintf("the service reports this upload as %s (%s): it cannot continue, start the upload again", e.status, e.code)
	}
	return fmt.Sprintf("the service no longer knows this upload (%s): it expired or was cancelled, start the upload again", e.code)
}

// googleRefusal answers a request of an upload that cannot go on, with the
// service's X-Goog-Upload-Status when it gave one.
func googleRefusal(req *http.Request, ev *event, err error) *http.Response {
	ev.outcome, ev.err = "refused", err
	resp := refusal(req, describe(err))
	var gone *googleGoneError
	if errors.As(err, &gone) && gone.status != "" {
		resp.Header.Set("X-Goog-Upload-Status", gone.status)
	}
	return resp
}

// queryFailed answers a status query the proxy could not check with the
// service: the client should ask again.
func queryFailed(req *http.Request, err error) *http.Response {
	h := make(http.Header)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Retry-After", "1")
	return synthResponse(req, http.StatusServiceUnavailable, h,
		"jpegveil could not ask the service for the status of this upload ("+err.Error()+"); it keeps what it received: query again\n")
}

// checkStartHashes refuses a start request that carries a hash of the file:
// directly (a hash header that does not match the start's own body, which
// is metadata) or as a header of the upload to come
// (X-Goog-Upload-Header-Content-MD5, X-Goog-Upload-Header-X-Goog-Hash, …),
// which jpegveil cannot recompute before it has encrypted the file.
func checkStartHashes(h http.Header, body []byte) error {
	upload := make(http.Header)
	const prefix = "X-Goog-Upload-Header-"
	for k, vs := range h {
		k = http.CanonicalHeaderKey(k)
		if len(k) > len(prefix) && strings.EqualFold(k[:len(prefix)], prefix) {
			for _, v := range vs {
				upload.Add(k[len(prefix):], v)
			}
		}
	}
	hhs, err := parseHashHeaders(upload)
	if err != nil || len(hhs) > 0 {
		return fmt.Errorf("the start of the upload carries a hash of the file (%s); jpegveil cannot recompute it before it has encrypted the file: send hashes with the upload requests instead", startHashNames(upload, prefix))
	}
	hhs, err = parseHashHeaders(h)
	if err != nil {
		return err
	}
	if len(hhs) > 0 {
		// A hash of the start's body (metadata) passes; any other value
		// could be a hash of the file.
		span := &hashSpan{what: "start request's body"}
		span.plain = digestsOf(body, hashAlgsOf(hhs)...)
		span.cipher = span.plain
		if err := rewriteHashes(http.Header{}, hhs, span, nil); err != nil {
			return err
		}
	}
	return nil
}

// startHashNames names the hash headers among the upload headers of a start.
func startHashNames(upload http.Header, prefix string) string {
	var names []string
	for _, n := range append([]string{"Content-MD5", "X-Goog-Hash", "X-Immich-Checksum", "OC-Checksum"}, refusedDigestHeaders...) {
		if len(upload.Values(n)) > 0 {
			names = append(names, prefix+n)
		}
	}
	return strings.Join(names, ", ")
}

// bodyEmpty reports whether req has no body, reading at most one byte of
// it; a body that is not empty is left as it was.
func bodyEmpty(req *http.Request) (bool, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return true, nil
	}
	if req.ContentLength > 0 {
		return false, nil
	}
	var one [1]byte
	n, err := io.ReadFull(req.Body, one[:])
	if n == 1 {
		req.Body = readCloser{io.MultiReader(bytes.NewReader(one[:]), req.Body), req.Body}
		return false, nil
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		req.Body, req.ContentLength, req.TransferEncoding = http.NoBody, 0, nil
		return true, nil
	}
	return false, err
}
