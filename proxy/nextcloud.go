package proxy

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"jpegveil/config"
)

// Nextcloud's chunked upload (WebDAV, v1 and v2):
//
//	MKCOL /remote.php/dav/uploads/{user}/{dir}        (v2: with Destination)
//	PUT   /remote.php/dav/uploads/{user}/{dir}/{name}  one per chunk
//	MOVE  /remote.php/dav/uploads/{user}/{dir}/.file   Destination, OC-Total-Length
//	DELETE /remote.php/dav/uploads/{user}/{dir}        to abort
//
// The server assembles the chunks in the natural order of their names. The
// proxy keeps a session per upload folder (opened when the MKCOL succeeds).
// Each chunk is received completely and committed to the session's stream;
// the output that is ready goes upstream as that chunk, so upstream chunks
// differ in length from the client's (the transformer holds back the last
// few KiB of input), but keep their order. At the MOVE the proxy ends the
// stream and PUTs the held-back tail as one more chunk, then forwards the
// MOVE. Sizes are unchanged overall, so OC-Total-Length stays right. (When
// the last chunk holds the end of the image, the EOI marker, nothing is
// held back and there is no tail chunk.)
//
// Chunk names: numbers ("1", "00042": v2 allows 1 to 10000) keep their
// name, and the tail gets the next number in the same width; byte ranges
// ("000000000000000-000000010485759", as in the v1 documentation and
// rclone) must start at the client's offset and are renamed to the range
// the upstream chunk covers. Other names are refused.
//
// Limits: chunks must come one at a time, in order (an exact repeat of the
// last chunk is forwarded again or answered from the session); a chunk
// must fit in limits.hash_buffer; with v2 the last client chunk must be
// numbered below 10000, to leave room for the tail; every request of an
// upload must go through the same proxy process within
// limits.session_ttl; a client cannot resume from the server's listing of
// the upload folder (a PROPFIND of it is refused while the proxy holds the
// upload, since the server's chunk sizes are not the client's). With
// object storage as primary storage, Nextcloud needs v2 chunks of at least
// 5 MB: an upstream chunk can be shorter than the client's by what the
// transformer holds back (typically under 8 KiB; up to about 72 KiB when
// the chunk ends inside a metadata segment, which is passed on whole), so
// clients should use chunks well above the minimum.

const ncSessionTag = "nextcloud|"

type ncSession struct {
	st *uploadStream
	v2 bool // the MKCOL named a Destination: chunk names are 1 to 10000
	// last is the last committed chunk; lastUp its name upstream ("" when
	// nothing went up for it); acked whether the service has it.
	last   chunkID
	lastNm ncChunkName
	lastUp string
	acked  bool
	// tail is the name of the chunk that carries the held-back end of the
	// file, once the MOVE started.
	tail string
}

// ncChunkName is a parsed chunk name: a number, or a byte range.
type ncChunkName struct {
	isRange    bool
	num        int64 // number, or range start
	end        int64 // range end
	wNum, wEnd int   // digits as written
}

var ncRangeName = regexp.MustCompile(`^([0-9]{1,18})-([0-9]{1,18})$`)

