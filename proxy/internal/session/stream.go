package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"slices"
	"time"

	"jpegveil/config"
	"jpegveil/jpegbits"
	"jpegveil/proxy/internal/budget"
	"jpegveil/proxy/internal/direction"
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
//     back, unless data follows the image that no MPF entry declares: a
//     phone's motion video or Samsung trailer is held back whole until the
//     file ends (it is planned from the end of the file, FORMAT.md §31),
//     and counts against limits.hash_buffer (Pending).
//   - Output leaves the proxy as the protocol allows (Google: whole multiples
//     of the chunk granularity; Nextcloud: one upstream chunk per client
//     chunk until a trailer is held, plus the held-back tail as one more
//     chunk before assembly) and stays in the session until the service
//     acknowledged it, so a failed forward can be retried by a later
//     request.
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
//
// Its direction is decided once, from the start of the file
// (direction.Prefix): until then the chunks are held back and produce no
// output; then the transformer starts over what was held, with the key and
// the per-item decisions of the Decision.
type Stream struct {
	feed feeder
	vr   *veil.Reader // nil until the direction is decided
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
	// hold counts what the session keeps between requests (Out, and
	// what is held back before and inside the transformer) in the
	// proxy's memory budget.
	hold *budget.Hold
	// sum is the SHA-256 of the whole ciphertext, which the ledger keeps
	// to check later that the service kept every byte.
	sum hash.Hash

	dir      *direction.Decider
	prefix   *direction.Prefix
	opts     veil.Options
	onUnsure config.UnsureAction
	// Decision is the upload's direction, once decided (Decided).
	Decision direction.Decision
	Decided  bool
	// OnDecided, if set, is called with the decision once it is made (for
	// the log).
	OnDecided func(direction.Decision)
}

// Account counts the stream's memory in hold from now on.
func (st *Stream) Account(hold *budget.Hold) { st.hold = hold }

// Release gives the stream's memory back to the budget: the session is
// dropped.
func (st *Stream) Release() { st.hold.Close() }

// account sets the stream's share of the budget to what it holds: Out's
// buffer, and the plaintext held back before the direction is decided or
// inside the transformer (a phone's trailer, say).
func (st *Stream) account() {
	st.hold.Set(int64(cap(st.Out)) + st.Pending() - int64(len(st.Out)))
}

// NewStream starts the encryption of one upload on rule. opts carries the
// metadata switches; the rule's on_unsupported policy says whether to stop
// at a parse error rather than pass the rest unchanged, its on_unsure what
// to do when the direction cannot be told; algs are the hashes of the
// whole file to keep.
//
// The stream captures only the decider (the keyring and the ledger): a
// session must not keep the proxy alive.
func NewStream(dir *direction.Decider, opts veil.Options, rule *config.Rule, algs ...hashes.Alg) *Stream {
	opts.StopAtError = rule.OnUnsupported != config.UnsupportedPass
	st := &Stream{
		ctx: context.Background(), plain: hashes.NewSet(algs...), cipher: hashes.NewSet(algs...), sum: sha256.New(),
		dir: dir, prefix: dir.NewPrefix(0), opts: opts, onUnsure: rule.OnUnsure,
	}
	st.prefix.AskLedger(dir.Knows(st.ctx))
	spec := dir.Speculation(direction.Upload)
	st.prefix.Speculate(spec, spec.Options(ctxOf{st}, dir, opts))
	return st
}

// decide feeds b to the prefix and, once the verdict is final, decides
// the direction and starts the transformer over the prefix. It reports
// whether the transformer runs, with b in its input.
func (st *Stream) decide(b []byte, final bool) (bool, error) {
	st.prefix.Write(b)
	if !st.prefix.Decided() && !final {
		return false, nil
	}
	dec, err := st.dir.Decide(st.ctx, direction.Upload, st.prefix.Verdict(), st.onUnsure)
	st.Decision, st.Decided = dec, true
	if st.OnDecided != nil {
		st.OnDecided(dec)
	}
	if err != nil {
		return false, err
	}
	// The decisions of the transform look the ledger up with the context
	// of the request being committed.
	st.vr = st.prefix.Reader(dec, dec.Options(ctxOf{st}, st.dir, st.opts), &st.feed)
	st.feed.buf = st.prefix.Bytes()
	st.prefix = nil
	return true, nil
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
	st.In += int64(len(b))
	st.EOF = final
	st.feed.buf, st.feed.eof = b, final
	if st.vr == nil {
		started, err := st.decide(b, final)
		if err != nil {
			st.Err = err
			return err
		}
		if !started {
			st.account() // the start of the file, held until decided
			return nil
		}
	}
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
			st.sum.Write(st.Out[start:])
			st.account()
			return nil
		}
		st.Err = err
		return err
	}
}

// Pending is how much of the upload the proxy holds: plaintext committed
// that the service has not acknowledged, transformed and waiting in Out or
// held back by the transformer. The data a phone appends after the image
// (a motion photo's video, FORMAT.md §31) is held back whole until the
// file ends.
func (st *Stream) Pending() int64 { return st.In - st.OutOff }

// HoldsTrailer reports whether the transformer holds back the data after
// the image, which it hands out only once the file has ended.
func (st *Stream) HoldsTrailer() bool { return !st.EOF && st.Result().TrailerOffset >= 0 }

// Ack drops the first n bytes of out: the service has them.
func (st *Stream) Ack(n int) {
	st.Out = append(st.Out[:0], st.Out[n:]...)
	st.OutOff += int64(n)
	if cap(st.Out)-len(st.Out) > 64<<10 {
		// Do not keep a large buffer in an idle session: it counts
		// against the memory budget until the next chunk.
		st.Out = slices.Clone(st.Out)
	}
	st.account()
}

// Result is the transform's result so far.
func (st *Stream) Result() veil.Result {
	if st.vr == nil {
		return veil.Result{TrailerOffset: -1}
	}
	return st.vr.Result()
}

// ctxOf is the context of the request a Stream is committing, for the
// ledger calls its transform makes long after the stream was started.
type ctxOf struct{ st *Stream }

func (c ctxOf) Deadline() (time.Time, bool) { return c.st.ctx.Deadline() }
func (c ctxOf) Done() <-chan struct{}       { return c.st.ctx.Done() }
func (c ctxOf) Err() error                  { return c.st.ctx.Err() }
func (c ctxOf) Value(key any) any           { return c.st.ctx.Value(key) }

// CiphertextSHA256 is the SHA-256 of the ciphertext so far: of the whole
// file once the stream reached its end.
func (st *Stream) CiphertextSHA256() [32]byte {
	var sum [32]byte
	st.sum.Sum(sum[:0])
	return sum
}

// FileSums returns the digests of the whole file so far, as the client sent
// it and as it went upstream.
func (st *Stream) FileSums() (plain, cipher hashes.Digests) { return st.plain.Sums(), st.cipher.Sums() }
