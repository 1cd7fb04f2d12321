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
	ring    *keystream.Keyring
	passes  []*classifyPass
	done    bool
	scratch []byte // the transformers' output, discarded
	// checked counts the checkpoints passed.
	checked int
	v       Verdict
	err     error
}

// NewClassifier returns a Classifier for the keys of ring.
func NewClassifier(ring *keystream.Keyring) *Classifier {
	c := &Classifier{ring: ring}
	byMode := map[keystream.Mode]*classifyPass{}
	for _, k := range ring.Keys() {
		p := byMode[k.Mode()]
		if p == nil {
			p = &classifyPass{feed: &feed{}}
			byMode[k.Mode()] = p
			c.passes = append(c.passes, p)
			p.t = jpegbits.NewReader(p.feed, jpegbits.Options{Mode: Mode(k), Keystream: &p.probe, StopAtError: true})
		}
		p.keys = append(p.keys, k)
		p.probe.chains = append(p.probe.chains, k.NewChain("image"))
		p.probe.xors = append(p.probe.xors, nil)
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
		p.feed.buf = append(p.feed.buf, b...)
	}
	c.run()
	return len(b), nil
}

// Close tells the classifier the file has ended, and returns the verdict.
func (c *Classifier) Close() Verdict {
	if !c.done {
		for _, p := range c.passes {
			p.feed.eof = true
		}
		c.run()
		if !c.done {
			c.finish()
		}
	}
	return c.v
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
	if c.scratch == nil {
		c.scratch = make([]byte, 32<<10)
	}
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
				ready = ready && (p.probe.chunks() >= target || p.ended || p.probe.full())
				all = all && p.probe.chunks() >= target
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
			final = final && (p.ended || p.probe.full())
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
	for !p.ended && !p.probe.full() && p.probe.chunks() < chunks {
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
	for _, p := range c.passes {
		c.v.Fingerprints = append(c.v.Fingerprints, p.fingerprints()...)
	}
	for _, p := range c.passes {
		p.probe = probe{}
		p.feed.buf = nil
		p.t = nil
	}
}

// evaluate computes the statistic over the first chunks of the scan that the
// passes captured (all of them when chunks < 0), and decides (FORMAT.md
// §34.3).
func (c *Classifier) evaluate(chunks int) Verdict {
	var v Verdict
	var anisoX float64
	for _, p := range c.passes {
		pr := &p.probe
		if !pr.sos {
			v.Reason = "no scan"
			if p.err != nil {
				c.err = p.err
			}
			return v
		}
		n := pr.usable(chunks)
		if pr.scan == nil && pr.scanErr == nil {
			pr.scan, pr.scanErr = jpegbits.NewDCScan(pr.segs, MaxClassifyBlocks)
		}
		if pr.scanErr != nil {
			c.err = pr.scanErr
			v.Reason = "no DC scan"
			return v
		}
		scan := pr.scan
		scan.Extend(pr.ecs[:n])
		v.ScanBytes = n
		if chunks >= 0 && boundaryRows(scan) < ClassifyMinRows {
			// No key can reach ClassifyMinRows yet: read on.
			v.Reason = "too few block rows"
			return v
		}
		x := dcStatistic(scan, nil)
		v.Pairs, anisoX = x.pairs, x.aniso()
		if x.rowsWithPairs() < ClassifyMinRows {
			// No key can reach ClassifyMinRows: skip the keys' statistics.
			v.Reason = "too few block rows"
			return v
		}
		for i, k := range p.keys {
			y := dcStatistic(scan, pr.xors[i][:n])
			m, z, rows := x.compare(&y)
			v.Margins = append(v.Margins, KeyMargin{KeyID: k.ID(), Margin: m, Z: z, Rows: rows, Aniso: y.aniso()})
		}
	}
	v.AnisoX = anisoX
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
		return v
	case len(fits) > 1:
		v.Reason = "several keys fit"
	case plain && anisoX <= ClassifyMaxAnisotropy:
		v.Class = Plaintext
		return v
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
	return v
}

// dcStats is the statistic of one hypothesis (FORMAT.md §34.2).
type dcStats struct {
	v, h  float64 // mean log2(1+|Δ|) over vertical, horizontal neighbours
	pairs int     // vertical pairs
	// rowSum and rowN are the sums of log2(1+|Δ|) over the vertical pairs
	// of each block row of each component, and their counts.
	rowSum []float64
	rowN   []int
}

// boundaryRows bounds rowsWithPairs from the blocks decoded: a component
// whose last decoded block is in row y has at most y/RowsPerMCU rows of
// boundary pairs. The blocks of an MCU hold every component, so the last
// few blocks show each component's last row.
func boundaryRows(s *jpegbits.DCScan) int {
	last := make([]int32, len(s.Components))
	for i := len(s.Blocks) - 1; i >= 0 && i >= len(s.Blocks)-16; i-- {
		b := &s.Blocks[i]
		last[b.Component] = max(last[b.Component], b.Y)
	}
	n := 0
	for i, c := range s.Components {
		n += int(last[i]) / c.RowsPerMCU
	}
	return n
}

// rowsWithPairs counts the block rows that hold boundary pairs.
func (d *dcStats) rowsWithPairs() int {
	n := 0
	for _, c := range d.rowN {
		if c > 0 {
			n++
		}
	}
	return n
}

// aniso is the vertical roughness above the horizontal one.
func (d *dcStats) aniso() float64 { return d.v - d.h }

// compare returns the margin of hypothesis y against x (positive: y is the
// smoother) and its z score, the mean of the per-row margins over their
// standard error.
func (d *dcStats) compare(y *dcStats) (margin, z float64, rows int) {
	margin = d.v - y.v
	var diffs []float64
	for i, n := range d.rowN {
		// A row where both hypotheses agree holds no encrypted DC bits:
		// it is no evidence either way, and counting it would shrink the
		// spread of the rows that are.
		if n > 0 && d.rowSum[i] != y.rowSum[i] {
			diffs = append(diffs, (d.rowSum[i]-y.rowSum[i])/float64(n))
		}
	}
	rows = len(diffs)
	g := float64(rows)
	if g < 2 {
		return margin, 0, rows
	}
	var mean, ss float64
	for _, x := range diffs {
		mean += x
	}
	mean /= g
	for _, x := range diffs {
		ss += (x - mean) * (x - mean)
	}
	se := math.Sqrt(ss/(g-1)) / math.Sqrt(g)
	if se == 0 {
		if mean == 0 {
			return margin, 0, rows
		}
		return margin, math.Copysign(math.Inf(1), mean), rows
	}
	return margin, mean / se, rows
}

// dcStatistic computes the statistic for the scan's data with xor applied.
func dcStatistic(s *jpegbits.DCScan, xor []byte) dcStats {
	// Only the rows the prefix reaches are kept.
	height := make([]int, len(s.Components))
	for i := range s.Blocks {
		b := &s.Blocks[i]
		height[b.Component] = max(height[b.Component], int(b.Y)+1)
	}
	grids := make([][]int32, len(s.Components))
	known := make([][]bool, len(s.Components))
	rows := 0
	for i, c := range s.Components {
		grids[i] = make([]int32, c.Width*height[i])
		known[i] = make([]bool, c.Width*height[i])
		rows += height[i]
	}
	pred := make([]int32, len(s.Components))
	for i := range s.Blocks {
		b := &s.Blocks[i]
		if b.Reset {
			clear(pred)
		}
		d, ok := s.Diff(b, xor)
		if !ok {
			break
		}
		pred[b.Component] += d
		w := s.Components[b.Component].Width
		j := int(b.Y)*w + int(b.X)
		grids[b.Component][j] = pred[b.Component]
		known[b.Component][j] = true
	}
	st := dcStats{rowSum: make([]float64, rows), rowN: make([]int, rows)}
	var sv, sh float64
	var nh int
	row := 0
	for ci, c := range s.Components {
		g, k, w := grids[ci], known[ci], c.Width
		for y := range height[ci] {
			// Vertical pairs across an MCU row boundary: there the
			// ciphertext's DC walk has run through a whole row of MCUs.
			boundary := y > 0 && y%c.RowsPerMCU == 0
			for x, j := 0, y*w; x < w; x, j = x+1, j+1 {
				if !k[j] {
					continue
				}
				if boundary && k[j-w] {
					l := log2Abs(g[j] - g[j-w])
					sv += l
					st.pairs++
					st.rowSum[row+y] += l
					st.rowN[row+y]++
				}
				if x > 0 && k[j-1] {
					sh += log2Abs(g[j] - g[j-1])
					nh++
				}
			}
		}
		row += height[ci]
	}
	if st.pairs > 0 {
		st.v = sv / float64(st.pairs)
	}
	if nh > 0 {
		st.h = sh / float64(nh)
	}
	return st
}

func log2Abs(d int32) float64 {
	if d < 0 {
		d = -d
	}
	if int(d) < len(log2Table) {
		return log2Table[d]
	}
	return math.Log2(1 + float64(d))
}

// log2Table[d] is log2(1 + d), for the DC differences of 8-bit images
// (at most 2040 in quantised units); it is read-only.
var log2Table = func() (t [2048]float64) {
	for d := range t {
		t[d] = math.Log2(1 + float64(d))
	}
	return t
}()

// classifyPass runs one transformer over the input for the keys of one
// masking mode.
type classifyPass struct {
	keys  []*keystream.Key
	feed  *feed
	t     *jpegbits.Transformer
	probe probe
	ended bool
	err   error
}

// feed is the transformer's source: what Write appended, then
// ErrInputPending until Close.
type feed struct {
	buf []byte
	eof bool
}

func (f *feed) Read(p []byte) (int, error) {
	if len(f.buf) == 0 {
		if f.eof {
			return 0, io.EOF
		}
		return 0, jpegbits.ErrInputPending
	}
	// Hand out a chunk's worth at a time, so the transformer parses little
	// beyond the checkpoint it is run to.
	n := copy(p[:min(len(p), jpegbits.ChunkSize)], f.buf)
	f.buf = f.buf[n:]
	if len(f.buf) == 0 {
		f.buf = nil
	}
	return n, nil
}

// probe is the jpegbits.Keystream of a pass: it keeps the segments up to
// the first SOS and the first scan's chunks, and computes every key's
// keystream for them, exactly as an image's chain would (FORMAT.md §17),
// without changing the data.
type probe struct {
	chains []*keystream.Chain
	segs   [][]byte
	sos    bool // the first SOS was seen
	after  bool // a segment after the first scan was seen
	ecs    []byte
	xors   [][]byte // per key: keystream & mask over ecs
	ends   []int    // end of each chunk in ecs
	ks     []byte
	// scan decodes ecs as it grows (scanErr: the headers it could not).
	scan    *jpegbits.DCScan
	scanErr error
}

func (p *probe) full() bool {
	return p.after || len(p.ecs) >= MaxClassifyScanBytes
}

func (p *probe) chunks() int { return len(p.ends) }

// usable is how many ECS bytes the first n chunks hold (all when n < 0).
func (p *probe) usable(n int) int {
	if n < 0 || n > len(p.ends) {
		n = len(p.ends)
	}
	if n == 0 {
		return 0
	}
	return p.ends[n-1]
}

func (p *probe) Segment(seg []byte) {
	if p.after || isMetadata(seg[1]) {
		return
	}
	if p.sos {
		p.after = true
		return
	}
	for _, ch := range p.chains {
		ch.AbsorbSegment(seg)
	}
	p.segs = append(p.segs, bytes.Clone(seg))
	p.sos = seg[1] == 0xDA
}

func (p *probe) Chunk(c jpegbits.Chunk, dst []byte) {
	clear(dst)
	if p.full() {
		return
	}
	if cap(p.ks) < len(c.Data) {
		p.ks = make([]byte, jpegbits.ChunkSize)
	}
	ks := p.ks[:len(c.Data)]
	if p.ecs == nil {
		// The most the probe keeps, allocated once.
		p.ecs = make([]byte, 0, MaxClassifyScanBytes)
		for i := range p.xors {
			p.xors[i] = make([]byte, 0, MaxClassifyScanBytes)
		}
	}
	for i, ch := range p.chains {
		ch.ChunkKeystream(c.Skeleton, ks)
		x := p.xors[i]
		for j := range ks {
			x = append(x, ks[j]&c.Mask[j])
		}
		p.xors[i] = x
	}
	p.ecs = append(p.ecs, c.Data...)
	p.ends = append(p.ends, len(p.ecs))
}
