package proxy

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"jpegveil/config"
	"jpegveil/proxy/internal/direction"
	"jpegveil/proxy/services"
	"jpegveil/veil"
)

// preRead is how much of a transformed upload is produced before the
// request goes upstream: a body that fails within it (not a JPEG,
// arithmetic coding, corrupt headers, any small photo) is refused before
// the service sees a byte of it.
const preRead = 256 << 10

// Upload encrypts a request whose body is the photo.
func (ex *exchange) Upload() (*http.Response, error) {
	req := ex.req
	if req.Body == nil || req.Body == http.NoBody {
		return ex.Pass(services.Empty)
	}
	return ex.sendEncrypted(uploadParts{photo: req.Body, body: req.Body})
}

// uploadParts is a request body in three parts: prefix, the photo, suffix (a
// multipart form's parts around the photo's). body is closed when done.
type uploadParts struct {
	prefix []byte
	photo  io.Reader
	suffix io.Reader // may be nil
	body   io.Closer
}

func (u uploadParts) all() io.Reader {
	return io.MultiReader(bytes.NewReader(u.prefix), u.photo, orEmpty(u.suffix))
}

// drain reads what is left of the upload before a refusal, so the client
// gets the answer instead of a reset.
func (u uploadParts) drain() {
	services.Drain(u.photo)
	services.Drain(u.suffix)
}

// sendEncrypted sends the request upstream with the photo encrypted
// between prefix and suffix. Content-Length and chunked framing stay as
// the client sent them: the body keeps its length. The first preRead bytes
// of the photo are transformed before anything goes upstream, so most
// refusals happen before the service sees the request.
func (ex *exchange) sendEncrypted(u uploadParts) (*http.Response, error) {
	req := ex.req
	if ce := services.Compressed(req.Header); ce != "" {
		// Refused under either policy: the proxy cannot see whether the
		// body holds a photo, and a service that decodes it (or ignores
		// the header) would store one unencrypted.
		req.Body = services.ReadCloser{Reader: u.all(), Closer: u.body}
		return ex.Refuse(fmt.Errorf("the body is compressed (Content-Encoding: %s), so jpegveil cannot encrypt a photo in it", ce))
	}
	// Headers that carry a hash of the body are recomputed over the
	// ciphertext, which needs the whole body first (hashed.go).
	found, err := ex.env.Hashes.Parse(req.Header)
	if err != nil {
		// Read the body first: a client still sending it when the
		// connection closes sees a reset instead of the reason.
		services.Drain(u.all())
		u.body.Close()
		return ex.refusal(err), nil
	}
	photo, readErr, err := ex.directed(direction.Upload, u.photo)
	if readErr != nil {
		ex.Record(services.ClientError, readErr)
		return nil, readErr
	}
	var le *ledgerError
	if errors.As(err, &le) {
		return ex.bodyFailed(err, u)
	}
	if err != nil {
		u.drain()
		return ex.refusal(err), nil
	}
	u.photo = photo
	if len(found) > 0 {
		return ex.sendHashed(u, found)
	}
	held := &holdLimit{r: u.photo, limit: ex.env.HashBuffer(), mem: ex.env.Memory.NewHold(), ctx: req.Context()}
	defer held.mem.Close()
	src := u.photo
	if ex.rule.OnUnsupported != config.UnsupportedPass {
		src = held
	}
	vr := ex.transform(ex.capture.plainSide(src))
	out := handedOut{r: ex.capture.cipherSide(vr), h: held}
	head, err := readUpTo(out, preRead, req.ContentLength)
	if err != nil && err != io.EOF {
		ex.result = vr.Result()
		if services.IsBusy(err) {
			return ex.busy(err)
		}
		var re *refuseError
		if veil.IsParseError(err) || errors.As(err, &re) {
			u.drain()
			return ex.refusal(err), nil
		}
		return ex.bodyFailed(err, u)
	}
	// The ledger keeps the SHA-256 of the file as it goes upstream.
	sum := &fileSum{h: sha256.New(), r: out}
	sum.h.Write(head)
	sum.eof.Store(err == io.EOF)
	var rest io.Reader = eofReader{}
	var ahead *aheadReader
	if err == nil {
		// From here on the transform (and the hash) runs ahead of the
		// transport; cb stops it before vr's Result is taken.
		ahead = newAheadReader(sum)
		rest = ahead
	}
	cb := newCountingBody(io.MultiReader(bytes.NewReader(u.prefix), bytes.NewReader(head), rest, orEmpty(u.suffix)), u.body, vr)
	cb.ahead = ahead
	req.Body = cb
	resp, rerr := ex.env.Upstream.RoundTrip(req)
	return ex.sent(resp, rerr, cb, sum, u)
}

