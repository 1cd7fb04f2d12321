package direction

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
	"jpegveil/veil"
)

// MaxHeld bounds the start of a body held back for the classifier. It needs
// the marker segments before the first scan (large only with extended XMP,
// such as depth maps) and at most veil.MaxClassifyScanBytes +
// veil.ClassifyLookahead of scan data; a body whose first scan starts
// later is unsure.
const MaxHeld = 8 << 20

// Prefix is the start of a body, held back while the classifier reads it.
//
// The classifier rides along with a transform of the body (veil
// Options.Classify), so that the start of the file is parsed once: with
// Speculate, that transform is the one the most common decision calls for
// (the primary image transformed with the current key, unknown to the
// ledger), and Reader goes on with it when the decision is that one. Its
// output is held back too, and the ledger records it asks for are kept
// until then. When that transform stops for a reason of its own before
// the verdict (a ledger failure, metadata it cannot encrypt), a classifier
// of its own judges the held bytes, so that the verdict is always the
// classifier's over the body. It is not safe for concurrent use.
type Prefix struct {
	ring    *keystream.Keyring
	scratch *veil.Scratch // lends the judging's buffers
	held    []byte
	limit   int
	closed  bool
	cut     bool
	v       veil.Verdict

	// vr transforms the body, read from feed, as spec says with opts,
	// while the classifier judges it.
	vr   *veil.Reader
	feed specFeed
	spec *Decision
	opts veil.Options
	// record is the speculative options' Record; the records it was asked
	// for are queued until the decision adopts the transform.
	record  func(veil.Fingerprint) error
	queued  []veil.Fingerprint
	adopted bool

	// cls classifies the held bytes on its own once the transform was
	// interrupted (veil.Reader.Interrupted): its verdict is then not the
	// classifier's over the body.
	cls *veil.Classifier

	// fed is how many of the held bytes were judged: given to the
	// transform, and to cls once it judges instead.
	fed int

	// known, when set, asks the ledger about the primary image's
	// fingerprints as soon as the classifier has them; byLedger is set
	// when it knew one: the verdict needs no more of the body.
	known    func([]veil.KeyFingerprint) bool
	byLedger bool
}

// ledgerStep is how much of the body is given to the classifier at a
// time while the ledger may still decide: the ledger is asked between
// steps, so a body it knows is classified no further than that past its
// first chunk.
const ledgerStep = 8 << 10

// AskLedger makes the prefix decided as soon as known reports that the
// ledger knows one of the primary image's fingerprints (the classifier
// has them once it read the first chunk); the verdict then carries them
// and no class (Unsure, reason "known to the ledger"), and Decide finds
// the image in the ledger. known is not asked again once it said no.
func (p *Prefix) AskLedger(known func([]veil.KeyFingerprint) bool) { p.known = known }

// NewPrefix returns an empty Prefix that classifies with ring's keys and
// judges at most limit bytes (MaxHeld when limit ≤ 0): Fill holds no
// more; Write holds what it is given and judges it up to the limit.
func NewPrefix(ring *keystream.Keyring, limit int) *Prefix {
	if limit <= 0 {
		limit = MaxHeld
	}
	return &Prefix{ring: ring, limit: limit}
}

// NewPrefix is NewPrefix for d's keyring, judging with d's Scratch.
func (d *Decider) NewPrefix(limit int) *Prefix {
	p := NewPrefix(d.Ring, limit)
	p.scratch = d.Scratch
	return p
}

// Speculation is the decision a Prefix speculates on for a body going
// way: its primary image transformed with the current key.
func (d *Decider) Speculation(way Way) Decision {
	return Decision{Way: way, Key: d.Ring.Current(), Transform: true}
}

