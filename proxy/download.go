package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"jpegveil/jpegbits"
	"jpegveil/proxy/services"
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
func (ex *exchange) download() (*http.Response, error) {
	req := ex.req
	// Bodies must arrive as the file was stored, not compressed.
	req.Header.Set("Accept-Encoding", "identity")
	if req.Method == http.MethodHead {
		// No body to decrypt, and a HEAD with Range must describe the
		// client's range, not the prefix the proxy would fetch.
		return ex.Pass(services.PassedHead)
	}
	client := clientRangeOf(req)
	resp, err := ex.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if !decryptable(resp) {
		ex.outcome = services.PassedStatus(resp.StatusCode)
		return resp, nil
	}
	// staleIfRange: the client sent If-Range and the answer may be of
	// another version of the file than the one it holds part of, so it
	// gets the whole file (RFC 9110 §13.1.5).
	staleIfRange := req.Header.Get("If-Range") != "" && resp.StatusCode == http.StatusOK
	if client.ranged && resp.StatusCode == http.StatusPartialContent && !prefixCovers(resp, client.rng) {
		// The service answered a shorter prefix than asked for (or not
		// one from byte 0, or without the file's size). Decrypting it would
		// cut the keystream chunk around the end of the range, which
		// changes its nonce: the last bytes would come out wrong, or be
		// missing. Fetch the whole file instead.
		first := resp.Header
		resp.Body.Close()
		if resp, err = ex.fetchWhole(); err != nil {
			return nil, err
		}
		if !decryptable(resp) || resp.StatusCode != http.StatusOK {
			ex.outcome = services.PassedStatus(resp.StatusCode)
			return resp, nil
		}
		staleIfRange = req.Header.Get("If-Range") != "" && !sameVersion(first, resp.Header)
	}
	return ex.decrypt(resp, client, staleIfRange)
}

// clientRange is the Range a client asked for, and whether the proxy
// serves it as a slice (ranged) of what it fetched.
type clientRange struct {
	header, ifRange string
	rng             byteRange
	ranged          bool
}

// clientRangeOf reads the client's range from req and changes req to ask
// for what the proxy must fetch to serve it: a prefix from byte 0 with a
// margin for the keystream chunk at its end, or the whole file.
func clientRangeOf(req *http.Request) clientRange {
	c := clientRange{header: req.Header.Get("Range"), ifRange: req.Header.Get("If-Range")}
	c.rng, c.ranged = parseRange(c.header)
	switch {
	case c.header == "":
	case !c.ranged:
		// Several ranges, or a syntax we do not serve: answer the whole
		// file, as RFC 9110 §14.2 allows a server to.
		req.Header.Del("Range")
		req.Header.Del("If-Range")
	case c.rng.suffix || c.rng.end < 0:
		req.Header.Del("Range")
	default:
		req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", c.rng.end+rangeMargin))
	}
	return c
}

// decrypt answers with resp's body decrypted where the ledger knows the
// image, sliced to the client's range.
func (ex *exchange) decrypt(resp *http.Response, client clientRange, staleIfRange bool) (*http.Response, error) {
	req := ex.req
	vr := ex.crypt.decrypting(req.Context(), resp.Body)
	body := &downloadBody{vr: vr, c: resp.Body, ex: ex}
	changed, err := body.preRead()
	if err != nil {
		resp.Body.Close()
		ex.result = vr.Result()
		ex.Record(services.Failed, err)
		return nil, err
	}
	if client.header != "" && errors.Is(vr.Result().Err, jpegbits.ErrNotJPEG) && (req.Body == nil || req.Body == http.NoBody) {
		// Not a JPEG (a video, say): nothing to decrypt, so the client's
		// own range goes to the service, rather than the proxy reading
		// the file from byte 0 to slice it. What was fetched is dropped
		// after its first bytes.
		body.c.Close()
		if body.ahead != nil {
			body.ahead.Stop()
		}
		again := req.Clone(req.Context())
		again.Header.Set("Range", client.header)
		if client.ifRange != "" {
			again.Header.Set("If-Range", client.ifRange)
		}
		ex.outcome = services.PassedNotJPEG
		return ex.RoundTrip(again)
	}
	if changed {
		for _, h := range storedHashHeaders {
			resp.Header.Del(h)
		}
	}
	resp.Body = body
	ex.logOnClose = true
	if !client.ranged {
		return resp, nil
	}
	return sliceResponse(req, resp, body, client.rng, staleIfRange)
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
func (ex *exchange) fetchWhole() (*http.Response, error) {
	req := ex.req
	if req.Body != nil && req.Body != http.NoBody {
		err := errors.New("the service answered a shorter range than asked, and a request with a body cannot be sent again for the whole file")
		ex.Record(services.UpstreamError, err)
		return nil, err
	}
	again := req.Clone(req.Context())
	again.Header.Del("Range")
	again.Header.Del("If-Range")
	return ex.RoundTrip(again)
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

// downloadBody is a decrypting response body; closing it logs the request.
type downloadBody struct {
	r     io.Reader // what the client reads: the pre-read start, then vr
	vr    *veil.Reader
	ahead *aheadReader // reads vr after the pre-read, once started
	c     io.Closer
	ex    *exchange
	n     int64
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
		b.r = io.MultiReader(bytes.NewReader(head), lazyAhead{b})
	case io.EOF:
		b.r = bytes.NewReader(head)
	default:
		return false, err
	}
	res := b.vr.Result()
	decided := res.HasFingerprint || res.Err != nil || err == io.EOF
	return res.Transformed || !decided, nil
}

// lazyAhead starts reading vr ahead once the client reads past the
// pre-read start: until then vr.Result may be asked.
type lazyAhead struct{ b *downloadBody }

func (l lazyAhead) Read(p []byte) (int, error) {
	if l.b.ahead == nil {
		l.b.ahead = newAheadReader(l.b.vr)
	}
	return l.b.ahead.Read(p)
}

func (b *downloadBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF {
		b.ex.err = err
	}
	return n, err
}

func (b *downloadBody) Close() error {
	// The service's body is closed first: that ends a read of it that
	// the ahead reader may be waiting in.
	err := b.c.Close()
	if b.ahead != nil {
		b.ahead.Stop()
	}
	ex := b.ex
	ex.Sent(b.n)
	ex.SetResult(b.vr.Result())
	switch {
	case ex.err != nil:
		ex.outcome = services.Failed
	case services.Of(ex.result) == services.Transformed:
		ex.outcome = services.Decrypted
	default:
		ex.outcome = services.Of(ex.result)
	}
	ex.done()
	return err
}
