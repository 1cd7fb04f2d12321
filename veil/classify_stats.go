package veil

import (
	"encoding/binary"
	"math"
	"sort"

	"jpegveil/jpegbits"
)

// dcStats is the statistic of one hypothesis (FORMAT.md §34.2).
type dcStats struct {
	v, h  float64 // mean log2(1+|Δ|) over vertical, horizontal neighbours
	pairs int     // vertical pairs
	// rows are the sums of log2(1+|Δ|) over the vertical pairs of each
	// block row of each component, and their counts: the hypothesis's
	// own, not a copy (the hypotheses' rows grow together).
	rows [][]dcRow
}

// elemsWithin returns the elements that end within the first limit data
// bytes.
func elemsWithin(elems []jpegbits.DCElement, limit int64) []jpegbits.DCElement {
	n := sort.Search(len(elems), func(i int) bool { return int64(elems[i].End) > limit*8 })
	return elems[:n]
}

// boundaryRows bounds rowsWithPairs from the blocks of elems: a component
// whose last block is in row y has at most y/RowsPerMCU rows of boundary
// pairs. The blocks of an MCU hold every component, so the last few
// blocks show each component's last row.
func boundaryRows(s *jpegbits.DCScan, elems []jpegbits.DCElement) int {
	last := make([]int32, len(s.Components))
	for i := len(elems) - 1; i >= 0 && i >= len(elems)-16; i-- {
		b := s.BlockAt(i, elems[i])
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
	for _, rows := range d.rows {
		for _, r := range rows {
			if r.n > 0 {
				n++
			}
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
	// diffs calls fn with the per-row margins, in order. A row where both
	// hypotheses agree holds no encrypted DC bits: it is no evidence
	// either way, and counting it would shrink the spread of the rows
	// that are.
	diffs := func(fn func(float64)) {
		for ci, dr := range d.rows {
			yr := y.rows[ci]
			for i, r := range dr {
				if r.n > 0 && r.sum != yr[i].sum {
					fn((r.sum - yr[i].sum) / float64(r.n))
				}
			}
		}
	}
	var mean, ss float64
	diffs(func(x float64) { mean += x; rows++ })
	g := float64(rows)
	if g < 2 {
		return margin, 0, rows
	}
	mean /= g
	diffs(func(x float64) { ss += (x - mean) * (x - mean) })
	se := math.Sqrt(ss/(g-1)) / math.Sqrt(g)
	if se == 0 {
		if mean == 0 {
			return margin, 0, rows
		}
		return margin, math.Copysign(math.Inf(1), mean), rows
	}
	return margin, mean / se, rows
}

// dcAccum accumulates the statistic of several hypotheses (the data as it
// is, and decrypted with each key) over the blocks of a scan in coding
// order (FORMAT.md §34.2), as the prefix grows: each pair is counted when
// its later block in coding order is added. The prefix starts at the
// scan's first block, and a block's upper neighbour across an MCU row
// boundary and its left neighbour always come before it in coding order
// (T.81 A.2), so both are known whenever they exist. Within a block row
// the pairs are added left to right, as a whole-image pass would add
// them, so two hypotheses that agree on a row have equal sums for it.
type dcAccum struct {
	next  int // the next block of the scan to add
	cur   jpegbits.DCCursor
	batch []jpegbits.DCBlock
	hyps  []dcHyp
	comps []dcGrid
	// rings and rows are the storage init laid out for the hypotheses.
	rings []int32
	rows  []dcRow
}

// dcGrid is how one component's DC values are kept: only the block rows
// of the current MCU row and the last one of the MCU row before it are
// ever read (a block's left neighbour, and its upper neighbour across an
// MCU row boundary), so each hypothesis keeps a ring of rows, a power of
// two of them, at off + (Y & rowMask) × width + X of its ring.
type dcGrid struct {
	off, width, rowMask int32
}

// dcHyp is the running statistic of one hypothesis.
type dcHyp struct {
	xor  []byte // nil: the data as it is
	pred [maxScanComponents]int32
	// ring holds the DC values of every component's recent block rows
	// (dcGrid).
	ring  []int32
	sv    float64
	sh    float64
	pairs int
	nh    int
	// rows are, per component and block row, the sum of the vertical
	// pairs' logs and their count.
	rows [maxScanComponents][]dcRow
}

type dcRow struct {
	sum float64
	n   int
}

// maxScanComponents is the most components a scan holds (T.81 B.2.3).
const maxScanComponents = 4

// add adds the blocks of elems, the DC elements of s that end within the
// first limit data bytes, not added before, for the data as it is
// (hypothesis 0) and with each of xors applied (hypothesis 1+i). xors
// must cover limit bytes.
func (a *dcAccum) add(s *jpegbits.DCScan, elems []jpegbits.DCElement, xors [][]byte, scratch *Scratch) {
	if a.hyps == nil {
		a.init(s, len(xors), scratch)
	}
	for i, x := range xors {
		a.hyps[1+i].xor = x
	}
	data := s.Data()
	for a.next < len(elems) {
		// Blocks a batch at a time: the cursor's loop stays tight, and
		// no block list of the whole prefix is kept.
		batch := elems[a.next:min(len(elems), a.next+cap(a.batch))]
		a.batch = a.cur.Append(a.batch[:0], batch)
		a.next += len(batch)
		a.growRows(a.batch)
		for h := 0; h < len(a.hyps); h += 2 {
			var y *dcHyp
			if h+1 < len(a.hyps) {
				y = &a.hyps[h+1]
			}
			addBlocks(data, a.batch, a.comps, &a.hyps[h], y)
		}
	}
}

// initialRows is how many block rows of each component the row sums
// start with; they double past it.
const initialRows = 16

// init lays out the hypotheses' rings and row sums for the scan's
// components, each kind in one slice for all of them (from scratch).
func (a *dcAccum) init(s *jpegbits.DCScan, keys int, scratch *Scratch) {
	var ringLen, rowsLen int
	a.comps = make([]dcGrid, 0, len(s.Components))
	for _, c := range s.Components {
		rows := int32(2)
		for rows < int32(c.RowsPerMCU)+1 {
			rows *= 2
		}
		a.comps = append(a.comps, dcGrid{off: int32(ringLen), width: int32(c.Width), rowMask: rows - 1})
		ringLen += int(rows) * c.Width
		rowsLen += min(c.Height, initialRows)
	}
	a.hyps = make([]dcHyp, 1+keys)
	a.rings, a.rows = scratch.getInts(len(a.hyps)*ringLen), scratch.getRows(len(a.hyps)*rowsLen)
	rings, rows := a.rings, a.rows
	for i := range a.hyps {
		hy := &a.hyps[i]
		hy.ring, rings = rings[:ringLen:ringLen], rings[ringLen:]
		for ci, c := range s.Components {
			// Each window is capped: one that grows moves out.
			n := min(c.Height, initialRows)
			hy.rows[ci], rows = rows[:n:n], rows[n:]
		}
	}
	a.cur, a.batch = s.Cursor(), make([]jpegbits.DCBlock, 0, 64)
}

// addBlocks adds the blocks, in coding order, to the hypotheses x and y
// (nil: none), in one pass: the two share the blocks' positions, and
// their dependency chains (predictors, running sums) interleave. The
// running sums stay in locals. Without y, y's work is skipped (two is the
// same for every block: its branches cost nothing).
func addBlocks(data []byte, blocks []jpegbits.DCBlock, comps []dcGrid, x, y *dcHyp) {
	two := y != nil
	if !two {
		y = x // its predictors, ring and sums are read but never written back
	}
	xx, px, rx := x.xor, x.pred, x.ring
	xy, py, ry := y.xor, y.pred, y.ring
	svx, shx, svy, shy := x.sv, x.sh, y.sv, y.sh
	pairs, nh := x.pairs, x.nh
	for i := range blocks {
		b := &blocks[i]
		first := b.Bit >> 3
		w := binary.BigEndian.Uint32(data[first : first+4 : first+4])
		wx, wy := w, w
		if xx != nil {
			wx ^= binary.BigEndian.Uint32(xx[first : first+4 : first+4])
		}
		if two && xy != nil {
			wy ^= binary.BigEndian.Uint32(xy[first : first+4 : first+4])
		}
		if b.Reset {
			px, py = [maxScanComponents]int32{}, [maxScanComponents]int32{}
		}
		ci := b.Component & (maxScanComponents - 1)
		shift, t := b.Bit&7, uint(b.Size)
		vx := px[ci] + jpegbits.Extend(wx<<shift>>(32-t), t)
		px[ci] = vx
		var vy int32
		if two {
			vy = py[ci] + jpegbits.Extend(wy<<shift>>(32-t), t)
			py[ci] = vy
		}
		g := comps[ci]
		at := g.off + (b.Y&g.rowMask)*g.width + b.X
		rx[at] = vx
		if two {
			ry[at] = vy
		}
		if b.Boundary {
			up := g.off + ((b.Y-1)&g.rowMask)*g.width + b.X
			dx, dy := vx-rx[up], vy-ry[up]
			if !two {
				dy = 0
			}
			lx, ly, ok := log2AbsPair(dx, dy)
			if !ok {
				lx, ly = log2AbsLarge(dx), log2AbsLarge(dy)
			}
			svx += lx
			svy += ly
			pairs++
			r := &x.rows[ci][b.Y]
			r.sum += lx
			r.n++
			if two {
				r = &y.rows[ci][b.Y]
				r.sum += ly
				r.n++
			}
		}
		if b.X > 0 {
			dx, dy := vx-rx[at-1], vy-ry[at-1]
			if !two {
				dy = 0
			}
			lx, ly, ok := log2AbsPair(dx, dy)
			if !ok {
				lx, ly = log2AbsLarge(dx), log2AbsLarge(dy)
			}
			shx += lx
			shy += ly
			nh++
		}
	}
	x.pred, x.sv, x.sh, x.pairs, x.nh = px, svx, shx, pairs, nh
	if two {
		y.pred, y.sv, y.sh, y.pairs, y.nh = py, svy, shy, pairs, nh
	}
}

// release hands the storage init laid out back to scratch and resets a.
func (a *dcAccum) release(scratch *Scratch) {
	scratch.putStat(a.rings, a.rows)
	*a = dcAccum{}
}

// growRows makes every hypothesis's row sums hold the rows of blocks,
// doubling them. The blocks are in coding order, so each component's last
// block is in its highest row.
func (a *dcAccum) growRows(blocks []jpegbits.DCBlock) {
	var seen [maxScanComponents]bool
	found := 0
	for i := len(blocks) - 1; i >= 0 && found < len(a.comps); i-- {
		b := &blocks[i]
		if seen[b.Component] {
			continue
		}
		seen[b.Component] = true
		found++
		for h := range a.hyps {
			rows := &a.hyps[h].rows[b.Component]
			if n := len(*rows); int(b.Y) >= n {
				*rows = append(*rows, make([]dcRow, max(int(b.Y)+1-n, n))...)
			}
		}
	}
}

// stats returns the statistic of hypothesis h over the blocks added so
// far.
func (a *dcAccum) stats(h int) dcStats {
	hy := &a.hyps[h]
	st := dcStats{pairs: hy.pairs, rows: hy.rows[:len(a.comps)]}
	if hy.pairs > 0 {
		st.v = hy.sv / float64(hy.pairs)
	}
	if hy.nh > 0 {
		st.h = hy.sh / float64(hy.nh)
	}
	return st
}

// log2AbsPair returns log2(1 + |dx|) and log2(1 + |dy|) from log2Table,
// and false when either is past it (log2AbsLarge: the larger differences
// of 12-bit images and of a wrong key's random walk). It makes no call,
// so that it inlines into addBlocks's loop.
func log2AbsPair(dx, dy int32) (float64, float64, bool) {
	mx, my := dx>>31, dy>>31 // the sign of a difference under a wrong key is a coin toss: no branch
	ax, ay := uint32(dx^mx-mx), uint32(dy^my-my)
	if ax|ay >= uint32(len(log2Table)) {
		return 0, 0, false
	}
	return log2Table[ax], log2Table[ay], true
}

func log2AbsLarge(d int32) float64 { return math.Log2(1 + math.Abs(float64(d))) }

// log2Table[d] is log2(1 + d), for the DC differences of 8-bit images
// (at most 2040 in quantised units); it is read-only. Its length is a
// power of two (log2AbsPair).
var log2Table = func() (t [2048]float64) {
	for d := range t {
		t[d] = math.Log2(1 + float64(d))
	}
	return t
}()
