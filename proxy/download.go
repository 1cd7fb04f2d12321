package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"jpegveil/jpegbits"
	"jpegveil/veil"
)

// rangeMargin is fetched beyond the end of a requested range: decryption of
// the byte at end needs the whole keystream chunk around it (4 KiB, whose
// nonce depends on all of its bytes) and the parser's look-ahead past that
// chunk; a prefix that stopped sooner would end in a parse error that cuts
// the chunk short and changes its nonce.
const rangeMargin = 64 << 10

// downloadPreRead bounds how much of a download is decrypted before its
// headers go to the client: enough to reach the first chunk of the primary
// image, where the ledger decides whether it is decrypted, in every photo
// but those with unusually large metadata before the image data.
const downloadPreRead = 256 << 10

// storedHashHeaders are response headers that carry a hash of the body or
// of the file as the service stores it: of the ciphertext, wrong for the
// plaintext the client gets when the proxy decrypts. They cannot be
// recomputed before the whole body has been decrypted, so they are dropped.
var storedHashHeaders = []string{"Content-MD5", "X-Goog-Hash", "Digest", "Content-Digest", "Repr-Digest", "OC-Checksum"}

// bodyHashHeaders are those that cover the response body alone (not the
// whole file): wrong for any slice other than the body the service sent.
var bodyHashHeaders = []string{"Content-MD5", "Content-Digest"}

// download decrypts a response body when the ledger knows the image; every
// other body (server-made thumbnails, photos from others or from before
// jpegveil, anything not a JPEG) passes unchanged. A ranged request is
// served by fetching from byte 0 (the parse is sequential), decrypting and
// returning exactly the requested slice; when the service answers a shorter
// prefix than asked (some cap the length of a range), the whole file is
// fetched instead. When the body turns out not to be a JPEG at all (a
// video), the client's range is asked for again as it came.
//
// The headers go to the client once the start of the body is decrypted and
// the direction decided: hashes of the ciphertext (storedHashHeaders) are
// dropped from a body the proxy changes.
func (s *Server) download(req *http.Request, ev *event) (*http.Response, error) {
	ev.dir = "download"
	// Bodies must arrive as the file was stored, not compressed.
	req.Header.Set("Accept-Encoding", "identity")
	if req.Method == http.MethodHead {
		// No body to decrypt, and a HEAD with Range must describe the
		// client's range, not the prefix the proxy would fetch.
		defer ev.log()
		resp, err := s.upstream.RoundTrip(req)
		if err != nil {
			ev.outcome, ev.err = "upstream-error", err
			return nil, err
		}
		ev.outcome = "passed-head"
		return resp, nil
	}
	clientRange, clientIfRange := req.Header.Get("Range"), req.Header.Get("If-Range")
	rng, ranged := parseRange(clientRange)
	if clientRange != "" {
		if !ranged {
			// Several ranges, or a syntax we do not serve: answer the whole
			// file, as RFC 9110 §14.2 allows a server to.
			req.Header.Del("Range")
			req.Header.Del("If-Range")
		} else if rng.suffix || rng.end < 0 {
			req.Header.Del("Range")
		} else {
			req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", rng.end+rangeMargin))
		}
	}
	resp, err := s.upstream.RoundTrip(req)
	if err != nil {
		ev.outcome, ev.err = "upstream-error", err
		ev.log()
		return nil, err
	}
	if !decryptable(resp) {
		ev.outcome = "passed-status-" + strconv.Itoa(resp.StatusCode)
		ev.log()
		return resp, nil
	}
	// staleIfRange: the client sent If-Range and the answer may be of
	// another version of the file than the one it holds part of, so it
	// gets the whole file (RFC 9110 §13.1.5).
	staleIfRange := req.Header.Get("If-Range") != "" && resp.StatusCode == http.StatusOK
	if ranged && resp.StatusCode == http.StatusPartialContent && !prefixCovers(resp, rng) {
		// The service answered a shorter prefix than asked for (or not
		// one from byte 0, or without the file's size). Decrypting it would
		// cut the keystream chunk around the end of the range, which
		// changes its nonce: the last bytes would come out wrong, or be
		// missing. Fetch the whole file instead.
		first := resp.Header
		resp.Body.Close()
		if resp, err = s.fetchWhole(req); err != nil {
			ev.outcome, ev.err = "upstream-error", err
			ev.log()
			return nil, err
		}
		if !decryptable(resp) || resp.StatusCode != http.StatusOK {
			ev.outcome = "passed-status-" + strconv.Itoa(resp.StatusCode)
			ev.log()
			return resp, nil
		}
		staleIfRange = req.Header.Get("If-Range") != "" && !sameVersion(first, resp.Header)
	}
	vr := veil.NewReader(s.key, resp.Body, veil.Options{Decide: s.decideDownload(req.Context())})
	body := &downloadBody{vr: vr, c: resp.Body, ev: ev}
	changed, err := body.preRead()
	if err != nil {
		resp.Body.Close()
		ev.result = vr.Result()
		ev.outcome, ev.err = "error", err
		ev.log()
		return nil, err
	}
	if clientRange != "" && errors.Is(vr.Result().Err, jpegbits.ErrNotJPEG) && (req.Body == nil || req.Body == http.NoBody) {
		// Not a JPEG (a video, say): nothing to decrypt, so the client's
		// own range goes to the service, rather than the proxy reading
		// the file from byte 0 to slice it. What was fetched is dropped
		// after its first bytes.
		body.c.Close()
		again := req.Clone(req.Context())
		again.Header.Set("Range", clientRange)
		if clientIfRange != "" {
			again.Header.Set("If-Range", clientIfRange)
		}
		defer ev.log()
		if resp, err = s.upstream.RoundTrip(again); err != nil {
			ev.outcome, ev.err = "upstream-error", err
			return nil, err
		}
		ev.outcome = "passed-not-jpeg"
		return resp, nil
	}
	if changed {
		for _, h := range storedHashHeaders {
			resp.Header.Del(h)
		}
	}
	resp.Body = body
	if !ranged {
		return resp, nil
	}
	return sliceResponse(req, resp, body, rng, staleIfRange)
}

