package veil

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

// Class is a direction classifier's verdict on a file (FORMAT.md §34).
type Class uint8

const (
	// Unsure: the prefix does not tell (too small, too flat, noise, or the
	// ciphertext of a key not in the keyring).
	Unsure Class = iota
	// Plaintext: the file as it is is the natural image under every key.
	Plaintext
	// Ciphertext: the file decrypted with Verdict.Key is the natural image.
	Ciphertext
)

func (c Class) String() string {
	switch c {
	case Plaintext:
		return "plaintext"
	case Ciphertext:
		return "ciphertext"
	}
	return "unsure"
}

// Classifier thresholds (FORMAT.md §34.3).
const (
	// MaxClassifyScanBytes is the most entropy-coded data of the first scan
	// the classifier reads.
	MaxClassifyScanBytes = 64 << 10
	// ClassifyLookahead bounds how far past the last chunk it uses the
	// classifier reads before it is done: the transformer labels a chunk
	// only once it has parsed some data beyond it. A streaming caller holds
	// back at most the bytes before the first scan's data plus
	// MaxClassifyScanBytes + ClassifyLookahead.
	ClassifyLookahead = 16 << 10
	// MaxClassifyBlocks is the most blocks, in coding order, the
	// statistic reads (a progressive file's first DC scan holds them all).
	MaxClassifyBlocks = 8192
	// ClassifyThreshold is the margin, in bits of mean log roughness, a
	// verdict needs.
	ClassifyThreshold = 1.5
	// ClassifyMaxAnisotropy is the most vertical roughness, above the
	// horizontal one, that the image a verdict calls natural may have.
	ClassifyMaxAnisotropy = 2.5
	// ClassifyMinZ is the z score a verdict's margin needs.
	ClassifyMinZ = 6.0
	// ClassifyMinRows is the fewest block rows, with encrypted DC bits, the
	// z score of a verdict must be over.
	ClassifyMinRows = 10
	// ClassifyMinPairs is the fewest vertical block pairs a verdict needs.
	ClassifyMinPairs = 48
)

// classifyCheckpoints are the amounts of scan data, in complete chunks, at
// which the classifier evaluates before the first scan ends.
var classifyCheckpoints = [...]int{1, 2, 4, 6, 8, 11, 16}

// Verdict is the classifier's answer.
type Verdict struct {
	Class Class
	// Key is the key whose ciphertext the file is (Class Ciphertext).
	Key *keystream.Key
	// Margin is the evidence in bits: for Ciphertext the margin of Key, for
	// Plaintext the smallest margin against any key (as a positive
	// number), for Unsure the margin closest to a verdict.
	Margin float64
	// Margins are the per-key margins, in keyring order: positive says
	// ciphertext of that key, negative plaintext.
	Margins []KeyMargin
	// Pairs is the number of vertical block pairs the statistic used;
	// ScanBytes the entropy-coded bytes it read.
	Pairs     int
	ScanBytes int
	AnisoX    float64
	// Reason says, for Unsure, why.
	Reason string
	// Fingerprints are the primary image's fingerprints under every key,
	// when the file reached its first chunk (classify_fp.go).
	Fingerprints []KeyFingerprint
}

// KeyMargin is the margin of one key of the keyring.
type KeyMargin struct {
	KeyID string
	// Margin is the smoothness gained by decrypting with the key, in bits
	// (FORMAT.md §34.2); Z its z score over block rows.
	Margin, Z float64
	// Rows is the number of block rows the z score is over.
	Rows int
	// Aniso is the anisotropy of the decrypted image.
	Aniso float64
}

func (v Verdict) String() string {
	s := v.Class.String()
	if v.Class == Ciphertext {
		s += " (key " + v.Key.ID() + ")"
	}
	s += ", margin " + strconv.FormatFloat(v.Margin, 'f', 2, 64) + " bits"
	if v.Reason != "" {
		s += " (" + v.Reason + ")"
	}
	return s
}

