package veil

import (
	"math"

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