// decryptable reports whether resp has a body the proxy may decrypt: a 200
// or 206 as stored, not compressed.
func decryptable(resp *http.Response) bool {
	ce := resp.Header.Get("Content-Encoding")
	return (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPartialContent) &&
		(ce == "" || strings.EqualFold(ce, "identity"))
}

// fetchWhole asks the service again for req's file, this time without a
// range.
func (s *Server) fetchWhole(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		return nil, errors.New("the service answered a shorter range than asked, and a request with a body cannot be sent again for the whole file")
	}
	again := req.Clone(req.Context())
	again.Header.Del("Range")
	again.Header.Del("If-Range")
	return s.upstream.RoundTrip(again)
}

// sameVersion reports whether two responses are known to be of the same
// version of a file: the same entity tag, or without one the same
// modification time.
func sameVersion(a, b http.Header) bool {
	if ea := a.Get("ETag"); ea != "" || b.Get("ETag") != "" {
		return ea != "" && !strings.HasPrefix(ea, "W/") && ea == b.Get("ETag")
	}
	lm := a.Get("Last-Modified")
	return lm != "" && lm == b.Get("Last-Modified")
}

// contentRange parses the Content-Range of a 206 answer: its first and last
// byte and the file's size (-1 when the service did not say).
func contentRange(resp *http.Response) (start, end, total int64, ok bool) {
	var t string
	if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%s", &start, &end, &t); err != nil || start < 0 || end < start {
		return 0, 0, 0, false
	}
	total = -1
	if t != "*" {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n <= end {
			return 0, 0, 0, false
		}
		total = n
	}
	return start, end, total, true
}

// prefixCovers reports whether a 206 answer to the request from byte 0 for
// rng can be decrypted and sliced: it starts at byte 0, says the file's
// size, and reaches rangeMargin past the end of rng or the end of the file.
func prefixCovers(resp *http.Response, rng byteRange) bool {
	start, end, total, ok := contentRange(resp)
	if !ok || start != 0 || total < 0 {
		return false
	}
	want := total - 1
	if !rng.suffix && rng.end >= 0 {
		want = min(rng.end+rangeMargin, total-1)
	}
	return end >= want
}