// A Classifier decides, from a bounded prefix of a JPEG file, whether it is
// a plaintext, the ciphertext of one of the keyring's keys, or unsure
// (FORMAT.md §34). It is fed the file in order with Write, holds at most
// the first scan's first MaxClassifyScanBytes and the marker segments
// before it (APPn payloads pass through without being kept), and is done
// as soon as it has read enough: from then on Write accepts and ignores
// everything. A proxy tees a streaming body into it and waits for Done
// before it forwards the first byte of the first scan.
type Classifier struct {
	ring   *keystream.Keyring
	passes []*classifyPass
	// rider is the pass, one of passes, that rides along with a Reader's
	// primary image, or nil; interrupted says its image's transform
	// stopped parsing for a reason of its own before the verdict was
	// final.
	rider       *classifyPass
	interrupted bool
	done        bool
	scratch     []byte // the transformers' output, discarded
	// checked counts the checkpoints passed.
	checked int
	v       Verdict
	err     error
	fps     []KeyFingerprint // Fingerprints, once known
}

// NewClassifier returns a Classifier for the keys of ring.
func NewClassifier(ring *keystream.Keyring) *Classifier {
	return newClassifier(ring, nil, nil, nil)
}

// newClassifier returns a Classifier for the keys of ring. With a rider
// key, the keys of its masking mode are judged from the image t
// transforms with it (a Reader's primary image, which tells the rider
// pass its segments and chunks: ride), and the rider key's keystream is
// the image's own; the keys of other modes have passes of their own,
// fed with Write. The rider pass borrows its buffers from scratch.
func newClassifier(ring *keystream.Keyring, rider *keystream.Key, t *jpegbits.Transformer, scratch *Scratch) *Classifier {
	c := &Classifier{ring: ring}
	byMode := map[keystream.Mode][]*keystream.Key{}
	var modes []keystream.Mode
	if rider != nil {
		modes = append(modes, rider.Mode())
		byMode[rider.Mode()] = nil
	}
	for _, k := range ring.Keys() {
		if _, ok := byMode[k.Mode()]; !ok {
			modes = append(modes, k.Mode())
		}
		byMode[k.Mode()] = append(byMode[k.Mode()], k)
	}
	for _, m := range modes {
		if rider != nil && m == rider.Mode() {
			c.rider = &classifyPass{judge: newJudge(t, byMode[m], rider.ID(), scratch)}
			c.passes = append(c.passes, c.rider)
			continue
		}
		c.passes = append(c.passes, newClassifyPass(byMode[m]))
	}
	return c
}

// Write feeds the next bytes of the file. It never fails: a file the
// classifier cannot read makes it done with an Unsure verdict (and Err).
func (c *Classifier) Write(b []byte) (int, error) {
	if c.done {
		return len(b), nil
	}
	for _, p := range c.passes {
		if p.feed != nil {
			p.feed.buf = append(p.feed.buf, b...)
		}
	}
	c.run()
	return len(b), nil
}

// Close tells the classifier the file has ended, and returns the verdict.
func (c *Classifier) Close() Verdict {
	if !c.done {
		for _, p := range c.passes {
			if p.feed != nil {
				p.feed.eof = true
			} else {
				p.ended = true
			}
		}
		c.run()
		if !c.done {
			c.finish()
		}
	}
	return c.v
}

// rideSegment and rideChunk tell the rider pass what its image's
// transformer tells the image (own is the image's keystream for the
// chunk), and evaluate at once at every checkpoint the passes reached.
func (c *Classifier) rideSegment(seg []byte) {
	if !c.done && !c.rider.full() {
		c.rider.segment(seg)
		if c.rider.full() {
			c.run() // the first scan ended
		}
	}
}

// rideSkipped tells the rider pass that its image passes unchanged from
// its first chunk, ch, on: it is no longer parsed. The verdict is made on
// what was read, with the fingerprints (the ledger may know the image).
func (c *Classifier) rideSkipped(ch jpegbits.Chunk, fp *Fingerprint) {
	if !c.done && !c.rider.firstSeen && c.rider.sos {
		c.rider.keepFirst(ch.Data)
		c.rider.fusedFP = fp
	}
	c.rideInterrupted()
}