func parseNCChunkName(name string) (ncChunkName, bool) {
	if isDigits(name) && len(name) <= 18 {
		n, _ := strconv.ParseInt(name, 10, 64)
		return ncChunkName{num: n, wNum: len(name)}, true
	}
	if m := ncRangeName.FindStringSubmatch(name); m != nil {
		a, _ := strconv.ParseInt(m[1], 10, 64)
		b, _ := strconv.ParseInt(m[2], 10, 64)
		return ncChunkName{isRange: true, num: a, end: b, wNum: len(m[1]), wEnd: len(m[2])}, true
	}
	return ncChunkName{}, false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// upstreamName names an upstream chunk that covers n bytes from off: a
// numbered chunk keeps its number, a range chunk is renamed to the range.
func (c ncChunkName) upstreamName(off int64, n int) string {
	if !c.isRange {
		return fmt.Sprintf("%0*d", c.wNum, c.num)
	}
	return fmt.Sprintf("%0*d-%0*d", c.wNum, off, c.wEnd, off+int64(n)-1)
}

const ncUploadsMarker = "/remote.php/dav/uploads/"

// ncUploadPath splits a path of the chunked-upload space into the upload
// folder (…/uploads/{user}/{dir}) and the name inside it ("" for the
// folder itself).
func ncUploadPath(p string) (dir, name string, ok bool) {
	i := strings.Index(p, ncUploadsMarker)
	if i < 0 {
		return "", "", false
	}
	parts := strings.Split(strings.TrimSuffix(p[i+len(ncUploadsMarker):], "/"), "/")
	for _, s := range parts {
		if s == "" || s == "." || s == ".." {
			return "", "", false
		}
	}
	switch len(parts) {
	case 2:
		return p[:i+len(ncUploadsMarker)] + parts[0] + "/" + parts[1], "", true
	case 3:
		return p[:i+len(ncUploadsMarker)] + parts[0] + "/" + parts[1], parts[2], true
	}
	return "", "", false
}

func ncSessionKey(host, dir string) string {
	return ncSessionTag + config.CanonicalHost(host) + dir
}

// nextcloudUpload handles a request in Nextcloud's chunked-upload space.
func (s *Server) nextcloudUpload(req *http.Request, ev *event) (*http.Response, error) {
	ev.dir = "upload"
	defer ev.log()
	refuse := func(reason string) (*http.Response, error) {
		drain(req.Body)
		ev.outcome, ev.err = "refused", errors.New(reason)
		return refusal(req, reason), nil
	}
	dir, name, ok := ncUploadPath(req.URL.Path)
	if !ok {
		if req.Method == http.MethodPut || req.Method == http.MethodPost {
			return refuse("an upload to a path that is no chunk of a Nextcloud chunked upload (/remote.php/dav/uploads/{user}/{folder}/{chunk})")
		}
		ev.outcome = "passed"
		return s.upstream.RoundTrip(req)
	}
	tbl := sessionsFor(s)
	key := ncSessionKey(req.URL.Host, dir)
	switch {
	case req.Method == "MKCOL" && name == "":
		resp, err := s.upstream.RoundTrip(req)
		if err != nil {
			ev.outcome, ev.err = "upstream-error", err
			return nil, err
		}
		if resp.StatusCode/100 == 2 {
			st := s.newSessionStream(ev.rule, hashSHA1, hashMD5, hashAdler32, hashSHA256)
			if tbl.add(key, &ncSession{st: st, v2: req.Header.Get("Destination") != ""}) {
				s.log.Warn("limits.max_sessions reached: the least recently used resumable upload was dropped")
			}
			ev.outcome = "session-started"
		} else {
			ev.outcome = "passed-status-" + strconv.Itoa(resp.StatusCode)
		}
		return resp, nil
	case req.Method == http.MethodDelete && name == "":
		tbl.remove(key, nil)
		ev.outcome = "cancelled"
		return s.upstream.RoundTrip(req)
	case req.Method == "PROPFIND" && name == "" && req.Header.Get("Depth") != "0":
		if sess := tbl.acquire(key); sess != nil {
			tbl.release(sess)
			return refuse("jpegveil holds this chunked upload, and the server's chunk sizes differ from the client's, so it cannot be resumed from a listing of the upload folder: delete the folder and upload again")
		}
		ev.outcome = "passed"
		return s.upstream.RoundTrip(req)
	case req.Method == http.MethodPut && name != "":
	case req.Method == "MOVE" && name == ".file":
	case req.Method == http.MethodPut || req.Method == http.MethodPost:
		return refuse("an upload to a path that is no chunk of a Nextcloud chunked upload")
	default:
		ev.outcome = "passed"
		return s.upstream.RoundTrip(req)
	}
	sess := tbl.acquire(key)
	if sess == nil {
		return refuse("this chunked upload is not known to jpegveil (it expired, the proxy restarted, or the folder was created without the proxy): delete the upload folder and upload again")
	}
	defer tbl.release(sess)
	nc, ok := sess.state.(*ncSession)
	if !ok {
		return refuse("this upload folder belongs to an upload of another protocol")
	}
	if nc.st.err != nil {
		return refuse(describe(nc.st.err))
	}
	hhs, err := parseHashHeaders(req.Header)
	if err != nil {
		return refuse(err.Error())
	}
	if req.Method == "MOVE" {
		return s.ncAssemble(req, ev, tbl, sess, nc, hhs, refuse)
	}
	return s.ncChunk(req, ev, nc, name, hhs, refuse)
}

// ncChunk handles the PUT of one chunk.
func (s *Server) ncChunk(req *http.Request, ev *event, nc *ncSession, name string, hhs []hashHeader, refuse func(string) (*http.Response, error)) (*http.Response, error) {
	st := nc.st
	cn, ok := parseNCChunkName(name)
	if !ok {
		return refuse(fmt.Sprintf("chunk name %q: jpegveil handles numbered chunks (1, 2, … or 00001, …) and byte-range names (000000000000000-000000010485759)", name))
	}
	if ce := req.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return refuse(fmt.Sprintf("the chunk is compressed (Content-Encoding: %s)", ce))
	}
	limit := int64(s.cfg.Limits.HashBuffer)
	b, why, err := s.readWholeChunk(req, "chunked upload")
	if why != "" {
		return refuse(why)
	}
	if err != nil {
		ev.outcome, ev.err = "client-error", err
		return nil, err
	}
	if nc.last.matches(name, 0, b) {
		// An exact repeat of the last chunk.
		if nc.acked || nc.lastUp == "" {
			ev.outcome = "answered-repeat"
			return synthResponse(req, http.StatusCreated, nil, ""), nil
		}
		return s.ncForward(req, ev, nc, b, hhs, refuse)
	}
	switch {
	case st.eof:
		return refuse("a chunk after the upload was assembled")
	case nc.last.set && !nc.acked && nc.lastUp != "":
		return refuse(fmt.Sprintf("the previous chunk (%s) did not reach the server: send it again before the next one", nc.last.name))
	case nc.last.set && cn.isRange != nc.lastNm.isRange:
		return refuse("numbered and byte-range chunk names mixed in one upload")
	case cn.isRange && (cn.num != st.in || cn.end-cn.num+1 != int64(len(b))):
		return refuse(fmt.Sprintf("chunk %s: jpegveil expects the next chunk to start at byte %d and its name to give its length (%d bytes); chunks must come in order, one at a time", name, st.in, len(b)))
	case !cn.isRange && nc.last.set && cn.num <= nc.lastNm.num:
		return refuse(fmt.Sprintf("chunk %s after chunk %s: jpegveil encrypts a chunked upload in order and cannot go back; chunks must come in order, one at a time", name, nc.last.name))
	case !cn.isRange && nc.v2 && (cn.num < 1 || cn.num >= 10000):
		return refuse(fmt.Sprintf("chunk %s: with chunked upload v2 jpegveil needs chunk numbers from 1 to 9999, to add the end of the file as one more chunk", name))
	case len(st.out)+len(b) > int(limit):
		return refuse(fmt.Sprintf("jpegveil holds at most limits.hash_buffer (%s) of an upload", config.Size(limit)))
	}
	if err := st.commit(req.Context(), b, false); err != nil {
		ev.result = st.vr.Result()
		return refuse(describe(err))
	}
	nc.last = chunkID{set: true, name: name, n: len(b), sum: sha256.Sum256(b)}
	nc.lastNm, nc.acked, nc.lastUp = cn, false, ""
	if len(st.out) == 0 {
		// Everything is held back: nothing goes up for this chunk.
		ev.outcome = "held"
		return synthResponse(req, http.StatusCreated, nil, ""), nil
	}
	nc.lastUp = cn.upstreamName(st.outOff, len(st.out))
	return s.ncForward(req, ev, nc, b, hhs, refuse)
}

