package proxy

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"jpegveil/veil"
)

// rangeMargin is fetched beyond the end of a requested range: decryption of
// the byte at end needs the whole keystream chunk around it (4 KiB, whose
// nonce depends on all of its bytes) and the parser's look-ahead past that
// chunk; a prefix that stopped sooner would end in a parse error that cuts
// the chunk short and changes its nonce.
const rangeMargin = 64 << 10

// download decrypts a response body when the ledger knows the image; every
// other body (server-made thumbnails, photos from others or from before
// jpegveil, anything not a JPEG) passes unchanged. A ranged request is
// served by fetching from byte 0 (the parse is sequential), decrypting and
// returning exactly the requested slice.
func (s *Server) download(req *http.Request, ev *event) (*http.Response, error) {
	ev.dir = "download"
	// Bodies must arrive as the file was stored, not compressed.
	req.Header.Set("Accept-Encoding", "identity")
	rng, ranged := parseRange(req.Header.Get("Range"))
	if req.Header.Get("Range") != "" {
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
	ce := resp.Header.Get("Content-Encoding")
	if (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent) || (ce != "" && !strings.EqualFold(ce, "identity")) {
		ev.outcome = "passed-status-" + strconv.Itoa(resp.StatusCode)
		ev.log()
		return resp, nil
	}
	vr := veil.NewReader(s.key, resp.Body, veil.Options{Decide: s.decideDownload(req.Context())})
	body := &downloadBody{r: vr, vr: vr, c: resp.Body, ev: ev}
	resp.Body = body
	if !ranged {
		return resp, nil
	}
	return sliceResponse(req, resp, body, rng)
}

// sliceResponse turns a decrypted response from byte 0 into the 206 answer
// for rng.
func sliceResponse(req *http.Request, resp *http.Response, body *downloadBody, rng byteRange) (*http.Response, error) {
	total := int64(-1)
	switch resp.StatusCode {
	case http.StatusOK:
		if req.Header.Get("If-Range") != "" {
			return resp, nil // the client's copy is stale: the whole new file
		}
		total = resp.ContentLength
	case http.StatusPartialContent:
		var start, end int64
		var t string
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%s", &start, &end, &t); err != nil || start != 0 {
			resp.Body.Close()
			return nil, fmt.Errorf("upstream answered a range from byte 0 with Content-Range %q", resp.Header.Get("Content-Range"))
		}
		if t != "*" {
			total, _ = strconv.ParseInt(t, 10, 64)
		}
	}
	if total < 0 {
		resp.Body.Close()
		return nil, fmt.Errorf("upstream did not say the file's size")
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
	if _, err := io.CopyN(io.Discard, body, start); err != nil {
		resp.Body.Close()
		return nil, err
	}
	body.r = io.LimitReader(body.vr, end-start+1)
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
	r  io.Reader
	vr *veil.Reader
	c  io.Closer
	ev *event
	n  int64
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