// Speculate makes the prefix transform the body as it reads it, as the
// decision spec (Decider.Speculation) with the transform options opts
// would (its Record calls are queued until the decision adopts the
// transform, see Reader). It must be called before the first Write.
func (p *Prefix) Speculate(spec Decision, opts veil.Options) {
	if p.vr != nil {
		panic("direction: Speculate after Write")
	}
	p.spec, p.opts, p.record = &spec, opts, opts.Record
}

// start makes the transform the classifier rides along with.
func (p *Prefix) start() {
	key, opts := p.ring.Current(), veil.Options{}
	if p.spec != nil {
		key, opts = p.spec.Key, p.opts
		// Without a Record (a download) the transform must have none
		// either: it would record nothing.
		if p.record != nil {
			opts.Record = func(fp veil.Fingerprint) error {
				if p.adopted {
					return p.record(fp)
				}
				p.queued = append(p.queued, fp)
				return nil
			}
		}
	}
	opts.Classify, opts.Scratch = p.ring, p.scratch
	p.feed.held = &p.held
	p.vr = veil.NewReader(key, &p.feed, opts)
}

// Write holds b and feeds it to the classifier; once the verdict is
// decided nothing more is held.
func (p *Prefix) Write(b []byte) (int, error) {
	if p.Decided() {
		return 0, fmt.Errorf("direction: prefix written after the verdict")
	}
	if p.vr == nil {
		p.start()
	}
	written := len(b)
	p.held = append(p.held, b...)
	for len(b) > 0 && !p.Decided() {
		// The limit counts the bytes judged, not those held: a write
		// that reaches it is judged up to it, however large.
		n := min(len(b), p.limit-p.fed)
		if p.known != nil {
			n = min(n, ledgerStep)
		}
		p.fed += n
		p.feed.avail = p.fed
		p.judge(b[:n])
		b = b[n:]
		if fps := p.fingerprints(); p.known != nil && fps != nil {
			p.byLedger = p.known(fps)
			p.known = nil
		}
	}
	p.feed.avail = len(p.held) // for the transform, should it be gone on with
	return written, nil
}

// judge runs the transform over the input fed so far, b the last of it,
// until the verdict is final or the input runs out. Once the transform is
// interrupted, a classifier of its own judges the held bytes instead.
func (p *Prefix) judge(b []byte) {
	if p.cls != nil {
		p.cls.Write(b)
		return
	}
	if err := p.vr.Judge(); err != nil && !errors.Is(err, jpegbits.ErrInputPending) {
		panic("direction: a judging Reader failed: " + err.Error()) // Judge returns no other error
	}
	if p.vr.Interrupted() {
		p.cls = veil.NewClassifier(p.ring)
		p.cls.Write(p.held[:p.fed])
	}
}

// fingerprints are the primary image's fingerprints, once known.
func (p *Prefix) fingerprints() []veil.KeyFingerprint {
	if p.cls != nil {
		return p.cls.Fingerprints()
	}
	return p.vr.Fingerprints()
}

// judged reports whether the verdict is final.
func (p *Prefix) judged() bool {
	if p.cls != nil {
		return p.cls.Done()
	}
	return p.vr != nil && p.vr.Judged()
}

// Decided reports whether the verdict is final: the ledger knows the
// image, the classifier is done, the limit is reached, or Close was
// called.
func (p *Prefix) Decided() bool {
	return p.closed || p.byLedger || p.judged() || p.fed >= p.limit
}

// Verdict closes the prefix (the body ended, or it is decided) and returns
// the classifier's verdict.
func (p *Prefix) Verdict() veil.Verdict {
	if p.closed {
		return p.v
	}
	p.closed = true
	if p.vr == nil {
		p.start()
	}
	if p.byLedger {
		p.v = veil.Verdict{Class: veil.Unsure, Reason: "known to the ledger", Fingerprints: p.fingerprints()}
		return p.v
	}
	judged := p.judged()
	limited := !judged && p.fed >= p.limit
	if !judged && !limited {
		// The body ended before the verdict: judge all of it.
		p.cut = true
		p.feed.eof = true
		p.judge(nil)
	}
	if p.cls != nil {
		p.v = p.cls.Close()
	} else {
		p.v = p.vr.Verdict()
	}
	if limited && p.v.Class == veil.Unsure {
		p.v.Reason = fmt.Sprintf("the first scan starts after the first %d MiB, more than the proxy holds back", p.limit>>20)
	}
	return p.v
}

