package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"jpegveil/config"
	"jpegveil/jpegbits"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// An upload that arrives in several requests (Google's resumable protocol,
// Nextcloud's chunked upload) is encrypted by one uploadStream kept in a
// session between the requests, so that chunk n is encrypted exactly as if
// the file had come in one piece:
//
//   - A client chunk is committed to the stream only once its request body
//     has been received completely. A client that breaks off in the middle
//     of a chunk leaves the stream untouched, so the upload can resume at
//     the same offset.
//   - Committing feeds the chunk to the transformer and takes all the output
//     the input so far determines. The transformer holds back the last few
//     KiB (their masks and chunk keystream depend on what follows; measured
//     on the corpus: at most 8.2 KiB, more only while the input stops inside
//     a marker segment, which is handled whole) until more input comes or
//     the file ends. Once the input holds the EOI marker nothing is held
//     back.
//   - Output leaves the proxy as the protocol allows (Google: whole multiples
//     of the chunk granularity; Nextcloud: one upstream chunk per client
//     chunk, plus the held-back tail as one more chunk before assembly) and
//     stays in the session until the service acknowledged it, so a failed
//     forward can be retried by a later request.
//   - There is no way to rewind a transformer, so a chunk at any other place
//     than the next one is refused (an exact repeat of the last committed
//     chunk is answered from the session instead). The stream is never fed
//     a chunk out of order, which is what "never encrypt with the wrong
//     state" needs.

// feeder is the source of an uploadStream's transformer: it hands out the
// chunk being committed, then says jpegbits.ErrInputPending until the next
// one, and io.EOF once the client said the file is complete.
type feeder struct {
	buf []byte
	eof bool
}

