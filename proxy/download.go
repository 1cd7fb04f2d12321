package proxy

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"jpegveil/jpegbits"
	"jpegveil/proxy/internal/direction"
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
// image, by which the image and the metadata before it have their
// decisions (direction.Decision.Options), in every photo but those with
// unusually large metadata before the image data.
const downloadPreRead = 256 << 10

// storedHashHeaders are response headers that carry a hash of the body or
// of the file as the service stores it: of the ciphertext, wrong for the
// plaintext the client gets when the proxy decrypts. They cannot be
// recomputed before the whole body has been decrypted, so they are dropped.
var storedHashHeaders = []string{"Content-MD5", "X-Goog-Hash", "Digest", "Content-Digest", "Repr-Digest", "OC-Checksum"}

// bodyHashHeaders are those that cover the response body alone (not the
// whole file): wrong for any slice other than the body the service sent.
var bodyHashHeaders = []string{"Content-MD5", "Content-Digest"}

// download decrypts a response body when the ledger knows the image, or
// else the classifier recognises it as a ciphertext of a key in the
// keyring, with that key; every other body (server-made thumbnails, photos from others or from before
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
		return ex.decryptWhole(resp, client)
	}
	return ex.decrypt(resp, client, staleIfRange)
}

// decryptWhole drops the prefix the proxy fetched for the client's range
// and serves the range from the whole file instead.
func (ex *exchange) decryptWhole(prefix *http.Response, client clientRange) (*http.Response, error) {
	prefix.Body.Close()
	resp, err := ex.fetchWhole()
	if err != nil {
		return nil, err
	}
	if !decryptable(resp) || resp.StatusCode != http.StatusOK {
		ex.outcome = services.PassedStatus(resp.StatusCode)
		return resp, nil
	}
	staleIfRange := ex.req.Header.Get("If-Range") != "" && !sameVersion(prefix.Header, resp.Header)
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
// image or the classifier recognises a ciphertext of a key in the keyring
// (direction.Decider), sliced to the client's range.
func (ex *exchange) decrypt(resp *http.Response, client clientRange, staleIfRange bool) (*http.Response, error) {
	req := ex.req
	whole, readErr, err := ex.directed(direction.Download, resp.Body)
	if readErr != nil || err != nil {
		// The service broke off, or the ledger failed: the client gets
		// nothing rather than bytes whose direction is not known.
		resp.Body.Close()
		ex.Record(services.Failed, cmp.Or(readErr, err))
		return nil, cmp.Or(readErr, err)
	}
	if resp.StatusCode == http.StatusPartialContent && ex.decision.Cut && !ex.decision.Known && !wholeFile(resp) {
		// The prefix fetched for the range ended before the classifier
		// was done: its verdict might not be the whole file's. Decide on
		// the whole file instead, as a client reading it all would.
		return ex.decryptWhole(resp, client)
	}
	kc := ex.kept(req, resp)
	if kc.sum != nil && ex.decision.Transform {
		// Only a photo of ours is compared with the ledger's hash
		// (atEnd): a body that passes is not hashed.
		whole = io.TeeReader(whole, kc.sum)
	}
	vr := ex.transform(whole)
	body := &downloadBody{vr: vr, src: vr, c: resp.Body, ex: ex, kc: kc}
	if _, end, total, _ := contentRange(resp); client.ranged && resp.StatusCode == http.StatusPartialContent && end < total-1 {
		// A prefix short of the end of the file: what follows the image
		// cannot be decrypted from it (see trailerSwitch).
		body.src = &trailerSwitch{b: body, first: resp.Header.Clone(), end: client.rng.end}
	}
	changed, err := body.preRead(resp.ContentLength)
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
		again := req.Clone(req.Context())
		again.Header.Set("Range", client.header)
		if client.ifRange != "" {
			again.Header.Set("If-Range", client.ifRange)
		}
		ex.outcome = services.PassedNotJPEG
		return ex.RoundTrip(again)
	}
	if answer := ex.afterPreRead(kc, resp, vr.Result(), body.whole); answer != nil {
		resp.Body.Close()
		return answer, nil
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

// wholeFile reports whether a 206 answer holds the whole file.
func wholeFile(resp *http.Response) bool {
	start, end, total, ok := contentRange(resp)
	return ok && start == 0 && end == total-1
}

// decryptable reports whether resp has a body the proxy may decrypt: a 200
// or 206 as stored, not compressed.
func decryptable(resp *http.Response) bool {
	return (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPartialContent) &&
		services.Compressed(resp.Header) == ""
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
	r     io.Reader // what the client reads: the pre-read start, then src
	vr    *veil.Reader
	src   io.Reader    // vr, or a trailerSwitch over it
	ahead *aheadReader // reads vr after the pre-read, once started
	c     io.Closer
	ex    *exchange
	kc    *keptCheck
	n     int64
	// whole is set when the pre-read reached the end of the body.
	whole bool
	// held is the last byte read, given to the client only once the next
	// read shows that the body goes on or ends well (readHeld).
	held    byte
	hasHeld bool
	ended   bool // b.r ended and passed the check at its end
}

// readHeld reads from b.r, holding the last byte back until the next read
// or the end of the body: a body found to be decrypted only partly when it
// ends (kept.go) is cut short before that byte, so that no client, even
// one that knows the length, sees it complete.
func (b *downloadBody) readHeld(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.ended {
		if b.hasHeld {
			p[0], b.hasHeld = b.held, false
			return 1, nil
		}
		return 0, io.EOF
	}
	// Read into p after the held byte; a one-byte p (a reader that wants
	// exactly the last byte of a known length) reads ahead into scratch.
	var scratch [1]byte
	dst, off, ahead := p, 0, false
	if b.hasHeld {
		if len(p) == 1 {
			dst, ahead = scratch[:], true
		} else {
			p[0], dst, off = b.held, p[1:], 1
			b.hasHeld = false
		}
	}
	n, err := b.r.Read(dst)
	if err != nil && err != io.EOF {
		return 0, err
	}
	if err == io.EOF {
		if cut := b.ex.atEnd(b.kc, b.vr.Result()); cut != nil {
			return 0, cut
		}
		b.ended = true
	}
	if ahead {
		p[0] = b.held
		b.held, b.hasHeld = scratch[0], n == 1
		return 1, nil
	}
	n += off
	if !b.ended && n > 0 {
		b.held, b.hasHeld = p[n-1], true
		n--
	}
	if b.ended && !b.hasHeld {
		return n, io.EOF
	}
	return n, nil
}

// preRead decrypts the start of the body until the direction is decided
// (the primary image reached its first chunk, the body is no JPEG the
// transform handles, or it ended), or downloadPreRead bytes, and keeps what
// it read for the client. It reports whether the client gets other bytes
// than the service sent: when the image is decrypted, or when the direction
// is still open (the proxy may yet decrypt). length is the body's length
// as the service gave it, -1 when not known: the start is read into one
// buffer of the size it will need, not copied into a growing one.
func (b *downloadBody) preRead(length int64) (changed bool, err error) {
	const step = 32 << 10
	size := downloadPreRead + step
	if length >= 0 && length < int64(size) {
		size = int(length) + 1 // +1: the end is seen without growing
	}
	head := make([]byte, 0, size)
	for len(head) < downloadPreRead {
		// A photo being decrypted is read on up to downloadPreRead, so
		// that one that decrypts only partly is found before the
		// headers go (kept.go).
		if res := b.vr.Result(); res.HasFingerprint && !res.Transformed || res.Err != nil {
			break
		}
		if len(head) == cap(head) {
			head = slices.Grow(head, step) // longer than the service said
		}
		var n int
		n, err = b.src.Read(head[len(head):min(len(head)+step, cap(head))])
		head = head[:len(head)+n]
		if err != nil {
			break
		}
	}
	switch err {
	case nil:
		b.r = io.MultiReader(bytes.NewReader(head), lazyAhead{b})
	case io.EOF:
		b.r = bytes.NewReader(head)
		b.whole = true
	default:
		return false, err
	}
	res := b.vr.Result()
	return res.Transformed || !prefixDecided(res, err == io.EOF), nil
}

// prefixDecided reports whether the start of a download read so far
// settles what became of the image: its fingerprint is known, the
// transform stopped, or the body has ended.
func prefixDecided(res veil.Result, whole bool) bool {
	return res.HasFingerprint || res.Err != nil || whole
}

// lazyAhead reads src ahead of the client once it reads past the
// pre-read start: until then vr.Result may be asked. A trailerSwitch,
// which replaces vr and the body it reads while it is read, is read as
// the client reads.
type lazyAhead struct{ b *downloadBody }

func (l lazyAhead) Read(p []byte) (int, error) {
	b := l.b
	if b.src != io.Reader(b.vr) {
		return b.src.Read(p)
	}
	if b.ahead == nil {
		b.ahead = newAheadReader(b.vr)
	}
	return b.ahead.Read(p)
}

func (b *downloadBody) Read(p []byte) (int, error) {
	n, err := b.readHeld(p)
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
