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
}

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
	p.held = append(p.held, b...)
	p.c.Write(b)
	return len(b), nil
}

// Decided reports whether the verdict is final: the classifier is done,
// the limit is reached, or Close was called.
func (p *Prefix) Decided() bool { return p.closed || p.c.Done() || len(p.held) >= p.limit }

// Verdict closes the prefix (the body ended, or it is decided) and returns
// the classifier's verdict.
func (p *Prefix) Verdict() veil.Verdict {
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
