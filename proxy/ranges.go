package proxy

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"jpegveil/proxy/services"
)

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
		body.ex.err = err
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
	return services.Respond(req, http.StatusRequestedRangeNotSatisfiable, h, "")
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

// trailerSwitch is the decrypted body of a prefix of the file fetched for
// a range. The items a phone appends after the image (a motion photo's
// video, Samsung blocks) are planned from the end of the file (FORMAT.md
// §31), which a prefix does not have: once veil reports where they start
// (Result.TrailerOffset) and the client's range reaches that far, the rest
// is read from the whole file, fetched again and decrypted up to the same
// position. The bytes before it are the same in both.
type trailerSwitch struct {
	b        *downloadBody
	first    http.Header // the prefix answer's, to check the version
	end      int64       // the client's last byte
	pos      int64       // bytes read so far
	switched bool
}

func (s *trailerSwitch) Read(p []byte) (int, error) {
	b := s.b
	n, err := b.vr.Read(p)
	if !s.switched {
		if at := b.vr.Result().TrailerOffset; at >= 0 && s.end >= at {
			// This read may hold bytes of the trailer as planned from
			// the prefix: read them again from the whole file.
			s.switched = true
			if serr := s.toWhole(); serr != nil {
				return 0, serr
			}
			n, err = b.vr.Read(p)
		}
	}
	s.pos += int64(n)
	return n, err
}

// toWhole fetches the whole file and decrypts it up to s.pos.
func (s *trailerSwitch) toWhole() error {
	b, ex := s.b, s.b.ex
	resp, err := ex.fetchWhole()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !decryptable(resp) || !notChanged(s.first, resp) {
		resp.Body.Close()
		return fmt.Errorf("the range reaches the data after the image, which is decrypted from the whole file, and the service answered %s for it, or another version of the file", resp.Status)
	}
	// The direction is the prefix's: it was decided on the same start of
	// the file (download fetched the whole file when the prefix was too
	// short for the classifier).
	vr := ex.crypt.transform(ex.req.Context(), *ex.decision, resp.Body, ex.rule, nil)
	if _, err := io.CopyN(io.Discard, vr, s.pos); err != nil {
		resp.Body.Close()
		return fmt.Errorf("decrypting the whole file up to the range: %w", err)
	}
	b.c.Close()
	b.c, b.vr = resp.Body, vr
	return nil
}

// notChanged reports whether resp, the whole file, may be of the same
// version as the prefix answer with headers first: the same size, and the
// same entity tag or modification time where the service gives them.
func notChanged(first http.Header, resp *http.Response) bool {
	_, _, total, ok := contentRange(&http.Response{Header: first})
	if !ok || resp.ContentLength >= 0 && resp.ContentLength != total {
		return false
	}
	if first.Get("ETag") != "" || resp.Header.Get("ETag") != "" || first.Get("Last-Modified") != "" {
		return sameVersion(first, resp.Header)
	}
	return true
}