// rideInterrupted tells the rider pass that its image's transform stopped
// parsing before the verdict was final for a reason of its own (it passes
// the image, or met an error of its caller's or metadata it cannot
// handle): a verdict made now may not be the classifier's over the file
// (Reader.Interrupted).
func (c *Classifier) rideInterrupted() {
	if !c.done {
		c.interrupted = true
	}
	c.rideStop()
}

// rideStop tells the rider pass that its image is no longer parsed: the
// verdict is made on what was read.
func (c *Classifier) rideStop() {
	if !c.done {
		c.rider.ended = true
		c.run()
	}
}

func (c *Classifier) rideChunk(ch jpegbits.Chunk, own []byte, fp *Fingerprint) {
	if !c.done {
		c.rider.fusedFP = fp
		c.rider.chunk(ch, own)
		c.run()
	}
}

// Done reports whether the verdict is final: more input cannot change it.
func (c *Classifier) Done() bool { return c.done }

// Verdict returns the verdict; it is final once Done reports true or Close
// was called.
func (c *Classifier) Verdict() Verdict { return c.v }

// Err returns why the file could not be classified (a parse error of its
// headers or of the scan prefix), or nil.
func (c *Classifier) Err() error { return c.err }

// Classify reads r until the classifier is done (at most the marker
// segments, the first scan's first MaxClassifyScanBytes and a few KiB of
// lookahead) and returns the verdict. An I/O error of r is returned as it
// is.
func Classify(ring *keystream.Keyring, r io.Reader) (Verdict, error) {
	c := NewClassifier(ring)
	buf := make([]byte, 32<<10)
	for !c.Done() {
		n, err := r.Read(buf)
		c.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return Verdict{Reason: "read error"}, err
		}
	}
	return c.Close(), nil
}

// ClassifyBytes is Classify on a byte slice.
func ClassifyBytes(ring *keystream.Keyring, b []byte) Verdict {
	v, _ := Classify(ring, bytes.NewReader(b))
	return v
}

// run drives every pass as far as its input goes, then evaluates at every
// checkpoint that all passes have reached, in order, so the verdict does
// not depend on how the input was cut into writes.
func (c *Classifier) run() {
	for !c.done {
		target := MaxClassifyScanBytes // chunks: never reached before full()
		if c.checked < len(classifyCheckpoints) {
			target = classifyCheckpoints[c.checked]
		}
		for _, p := range c.passes {
			c.advance(p, target)
		}
		if c.checked < len(classifyCheckpoints) {
			ready, all := true, true
			for _, p := range c.passes {
				ready = ready && (p.chunks() >= target || p.ended || p.full())
				all = all && p.chunks() >= target
			}
			if !ready {
				return
			}
			c.checked++
			if all {
				if v := c.evaluate(target); v.Class != Unsure {
					c.v, c.done = v, true
					c.release()
				}
			}
			continue
		}
		final := true
		for _, p := range c.passes {
			final = final && (p.ended || p.full())
		}
		if final {
			c.finish()
		}
		return
	}
}

// advance runs a pass's transformer over the input it has, until its probe
// holds the given number of chunks, is full, or the input runs out.
func (c *Classifier) advance(p *classifyPass, chunks int) {
	if p == c.rider {
		return // its image's Reader drives it
	}
	if c.scratch == nil {
		c.scratch = make([]byte, 32<<10)
	}
	for !p.ended && !p.full() && p.chunks() < chunks {
		_, err := p.t.Read(c.scratch)
		if err == nil {
			continue
		}
		if !errors.Is(err, jpegbits.ErrInputPending) {
			p.ended = true
			if err != io.EOF {
				p.err = err
			}
		}
		return
	}
}

func (c *Classifier) finish() {
	c.v, c.done = c.evaluate(-1), true
	c.release()
}