// ncForward PUTs the session's pending output as the last chunk's upstream
// chunk.
func (s *Server) ncForward(req *http.Request, ev *event, nc *ncSession, b []byte, hhs []hashHeader, refuse func(string) (*http.Response, error)) (*http.Response, error) {
	st := nc.st
	data := bytes.Clone(st.out)
	fwd := req.Clone(req.Context())
	fwd.URL = siblingURL(req.URL, nc.lastUp)
	setBody(fwd, data)
	if len(hhs) > 0 {
		algs := hashAlgsOf(hhs)
		if err := rewriteHashes(fwd.Header, hhs, &hashSpan{what: "chunk", plain: digestsOf(b, algs...), cipher: digestsOf(data, algs...)}, nil); err != nil {
			return refuse(err.Error())
		}
	}
	resp, err := s.upstream.RoundTrip(fwd)
	ev.bytes = int64(len(data))
	if err != nil {
		ev.outcome, ev.err = "upstream-error", err
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		ev.outcome = "passed-status-" + strconv.Itoa(resp.StatusCode)
		return resp, nil
	}
	st.ack(len(data))
	nc.acked = true
	ev.outcome = "forwarded"
	return resp, nil
}

// ncAssemble handles the MOVE that assembles the upload: the held-back end
// of the file goes up as one more chunk first.
func (s *Server) ncAssemble(req *http.Request, ev *event, tbl *sessionTable, sess *session, nc *ncSession, hhs []hashHeader, refuse func(string) (*http.Response, error)) (*http.Response, error) {
	st := nc.st
	if nc.last.set && !nc.acked && nc.lastUp != "" {
		return refuse(fmt.Sprintf("the last chunk (%s) did not reach the server: send it again before assembling", nc.last.name))
	}
	if !st.eof {
		if err := st.commit(req.Context(), nil, true); err != nil {
			ev.result = st.vr.Result()
			return refuse(describe(err))
		}
		nc.tail = ncTailName(nc, st)
	}
	if len(st.out) > 0 {
		// The tail: a PUT of the next chunk, with the MOVE's headers that
		// a chunk upload carries (authentication; with v2 Destination and
		// OC-Total-Length).
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
		data := bytes.Clone(st.out)
		setBody(put, data)
		resp, err := s.upstream.RoundTrip(put)
		ev.bytes = int64(len(data))
		if err != nil {
			ev.outcome, ev.err = "upstream-error", err
			return nil, err
		}
		if resp.StatusCode/100 != 2 {
			ev.outcome = "tail-status-" + strconv.Itoa(resp.StatusCode)
			return resp, nil
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		st.ack(len(data))
	}
	if len(hhs) > 0 {
		file := &hashSpan{what: "file", plain: st.plain.sums(), cipher: st.cipher.sums()}
		if err := rewriteHashes(req.Header, hhs, nil, file); err != nil {
			return refuse(err.Error())
		}
	}
	resp, err := s.upstream.RoundTrip(req)
	if err != nil {
		ev.outcome, ev.err = "upstream-error", err
		return nil, err
	}
	ev.result = st.vr.Result()
	if resp.StatusCode/100 != 2 {
		ev.outcome = "passed-status-" + strconv.Itoa(resp.StatusCode)
		return resp, nil
	}
	tbl.remove(sess.key, sess)
	ev.outcome = outcomeOf(ev.result)
	return resp, nil
}

// ncTailName names the chunk that carries the held-back end of the file:
// after the last chunk, in its style.
func ncTailName(nc *ncSession, st *uploadStream) string {
	if !nc.last.set {
		return "1"
	}
	c := nc.lastNm
	if c.isRange {
		return c.upstreamName(st.outOff, len(st.out))
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

func setBody(r *http.Request, data []byte) {
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	r.ContentLength = int64(len(data))
	r.TransferEncoding = nil
	r.Header.Del("Expect")
	r.Header.Del("Content-Length")
}