// sent answers an upload once the transport has sent it, or given up: by
// what became of the body (refused, a ledger failure, sent whole) and the
// service's answer.
func (ex *exchange) sent(resp *http.Response, rerr error, cb *countingBody, sum *fileSum, u uploadParts) (*http.Response, error) {
	if !cb.wait(bodyWait) && rerr == nil {
		// The service answered before the transport was done with the
		// body (it accepts uploads on their headers, or the client is
		// slow): what was sent is known, and logged, once it is.
		ex.logOnClose = true
		cb.whenClosed(func() { ex.logSent(cb) })
		return resp, nil
	}
	var refused, bodyErr error
	ex.bytes, ex.result, refused, bodyErr = cb.outcome()
	if refused != nil {
		return ex.stopped(resp, refused)
	}
	var le *ledgerError
	if errors.As(bodyErr, &le) {
		// The ledger failed in the middle of the photo: the request
		// was cut off, and whatever the service answers is not the
		// client's.
		if resp != nil {
			resp.Body.Close()
		}
		return ex.bodyFailed(bodyErr, u)
	}
	if rerr != nil {
		ex.Record(services.UpstreamError, rerr)
		return nil, rerr
	}
	ex.outcome = services.Of(ex.result)
	if sum.eof.Load() {
		ex.SetFileHash([32]byte(sum.h.Sum(nil)))
	}
	return resp, nil
}

// logSent logs an upload the service answered before it had the whole
// body, once the transport is done with it: what was sent decides the
// outcome.
func (ex *exchange) logSent(cb *countingBody) {
	ex.bytes, ex.result, ex.err = cb.n, cb.result, cb.err
	var le *ledgerError
	switch {
	case cb.refusal != nil:
		ex.outcome = services.Refused
	case errors.As(cb.err, &le):
		ex.outcome = services.Failed
	case cb.err != nil:
		ex.outcome = services.ClientError
	default:
		ex.outcome = services.Of(cb.result)
	}
	ex.done()
}

// fileSum hashes the photo as it goes upstream; eof says it went whole
// (the transport may stop reading early when the service answers early).
type fileSum struct {
	h   hash.Hash
	r   io.Reader
	eof atomic.Bool // set by the transport's goroutine, after its last write to h
}

func (f *fileSum) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.h.Write(p[:n])
	if err == io.EOF {
		f.eof.Store(true)
	}
	return n, err
}

// stopped answers an upload whose body stopped while it went upstream, for
// the reason why: 503 when the memory budget ran out, else 502 with the
// refusal. The request upstream broke off, so the service stored nothing.
func (ex *exchange) stopped(resp *http.Response, why error) (*http.Response, error) {
	if resp != nil {
		resp.Body.Close()
	}
	if services.IsBusy(why) {
		return ex.busy(why)
	}
	return ex.refusal(why), nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func orEmpty(r io.Reader) io.Reader {
	if r == nil {
		return eofReader{}
	}
	return r
}

// readUpTo reads from r until n bytes, the end, or an error. length is
// how long r is said to be (-1 when not known): the buffer is allocated
// once, for what will be read.
func readUpTo(r io.Reader, n int, length int64) ([]byte, error) {
	size := n
	if length >= 0 && length < int64(n) {
		size = int(length) + 1 // +1: the end is seen without growing
	}
	buf := make([]byte, 0, size)
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := r.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// countingBody is the request body sent upstream. It remembers an error
// that stopped it because the upload must be refused (a parse error under
// on_unsupported block, or a refuseError), so the proxy can answer 502
// instead of a broken connection. The transport may still read and close it
// after RoundTrip returns (an early answer), so its results are taken under
// a lock once it is closed.
type countingBody struct {
	r     io.Reader
	c     io.Closer
	vr    *veil.Reader // may be nil
	ahead *aheadReader // reads vr; may be nil
	once  sync.Once
	done  chan struct{}

	mu       sync.Mutex
	n        int64
	refusal  error
	err      error // the first error reading the body, other than io.EOF
	result   veil.Result
	finished bool
	onClose  func() // called once, when the body is closed
}

func newCountingBody(r io.Reader, c io.Closer, vr *veil.Reader) *countingBody {
	return &countingBody{r: r, c: c, vr: vr, done: make(chan struct{})}
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.mu.Lock()
	b.n += int64(n)
	var re *refuseError
	if err != nil && err != io.EOF && (veil.IsParseError(err) || errors.As(err, &re) || services.IsBusy(err)) {
		b.refusal = err
	}
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
	return n, err
}

func (b *countingBody) Close() error {
	err := b.c.Close()
	b.once.Do(func() {
		if b.ahead != nil {
			b.ahead.Stop() // vr is read no more
		}
		b.mu.Lock()
		if b.vr != nil {
			b.result = b.vr.Result()
		}
		b.finished = true
		f := b.onClose
		b.mu.Unlock()
		close(b.done)
		if f != nil {
			f()
		}
	})
	return err
}

// bodyWait is how long the proxy waits, once the service has answered, for
// the transport to be done with the request body before it answers the
// client; the outcome is then logged when it is.
const bodyWait = 2 * time.Second

// wait reports whether the transport is done with the body, waiting at
// most d.
func (b *countingBody) wait(d time.Duration) bool {
	select {
	case <-b.done:
		return true
	case <-time.After(d):
		return false
	}
}

// whenClosed calls f once the body is closed, under no lock: now if it is,
// else from Close. f may read the results without the lock.
func (b *countingBody) whenClosed(f func()) {
	b.mu.Lock()
	if !b.finished {
		b.onClose = f
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	f()
}

// outcome returns what the transport saw of the body: bytes sent, the
// transform result, the refusal if any, and the error that stopped reading
// it if any.
func (b *countingBody) outcome() (int64, veil.Result, error, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n, b.result, b.refusal, b.err
}
