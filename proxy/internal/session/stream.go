package session

import (
	"context"
	"errors"
	"io"
	"slices"
	"time"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/proxy/internal/budget"
	"jpegveil/proxy/internal/hashes"
	"jpegveil/veil"
)

// An upload that arrives in several requests (Google's resumable protocol,
// Nextcloud's chunked upload) is encrypted by one Stream kept in a
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

// feeder is the source of a Stream's transformer: it hands out the
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

// Stream is the encryption state of one upload that arrives in
// several requests. It is not safe for concurrent use: the session's lock
// guards it.
type Stream struct {
	feed feeder
	vr   *veil.Reader
	// ctx is the context of the request being committed, for the ledger
	// callbacks.
	ctx context.Context
	// In is the plaintext committed: the client's offset.
	In int64
	// Out is transformed output the service has not acknowledged yet; it
	// starts at file offset OutOff.
	Out    []byte
	OutOff int64
	// EOF is set once the client said the file is complete.
	EOF bool
	// Err is what stopped the stream for good.
	Err error
	// Running hashes of the whole file, plaintext and ciphertext, for
	// headers that carry a hash of the file on the last request.
	plain, cipher *hashes.Set
	// hold counts Out, which the session keeps between requests, in the
	// proxy's memory budget.
	hold *budget.Hold
}

// Account counts the stream's pending output in hold from now on.
func (st *Stream) Account(hold *budget.Hold) { st.hold = hold }

// Release gives the stream's memory back to the budget: the session is
// dropped.
func (st *Stream) Release() { st.hold.Close() }

// NewStream starts the encryption of one upload. opts carries the
// metadata switches; block is the rule's on_unsupported policy (stop at a
// parse error rather than pass the rest unchanged); algs are the hashes of
// the whole file to keep.
//
// The stream captures only the key and the ledger: a session must not
// keep the proxy alive.
func NewStream(key *keystream.Key, led ledger.Ledger, opts veil.Options, block bool, algs ...hashes.Alg) *Stream {
	st := &Stream{ctx: context.Background(), plain: hashes.NewSet(algs...), cipher: hashes.NewSet(algs...)}
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

// ErrStreamEnded is returned for input after the end of the file.
var ErrStreamEnded = errors.New("the upload already ended")

// Commit feeds a complete client chunk to the transformer (final: it is the
// last one) and appends all the output that is ready to out.
func (st *Stream) Commit(ctx context.Context, b []byte, final bool) error {
	if st.Err != nil {
		return st.Err
	}
	if st.EOF {
		if len(b) > 0 {
			return ErrStreamEnded
		}
		return nil
	}
	st.ctx = ctx
	defer func() { st.ctx = context.Background(); st.feed.buf = nil }()
	st.plain.Write(b)
	st.feed.buf, st.feed.eof = b, final
	st.In += int64(len(b))
	st.EOF = final
	start := len(st.Out)
	st.Out = slices.Grow(st.Out, len(b)+16<<10)
	for {
		if cap(st.Out)-len(st.Out) < 16<<10 {
			st.Out = slices.Grow(st.Out, 64<<10)
		}
		n, err := st.vr.Read(st.Out[len(st.Out):cap(st.Out)])
		st.Out = st.Out[:len(st.Out)+n]
		switch {
		case err == nil:
			continue
		case !final && errors.Is(err, jpegbits.ErrInputPending),
			final && err == io.EOF:
			// Everything the input so far determines has been read. Its
			// memory was taken with the chunk's; from now on the session
			// holds it.
			st.cipher.Write(st.Out[start:])
			st.hold.Set(int64(cap(st.Out)))
			return nil
		}
		st.Err = err
		return err
	}
}

// Ack drops the first n bytes of out: the service has them.
func (st *Stream) Ack(n int) {
	st.Out = append(st.Out[:0], st.Out[n:]...)
	st.OutOff += int64(n)
	if cap(st.Out)-len(st.Out) > 64<<10 {
		// Do not keep a large buffer in an idle session: it counts
		// against the memory budget until the next chunk.
		st.Out = slices.Clone(st.Out)
	}
	st.hold.Set(int64(cap(st.Out)))
}

// Result is the transform's result so far.
func (st *Stream) Result() veil.Result { return st.vr.Result() }

// FileSums returns the digests of the whole file so far, as the client sent
// it and as it went upstream.
func (st *Stream) FileSums() (plain, cipher hashes.Digests) { return st.plain.Sums(), st.cipher.Sums() }
