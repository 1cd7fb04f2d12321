package veil

import (
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

// usableBlocks returns the blocks of s that end within the first limit
// data bytes.
func usableBlocks(s *jpegbits.DCScan, limit int64) []jpegbits.DCBlock {
	n := sort.Search(len(s.Blocks), func(i int) bool { return int64(s.Blocks[i].End) > limit*8 })
	return s.Blocks[:n]
}

// boundaryRows bounds rowsWithPairs from the blocks within the first limit
// data bytes: a component whose last such block is in row y has at most
// y/RowsPerMCU rows of boundary pairs. The blocks of an MCU hold every
// component, so the last few blocks show each component's last row.
func boundaryRows(s *jpegbits.DCScan, limit int64) int {
	blocks := usableBlocks(s, limit)
	last := make([]int32, len(s.Components))
	for i := len(blocks) - 1; i >= 0 && i >= len(blocks)-16; i-- {
		b := &blocks[i]
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

// dcAccum accumulates the statistic of one hypothesis over the blocks of
// a scan in coding order (FORMAT.md §34.2), as the prefix grows: each pair
// is counted when its later block in coding order is added. The prefix
// starts at the scan's first block, and a block's upper neighbour across
// an MCU row boundary and its left neighbour always come before it in
// coding order (T.81 A.2), so both are known whenever they exist. Within a
// block row the pairs are added left to right, as a whole-image pass
// would add them, so two hypotheses that agree on a row have equal sums
// for it.
type dcAccum struct {
	next int // the next block of the scan to add
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

// add adds the blocks of s that end within the first limit data bytes and
// were not added before, with xor applied (nil: the data as it is).
func (a *dcAccum) add(s *jpegbits.DCScan, limit int64, xor []byte) {
	if a.pred == nil {
		n := len(s.Components)
		a.pred, a.grids = make([]int32, n), make([][]int32, n)
		a.rowSum, a.rowN = make([][]float64, n), make([][]int, n)
	}
	blocks := usableBlocks(s, limit)
	if a.next >= len(blocks) {
		return
	}
	a.reserve(s, blocks[a.next:])
	for ; a.next < len(blocks); a.next++ {
		b := &blocks[a.next]
		d, _ := s.Diff(b, limit, xor)
		if b.Reset {
			clear(a.pred)
		}
		ci := b.Component
		v := a.pred[ci] + d
		a.pred[ci] = v
		g := a.grids[ci]
		g[b.Index] = v
		if b.Boundary {
			l := log2Abs(v - g[b.Index-int32(s.Components[ci].Width)])
			a.sv += l
			a.pairs++
			a.rowSum[ci][b.Y] += l
			a.rowN[ci][b.Y]++
		}
		if b.X > 0 {
			a.sh += log2Abs(v - g[b.Index-1])
			a.nh++
		}
	}
}

// reserve makes the grids and row sums large enough for blocks, once,
// rather than block by block.
func (a *dcAccum) reserve(s *jpegbits.DCScan, blocks []jpegbits.DCBlock) {
	for i := range s.Components {
		top, rows := -1, -1
		for j := range blocks {
			if b := &blocks[j]; int(b.Component) == i {
				top, rows = max(top, int(b.Index)), max(rows, int(b.Y))
			}
		}
		if g := a.grids[i]; top >= len(g) {
			a.grids[i] = append(g, make([]int32, max(top+1-len(g), len(g)))...)
		}
		if rows >= len(a.rowN[i]) {
			n := max(rows+1-len(a.rowN[i]), len(a.rowN[i]))
			a.rowSum[i] = append(a.rowSum[i], make([]float64, n)...)
			a.rowN[i] = append(a.rowN[i], make([]int, n)...)
		}
	}
}

// stats returns the statistic of the blocks added so far.
func (a *dcAccum) stats() dcStats {
	st := dcStats{pairs: a.pairs}
	for ci := range a.rowSum {
		st.rowSum = append(st.rowSum, a.rowSum[ci]...)
		st.rowN = append(st.rowN, a.rowN[ci]...)
	}
	if a.pairs > 0 {
		st.v = a.sv / float64(a.pairs)
	}
	if a.nh > 0 {
		st.h = a.sh / float64(a.nh)
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