// release drops the buffers once the verdict is final.
func (c *Classifier) release() {
	if c.fps != nil {
		// Fingerprints has computed them already, from the same first
		// chunks.
		c.v.Fingerprints = append(c.v.Fingerprints, c.fps...)
	} else {
		for _, p := range c.passes {
			c.v.Fingerprints = append(c.v.Fingerprints, p.fingerprints()...)
		}
	}
	for _, p := range c.passes {
		p.release()
		if p.feed != nil {
			p.feed.buf = nil
		}
	}
}

// evaluate computes the statistic over the first chunks of the scan that the
// passes captured (all of them when chunks < 0), and decides (FORMAT.md
// §34.3).
func (c *Classifier) evaluate(chunks int) Verdict {
	var v Verdict
	if c.measure(chunks, &v) {
		c.decide(&v)
	}
	return v
}

// measure computes the statistic of the file as it is and each key's
// margin over the first chunks of scan data (all of them when chunks is
// negative). It reports false, with v.Reason set, when there is not yet
// enough to compare.
func (c *Classifier) measure(chunks int, v *Verdict) bool {
	var anisoX float64
	for _, p := range c.passes {
		if !p.sos {
			v.Reason = "no scan"
			if p.err != nil {
				c.err = p.err
			}
			return false
		}
		if p.scanErr != nil {
			c.err = p.scanErr
			v.Reason = "no DC scan"
			return false
		}
		scan, elems := p.scan, elemsWithin(p.t.DCElements(), p.usable(chunks))
		v.ScanBytes = p.fileBytes(chunks)
		if chunks >= 0 && boundaryRows(scan, elems) < ClassifyMinRows {
			// No key can reach ClassifyMinRows yet: read on.
			v.Reason = "too few block rows"
			return false
		}
		p.stat.add(scan, elems, p.xors, p.scratch)
		x := p.stat.stats(0)
		v.Pairs, anisoX = x.pairs, x.aniso()
		if x.rowsWithPairs() < ClassifyMinRows {
			// No key can reach ClassifyMinRows: skip the keys' statistics.
			v.Reason = "too few block rows"
			return false
		}
		for i, k := range p.keys {
			y := p.stat.stats(1 + i)
			m, z, rows := x.compare(&y)
			v.Margins = append(v.Margins, KeyMargin{KeyID: k.ID(), Margin: m, Z: z, Rows: rows, Aniso: y.aniso()})
		}
	}
	v.AnisoX = anisoX
	return true
}

// decide turns the margins into a verdict (FORMAT.md §34.3).
func (c *Classifier) decide(v *Verdict) {
	decided := func(km KeyMargin, sign float64) bool {
		return sign*km.Margin >= ClassifyThreshold && sign*km.Z >= ClassifyMinZ && km.Rows >= ClassifyMinRows
	}
	var fits []KeyMargin
	plain := true
	v.Margin = math.Inf(1)
	for _, km := range v.Margins {
		if decided(km, 1) && km.Aniso <= ClassifyMaxAnisotropy {
			fits = append(fits, km)
		}
		plain = plain && decided(km, -1)
		v.Margin = min(v.Margin, -km.Margin)
	}
	switch {
	case v.Pairs < ClassifyMinPairs:
		v.Reason = "too few block pairs"
	case len(fits) == 1:
		v.Class, v.Key, v.Margin = Ciphertext, c.ring.Lookup(fits[0].KeyID), fits[0].Margin
		return
	case len(fits) > 1:
		v.Reason = "several keys fit"
	case plain && v.AnisoX <= ClassifyMaxAnisotropy:
		v.Class = Plaintext
		return
	case plain:
		v.Reason = "not isotropic"
	default:
		v.Reason = "evidence below threshold"
	}
	// Unsure: report the margin closest to a verdict, with its sign.
	for _, km := range v.Margins {
		if km.Margin > -v.Margin {
			v.Margin = -km.Margin
		}
	}
	v.Margin = -v.Margin
	if len(v.Margins) == 0 {
		v.Margin = 0
	}
}