// Cut reports whether the body ended (Verdict was called) before the
// classifier was done or the limit reached.
func (p *Prefix) Cut() bool { return p.cut }

// Bytes returns the bytes held.
func (p *Prefix) Bytes() []byte { return p.held }

// Fill reads r into the prefix until it is decided or r ends (eof). An
// error other than io.EOF is r's.
func (p *Prefix) Fill(r io.Reader) (eof bool, err error) {
	buf := make([]byte, 32<<10)
	for !p.Decided() {
		n, err := r.Read(buf[:min(len(buf), p.limit-len(p.held))])
		p.Write(buf[:n])
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
	return false, nil
}

// Replay returns a reader of the whole body: the prefix, then rest (nil
// when the body ended within the prefix).
func (p *Prefix) Replay(rest io.Reader) io.Reader {
	if rest == nil {
		return bytes.NewReader(p.held)
	}
	return io.MultiReader(bytes.NewReader(p.held), rest)
}

// Reader returns the transform of the body as dec says, with opts: whole
// is the whole body (Replay's, through whatever the caller tees it into).
// When dec is the decision the prefix speculated on, it is the transform
// that has run along with the classifier: the ledger records it queued are
// made first (if one fails, a new transform meets the failure instead),
// its output so far is handed out first, and it reads on from whole past
// the bytes the prefix held, which are read through and dropped. Otherwise
// it is a new transform of whole.
func (p *Prefix) Reader(dec Decision, opts veil.Options, whole io.Reader) *veil.Reader {
	if p.adoptable(dec) && p.flush() == nil {
		p.feed.src, p.feed.skip = whole, int64(len(p.held))
		return p.vr
	}
	p.vr = nil
	return veil.NewReader(dec.Key, whole, opts)
}

// adoptable reports whether the speculative transform is the one dec calls
// for.
func (p *Prefix) adoptable(dec Decision) bool {
	s := p.spec
	// A transform that met the end of the held bytes reads no more, so
	// the caller's whole body would never be read through its tees: a
	// new transform reads it.
	return s != nil && p.vr != nil && p.cls == nil && !p.feed.ended && !p.byLedger && dec.Way == s.Way && dec.Transform && !dec.Known && dec.Key.ID() == s.Key.ID()
}

// flush makes the ledger records the speculative transform asked for, in
// order, and lets it make the next ones itself.
func (p *Prefix) flush() error {
	for len(p.queued) > 0 {
		// Records are queued only when the options have a Record.
		if err := p.record(p.queued[0]); err != nil {
			return err
		}
		p.queued = p.queued[1:]
	}
	p.adopted = true
	return nil
}

// specFeed is the speculative transform's source: the first avail of the
// bytes the prefix holds, then, once adopted, src past its first skip
// bytes.
type specFeed struct {
	held       *[]byte
	off, avail int
	eof        bool
	src        io.Reader
	skip       int64
	// ended is set once the end of the held bytes was read.
	ended bool
}

func (f *specFeed) Read(b []byte) (int, error) {
	if f.off < f.avail {
		n := copy(b, (*f.held)[f.off:f.avail])
		f.off += n
		return n, nil
	}
	if f.src == nil {
		if f.eof {
			f.ended = true
			return 0, io.EOF
		}
		return 0, jpegbits.ErrInputPending
	}
	for f.skip > 0 {
		n, err := f.src.Read(b[:min(int64(len(b)), f.skip)])
		f.skip -= int64(n)
		if err != nil {
			if err == io.EOF && f.skip > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
	return f.src.Read(b)
}