func (f *feeder) Read(p []byte) (int, error) {
	if len(f.buf) == 0 {
		if f.eof {
			return 0, io.EOF
		}
		return 0, jpegbits.ErrInputPending
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}

// uploadStream is the encryption state of one upload that arrives in
// several requests. It is not safe for concurrent use: the session's lock
// guards it.
type uploadStream struct {
	feed feeder
	vr   *veil.Reader
	// ctx is the context of the request being committed, for the ledger
	// callbacks.
	ctx context.Context
	in  int64 // plaintext bytes committed: the client's offset
	// out is transformed output the service has not acknowledged yet; it
	// starts at file offset outOff.
	out    []byte
	outOff int64
	eof    bool  // the client said the file is complete
	err    error // what stopped the stream for good
	// Running hashes of the whole file, plaintext and ciphertext, for
	// headers that carry a hash of the file on the last request.
	plain, cipher *hashSet
}

// newUploadStream starts the encryption of one upload. opts carries the
// metadata switches; block is the rule's on_unsupported policy (stop at a
// parse error rather than pass the rest unchanged); algs are the hashes of
// the whole file to keep.
//
// The stream must not refer to the Server (sessions must not keep it
// alive, see sessionsFor), so it captures only the key and the ledger.
func newUploadStream(key *keystream.Key, led ledger.Ledger, opts veil.Options, block bool, algs ...hashAlg) *uploadStream {
	st := &uploadStream{ctx: context.Background(), plain: newHashSet(algs...), cipher: newHashSet(algs...)}
	keyID := key.ID()
	opts.StopAtError = block
	opts.Decide = func(fp veil.Fingerprint) (bool, error) {
		_, known, err := led.Lookup(st.ctx, ledger.Fingerprint(fp))
		return !known, err
	}
	opts.Record = func(fp veil.Fingerprint) error {
		return led.Add(st.ctx, ledger.Fingerprint(fp), ledger.Entry{KeyID: keyID, Added: time.Now()})
	}
	st.vr = veil.NewReader(key, &st.feed, opts)
	return st
}

// newSessionStream is newUploadStream with the server's key, ledger and
// metadata switches, for an upload on rule.
func (s *Server) newSessionStream(rule *config.Rule, algs ...hashAlg) *uploadStream {
	return newUploadStream(s.key, s.ledger, s.metadataOptions(), rule.OnUnsupported != config.UnsupportedPass, algs...)
}

// errStreamEnded is returned for input after the end of the file.
var errStreamEnded = errors.New("the upload already ended")

// commit feeds a complete client chunk to the transformer (final: it is the
// last one) and appends all the output that is ready to out.
func (st *uploadStream) commit(ctx context.Context, b []byte, final bool) error {
	if st.err != nil {
		return st.err
	}
	if st.eof {
		if len(b) > 0 {
			return errStreamEnded
		}
		return nil
	}
	st.ctx = ctx
	defer func() { st.ctx = context.Background(); st.feed.buf = nil }()
	st.plain.Write(b)
	st.feed.buf, st.feed.eof = b, final
	st.in += int64(len(b))
	st.eof = final
	start := len(st.out)
	st.out = slices.Grow(st.out, len(b)+16<<10)
	for {
		if cap(st.out)-len(st.out) < 16<<10 {
			st.out = slices.Grow(st.out, 64<<10)
		}
		n, err := st.vr.Read(st.out[len(st.out):cap(st.out)])
		st.out = st.out[:len(st.out)+n]
		switch {
		case err == nil:
			continue
		case !final && errors.Is(err, jpegbits.ErrInputPending),
			final && err == io.EOF:
			// Everything the input so far determines has been read.
			st.cipher.Write(st.out[start:])
			return nil
		}
		st.err = err
		return err
	}
}

// ack drops the first n bytes of out: the service has them.
func (st *uploadStream) ack(n int) {
	st.out = append(st.out[:0], st.out[n:]...)
	st.outOff += int64(n)
	if len(st.out) == 0 && cap(st.out) > 1<<20 {
		st.out = nil // do not keep a large buffer in an idle session
	}
}

// sessionTable holds the upload sessions of one Server: at most max of
// them, each dropped after ttl without a request.
type sessionTable struct {
	mu  sync.Mutex
	m   map[string]*session
	max int
	ttl time.Duration
	now func() time.Time
}

// session is one resumable upload. mu serializes its requests; state is a
// *googleSession or a *ncSession.
type session struct {
	mu       sync.Mutex
	key      string
	lastUsed time.Time // guarded by the table's mu
	gone     bool      // removed from the table; guarded by the table's mu
	state    any
}

func newSessionTable(max int, ttl time.Duration) *sessionTable {
	if max < 1 { // Validate refuses it; a Server built without it gets the default
		max = 256
	}
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return &sessionTable{m: make(map[string]*session), max: max, ttl: ttl, now: time.Now}
}

// sessionsFor returns the Server's table of upload sessions.
func sessionsFor(s *Server) *sessionTable { return s.sessions }

// acquire returns the live session for key, locked, or nil. The caller
// unlocks it with release.
func (t *sessionTable) acquire(key string) *session {
	t.mu.Lock()
	t.expireLocked()
	sess := t.m[key]
	if sess != nil {
		sess.lastUsed = t.now()
	}
	t.mu.Unlock()
	if sess == nil {
		return nil
	}
	sess.mu.Lock()
	t.mu.Lock()
	gone := sess.gone
	t.mu.Unlock()
	if gone { // removed while this request waited for it
		sess.mu.Unlock()
		return nil
	}
	return sess
}

// release unlocks a session from acquire and marks it used now.
func (t *sessionTable) release(sess *session) {
	t.mu.Lock()
	sess.lastUsed = t.now()
	t.mu.Unlock()
	sess.mu.Unlock()
}

// add stores a new session under key, replacing one there. When the table
// is full, expired sessions go first, then the least recently used idle
// one. It returns the key of an evicted session, if any, for the log.
func (t *sessionTable) add(key string, state any) (evicted bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked()
	if old := t.m[key]; old != nil {
		old.gone = true
		delete(t.m, key)
	}
	for len(t.m) >= t.max {
		var victim *session
		for _, s := range t.m {
			if victim == nil || s.lastUsed.Before(victim.lastUsed) {
				if s.mu.TryLock() { // idle: nobody is in a request with it
					s.mu.Unlock()
					victim = s
				}
			}
		}
		if victim == nil {
			// Every session is in a request right now: take the oldest
			// anyway; its next request will be refused.
			for _, s := range t.m {
				if victim == nil || s.lastUsed.Before(victim.lastUsed) {
					victim = s
				}
			}
		}
		victim.gone = true
		delete(t.m, victim.key)
		evicted = true
	}
	t.m[key] = &session{key: key, lastUsed: t.now(), state: state}
	return evicted
}

// remove drops the session under key if it is sess (nil: any).
func (t *sessionTable) remove(key string, sess *session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur := t.m[key]; cur != nil && (sess == nil || cur == sess) {
		cur.gone = true
		delete(t.m, key)
	}
}

// len returns the number of live sessions.
func (t *sessionTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked()
	return len(t.m)
}

func (t *sessionTable) expireLocked() {
	now := t.now()
	for k, s := range t.m {
		if now.Sub(s.lastUsed) > t.ttl {
			s.gone = true
			delete(t.m, k)
		}
	}
}

// maxDrain bounds how much of an unread request body is read and dropped
// before the proxy answers a refusal: a client still sending its body when
// the connection closes often sees a reset instead of the answer.
const maxDrain = 64 << 20

// drain reads and drops what is left of a request body, up to maxDrain.
func drain(body io.Reader) {
	if body != nil && body != http.NoBody {
		io.CopyN(io.Discard, body, maxDrain)
	}
}

// readWholeChunk reads one chunk of a multi-request upload (what names it,
// for the message), which is held completely before it is encrypted: a
// client that breaks off mid-chunk must leave the session as it was. A chunk
// above limits.hash_buffer gives the reason to refuse it; an error means the
// client broke off and nothing was committed.
func (s *Server) readWholeChunk(req *http.Request, what string) (b []byte, refuse string, err error) {
	limit := int64(s.cfg.Limits.HashBuffer)
	b, err = readChunk(req.Body, req.ContentLength, limit)
	var tooLarge *errTooLarge
	if errors.As(err, &tooLarge) {
		return nil, fmt.Sprintf("a chunk of a %s is held completely before it is encrypted, and this one is larger than limits.hash_buffer (%s): use smaller chunks or raise the limit", what, config.Size(limit)), nil
	}
	return b, "", err
}

// errTooLarge is returned by readChunk for a body above the limit.
type errTooLarge struct{ limit int64 }

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("the request body is larger than limits.hash_buffer (%s)", config.Size(e.limit))
}

// readChunk reads a request body completely, up to limit bytes.
func readChunk(body io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength > limit {
		return nil, &errTooLarge{limit}
	}
	if body == nil {
		return nil, nil
	}
	// Start small whatever Content-Length says, and grow as the bytes
	// arrive: a client must send its chunk before the proxy holds memory
	// for it.
	buf := make([]byte, 0, 32<<10)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(len(buf), 4<<20))
		}
		m, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if int64(len(buf)) > limit {
			return nil, &errTooLarge{limit}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
