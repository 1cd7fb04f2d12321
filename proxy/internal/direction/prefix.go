package direction

import (
	"bytes"
	"fmt"
	"io"

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
// It is not safe for concurrent use.
type Prefix struct {
	c      *veil.Classifier
	held   []byte
	limit  int
	closed bool
	cut    bool
	v      veil.Verdict
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
// holds at most limit bytes (MaxHeld when limit ≤ 0).
func NewPrefix(ring *keystream.Keyring, limit int) *Prefix {
	if limit <= 0 {
		limit = MaxHeld
	}
	return &Prefix{c: veil.NewClassifier(ring), limit: limit}
}

// Write holds b and feeds it to the classifier; once the verdict is
// decided nothing more is held.
func (p *Prefix) Write(b []byte) (int, error) {
	if p.Decided() {
		return 0, fmt.Errorf("direction: prefix written after the verdict")
	}
	written := len(b)
	p.held = append(p.held, b...)
	for len(b) > 0 && p.known != nil && !p.Decided() {
		n := min(len(b), ledgerStep)
		p.c.Write(b[:n])
		b = b[n:]
		if fps := p.c.Fingerprints(); fps != nil {
			p.byLedger = p.known(fps)
			p.known = nil
		}
	}
	if len(b) > 0 && !p.Decided() {
		p.c.Write(b)
	}
	return written, nil
}

// Decided reports whether the verdict is final: the ledger knows the
// image, the classifier is done, the limit is reached, or Close was
// called.
func (p *Prefix) Decided() bool {
	return p.closed || p.byLedger || p.c.Done() || len(p.held) >= p.limit
}

// Verdict closes the prefix (the body ended, or it is decided) and returns
// the classifier's verdict.
func (p *Prefix) Verdict() veil.Verdict {
	if !p.closed && p.byLedger {
		p.closed = true
		p.v = veil.Verdict{Class: veil.Unsure, Reason: "known to the ledger", Fingerprints: p.c.Fingerprints()}
	}
	if !p.closed {
		p.closed = true
		limited := !p.c.Done() && len(p.held) >= p.limit
		p.cut = !p.c.Done() && !limited
		p.v = p.c.Close()
		if limited && p.v.Class == veil.Unsure {
			p.v.Reason = fmt.Sprintf("the first scan starts after the first %d MiB, more than the proxy holds back", p.limit>>20)
		}
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
