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
	// rowSum and rowN are the sums of log2(1+|Δ|) over the vertical pairs
	// of each block row of each component, and their counts.
	rowSum []float64
	rowN   []int
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
	// width is each component's grid width.
	width []int32
}

// dcHyp is the running statistic of one hypothesis.
type dcHyp struct {
	xor  []byte // nil: the data as it is
	pred []int32
	// grids hold, per component, the DC values of its blocks so far, at
	// DCBlock.Index.
	grids [][]int32
	sv    float64
	sh    float64
	pairs int
	nh    int
	// rowSum and rowN are, per component and block row, the sums of the
	// vertical pairs' logs and their counts.
	rowSum [][]float64
	rowN   [][]int
}

// add adds the blocks of elems, the DC elements of s that end within the
// first limit data bytes, not added before, for the data as it is
// (hypothesis 0) and with each of xors applied (hypothesis 1+i). xors
// must cover limit bytes.
func (a *dcAccum) add(s *jpegbits.DCScan, elems []jpegbits.DCElement, xors [][]byte) {
	if a.hyps == nil {
		n := len(s.Components)
		a.hyps = make([]dcHyp, 1+len(xors))
		for i := range a.hyps {
			a.hyps[i] = dcHyp{pred: make([]int32, n), grids: make([][]int32, n), rowSum: make([][]float64, n), rowN: make([][]int, n)}
		}
		for _, c := range s.Components {
			a.width = append(a.width, int32(c.Width))
		}
		a.cur, a.batch = s.Cursor(), make([]jpegbits.DCBlock, 0, 256)
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
		a.addBlocks(data, a.batch)
	}
}

// addBlocks adds the blocks to every hypothesis.
func (a *dcAccum) addBlocks(data []byte, blocks []jpegbits.DCBlock) {
	for i := range blocks {
		b := &blocks[i]
		first, shift, t := b.Bit>>3, b.Bit&7, uint(b.Size)
		w0 := binary.BigEndian.Uint32(data[first : first+4 : first+4])
		ci, idx := b.Component, b.Index
		if int(idx) >= len(a.hyps[0].grids[ci]) || int(b.Y) >= len(a.hyps[0].rowN[ci]) {
			a.grow(ci, idx, b.Y)
		}
		if b.Reset {
			for h := range a.hyps {
				clear(a.hyps[h].pred)
			}
		}
		for h := range a.hyps {
			hy := &a.hyps[h]
			w := w0
			if hy.xor != nil {
				w ^= binary.BigEndian.Uint32(hy.xor[first : first+4 : first+4])
			}
			v := hy.pred[ci] + jpegbits.Extend(w<<shift>>(32-t), t)
			hy.pred[ci] = v
			g := hy.grids[ci]
			g[idx] = v
			if b.Boundary {
				l := log2Abs(v - g[idx-a.width[ci]])
				hy.sv += l
				hy.pairs++
				hy.rowSum[ci][b.Y] += l
				hy.rowN[ci][b.Y]++
			}
			if b.X > 0 {
				hy.sh += log2Abs(v - g[idx-1])
				hy.nh++
			}
		}
	}
}

// grow makes every hypothesis's grid of component ci hold index idx and
// its row sums row y, doubling them.
func (a *dcAccum) grow(ci uint8, idx, y int32) {
	for h := range a.hyps {
		hy := &a.hyps[h]
		if g := hy.grids[ci]; int(idx) >= len(g) {
			hy.grids[ci] = append(g, make([]int32, max(int(idx)+1-len(g), len(g)))...)
		}
		if r := hy.rowN[ci]; int(y) >= len(r) {
			k := max(int(y)+1-len(r), len(r))
			hy.rowSum[ci] = append(hy.rowSum[ci], make([]float64, k)...)
			hy.rowN[ci] = append(r, make([]int, k)...)
		}
	}
}

// stats returns the statistic of hypothesis h over the blocks added so
// far.
func (a *dcAccum) stats(h int) dcStats {
	hy := &a.hyps[h]
	st := dcStats{pairs: hy.pairs}
	for ci := range hy.rowSum {
		st.rowSum = append(st.rowSum, hy.rowSum[ci]...)
		st.rowN = append(st.rowN, hy.rowN[ci]...)
	}
	if hy.pairs > 0 {
		st.v = hy.sv / float64(hy.pairs)
	}
	if hy.nh > 0 {
		st.h = hy.sh / float64(hy.nh)
	}
	return st
}

func log2Abs(d int32) float64 {
	m := d >> 31 // the sign of a difference under a wrong key is a coin toss: no branch
	d = d ^ m - m
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