// sliceResponse turns a decrypted response from byte 0 into the 206 answer
// for rng. The whole response is returned when it cannot be sliced: the
// client's If-Range copy is stale, or the service did not say the size.
func sliceResponse(req *http.Request, resp *http.Response, body *downloadBody, rng byteRange, staleIfRange bool) (*http.Response, error) {
	total := int64(-1)
	switch resp.StatusCode {
	case http.StatusOK:
		if staleIfRange || resp.ContentLength < 0 {
			// The client's copy is stale, or the size is unknown (a
			// chunked answer): the whole file, as RFC 9110 allows.
			return resp, nil
		}
		total = resp.ContentLength
	case http.StatusPartialContent:
		// download fetched the whole file unless this prefix covers rng.
		_, _, total, _ = contentRange(resp)
	}
	start, end := rng.start, rng.end
	if rng.suffix {
		start, end = max(total-rng.start, 0), total-1
	} else if end < 0 || end >= total {
		end = total - 1
	}
	if start > end || start >= total {
		resp.Body.Close()
		return rangeNotSatisfiable(req, total), nil
	}
	if _, err := io.CopyN(io.Discard, body.r, start); err != nil {
		body.ev.err = err
		resp.Body.Close()
		return nil, err
	}
	body.r = io.LimitReader(body.r, end-start+1)
	for _, h := range bodyHashHeaders {
		resp.Header.Del(h)
	}
	resp.StatusCode = http.StatusPartialContent
	resp.Status = "206 Partial Content"
	resp.ContentLength = end - start + 1
	resp.Header.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	resp.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, total))
	return resp, nil
}

func rangeNotSatisfiable(req *http.Request, total int64) *http.Response {
	h := make(http.Header)
	h.Set("Content-Range", fmt.Sprintf("bytes */%d", total))
	return synthResponse(req, http.StatusRequestedRangeNotSatisfiable, h, "")
}

// byteRange is one range of a Range header: start-end (end -1 when open),
// or the last start bytes when suffix.
type byteRange struct {
	start, end int64
	suffix     bool
}

// parseRange parses a single-range "bytes=" header value (RFC 9110 §14.1.2).
func parseRange(h string) (byteRange, bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return byteRange{}, false
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return byteRange{}, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return byteRange{}, false
		}
		return byteRange{start: n, suffix: true}, true
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return byteRange{}, false
	}
	if b == "" {
		return byteRange{start: start, end: -1}, true
	}
	end, err := strconv.ParseInt(b, 10, 64)
	if err != nil || end < start {
		return byteRange{}, false
	}
	return byteRange{start: start, end: end}, true
}

// downloadBody is a decrypting response body; closing it logs the request.
type downloadBody struct {
	r  io.Reader // what the client reads: the pre-read start, then vr
	vr *veil.Reader
	c  io.Closer
	ev *event
	n  int64
}

// preRead decrypts the start of the body until the direction is decided
// (the primary image reached its first chunk, the body is no JPEG the
// transform handles, or it ended), or downloadPreRead bytes, and keeps what
// it read for the client. It reports whether the client gets other bytes
// than the service sent: when the image is decrypted, or when the direction
// is still open (the proxy may yet decrypt).
func (b *downloadBody) preRead() (changed bool, err error) {
	var head []byte
	buf := make([]byte, 32<<10)
	for len(head) < downloadPreRead {
		if res := b.vr.Result(); res.HasFingerprint || res.Err != nil {
			break
		}
		var n int
		n, err = b.vr.Read(buf)
		head = append(head, buf[:n]...)
		if err != nil {
			break
		}
	}
	switch err {
	case nil:
		b.r = io.MultiReader(bytes.NewReader(head), b.vr)
	case io.EOF:
		b.r = bytes.NewReader(head)
	default:
		return false, err
	}
	res := b.vr.Result()
	decided := res.HasFingerprint || res.Err != nil || err == io.EOF
	return res.Transformed || !decided, nil
}

func (b *downloadBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF {
		b.ev.err = err
	}
	return n, err
}

func (b *downloadBody) Close() error {
	b.ev.result, b.ev.bytes = b.vr.Result(), b.n
	if b.ev.err != nil {
		b.ev.outcome = "error"
	} else {
		b.ev.outcome = outcomeOf(b.ev.result)
		if b.ev.outcome == "transformed" {
			b.ev.outcome = "decrypted"
		}
	}
	b.ev.log()
	return b.c.Close()
}
