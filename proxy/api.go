package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"hash"
	"io"
	"mime"
	"net/http"
	"strconv"

	"jpegveil/proxy/services"
)

// maxJSON bounds a JSON body the proxy reads to translate its checksums;
// a larger one passes unchanged.
const maxJSON = 64 << 20

// api handles a request of a rule with body api: a rendition of a photo of
// the proxy's is rendered locally, checksums in JSON are translated, and
// everything else passes (a JPEG body is refused, as on a route no rule
// covers).
func (s *Server) api(ex *exchange) (*http.Response, error) {
	svc, req := s.byName[ex.rule.Service], ex.req
	if rs, ok := svc.(Renditions); ok && ex.rule.RendersPreviews() {
		if r, ok := rs.Rendition(req, s.names); ok {
			return s.servePreview(ex, svc.Name(), r)
		}
	}
	if svc == nil {
		return s.unmatched(req)
	}
	ct, ok := svc.(ChecksumTranslator)
	hasBody := req.Body != nil && req.Body != http.NoBody
	if !ok {
		ex.outcome = services.Passed
		return s.unmatched(req)
	}
	if ce := services.Compressed(req.Header); hasBody && ce != "" {
		ex.Record(services.Refused, &refuseError{"compressed request body"})
		services.Drain(req.Body)
		return s.uncheckable(req, ce), nil
	}
	if hasBody && !structured(req.Header) {
		// A JSON body under another Content-Type (text/plain, none, a
		// vendor type) is still read as JSON: its checksums must not go
		// up untranslated because of a label.
		br := bufio.NewReader(req.Body)
		req.Body = services.ReadCloser{Reader: br, Closer: req.Body}
		if !looksJSON(br) {
			ex.outcome = services.Passed
			return s.unmatched(req)
		}
	}
	m := s.env.Checksums
	translated := false
	if hasBody {
		body, whole, err := readJSON(req.Body)
		if err != nil {
			ex.Record(services.ClientError, err)
			return nil, err
		}
		if bytes.Contains(body, jpegStart) {
			// JSON and XML are text and never hold the byte 0xFF: this is
			// a photo under a structured label.
			return ex.refusal(errPlainJPEG), nil
		}
		if !whole {
			// Too large to translate: it must not go up with checksums of
			// plaintexts in it.
			return ex.refusal(&refuseError{"a JSON or XML request too large for jpegveil to translate its checksums"}), nil
		}
		out, changed, err := ct.TranslateRequest(req, body, m)
		if err != nil {
			return ex.refusal(&refuseError{"a JSON or XML request jpegveil cannot read to translate its checksums: " + err.Error()}), nil
		}
		translated = changed
		setBody(req, out)
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := ex.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	ex.outcome = services.Passed
	if translated {
		ex.outcome = services.Translated
	}
	return s.translateResponse(ex, svc, ct, resp), nil
}

// translateResponse puts the photos' own checksums, thumbhashes and names
// into a JSON or XML answer of the service; anything else passes as it is.
func (s *Server) translateResponse(ex *exchange, svc Service, ct ChecksumTranslator, resp *http.Response) *http.Response {
	if !structured(resp.Header) || services.Compressed(resp.Header) != "" {
		return resp
	}
	body, whole, err := readJSON(resp.Body)
	if err != nil || !whole {
		resp.Body = services.ReadCloser{Reader: io.MultiReader(bytes.NewReader(body), resp.Body), Closer: resp.Body}
		return resp
	}
	resp.Body.Close()
	req := ex.req
	out, changed, err := ct.TranslateResponse(req, body, services.Translation{Checksums: s.env.Checksums, Placeholders: s.previews.placeholders(req.Context(), svc.Name()), Names: s.names})
	if err != nil || !changed {
		out = body
	} else {
		ex.outcome = services.Translated
		resp.Header.Del("ETag")
		resp.Header.Del("Content-MD5")
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	resp.Header.Del("Transfer-Encoding")
	return resp
}

// structured reports whether a body is JSON or XML (WebDAV), which the
// services' translators read.
func structured(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	switch mt {
	case "application/json", "application/jsonlines+json", "application/x-ndjson", "application/xml", "text/xml":
		return true
	}
	return false
}

// jpegStart is how every JPEG file begins: SOI and the first marker's 0xFF.
var jpegStart = []byte{0xFF, 0xD8, 0xFF}

// looksJSON reports whether the body's first non-blank byte opens a JSON
// object or array.
func looksJSON(br *bufio.Reader) bool {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if err != nil || i > 4096 {
			return false
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		default:
			return false
		}
	}
}

// readJSON reads up to maxJSON bytes of r; whole says it read all of it.
func readJSON(r io.Reader) (body []byte, whole bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r, maxJSON+1))
	return body, err == nil && len(body) <= maxJSON, err
}

func setBody(req *http.Request, b []byte) {
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.ContentLength = int64(len(b))
	req.Header.Set("Content-Length", strconv.Itoa(len(b)))
	req.Header.Del("Transfer-Encoding")
	req.TransferEncoding = nil
}

// uploadCapture follows an upload on a rule that names its service: the
// photo as it came (to render its previews) and the checksums of photo and
// ciphertext (for the checksum map).
type uploadCapture struct {
	plain               bytes.Buffer
	limit               int64
	overflow            bool
	plainSum, cipherSum hash.Hash
}

func newUploadCapture(limit int64) *uploadCapture {
	return &uploadCapture{limit: limit, plainSum: sha1.New(), cipherSum: sha1.New()}
}

// plainSide reads the photo, keeping it; a nil capture keeps nothing.
func (c *uploadCapture) plainSide(r io.Reader) io.Reader {
	if c == nil {
		return r
	}
	return io.TeeReader(r, writerFunc(func(p []byte) (int, error) {
		c.plainSum.Write(p)
		if !c.overflow {
			if int64(c.plain.Len()+len(p)) > c.limit {
				c.overflow = true
				c.plain = bytes.Buffer{}
			} else {
				c.plain.Write(p)
			}
		}
		return len(p), nil
	}))
}

// cipherSide reads the ciphertext.
func (c *uploadCapture) cipherSide(r io.Reader) io.Reader {
	if c == nil {
		return r
	}
	return io.TeeReader(r, c.cipherSum)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
