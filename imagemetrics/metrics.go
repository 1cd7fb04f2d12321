// Package imagemetrics measures how much of a picture an encrypted copy
// still shows: PSNR (RGB and luma), SSIM (luma), NPCR and UACI, and the
// overlap of Sobel edge maps against what chance would give. It works on
// decoded images of equal size and has no dependencies beyond the
// standard library.
//
// Definitions (8-bit samples, peak 255):
//
//   - PSNR = 10·log10(255² / MSE) in dB, +Inf for identical inputs; RGB
//     PSNR takes the MSE over all three channels.
//   - Luma is Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601), unrounded.
//   - SSIM is the mean SSIM index of Wang et al. (2004) over luma: an 11×11
//     Gaussian window (σ = 1.5) at every position where it fits,
//     C1 = (0.01·255)², C2 = (0.03·255)².
//   - NPCR is the percentage of samples (pixel channels) that differ; UACI
//     the mean absolute difference of samples as a percentage of 255.
//   - Edges are the pixels whose Sobel gradient magnitude (of luma) is
//     positive and at least the (1 − EdgeFraction) quantile of the image's
//     magnitudes (about the strongest tenth; more with ties); Dice =
//     2|A∩B| / (|A|+|B|). Two independent maps of
//     densities a and b overlap by chance with expected Dice 2ab/(a+b).
package imagemetrics

import (
	"errors"
	"image"
	"image/color"
	"math"
	"slices"
)

// RGB is an 8-bit RGB raster, 3 bytes per pixel, rows top to bottom.
type RGB struct {
	W, H int
	Pix  []uint8
}

// Gray is a single-channel raster of float64 samples (0–255 scale).
type Gray struct {
	W, H int
	Pix  []float64
}

// ErrSize reports images of different dimensions.
var ErrSize = errors.New("imagemetrics: images differ in size")

// FromImage converts any image to RGB.
func FromImage(m image.Image) *RGB {
	b := m.Bounds()
	r := &RGB{W: b.Dx(), H: b.Dy(), Pix: make([]uint8, 3*b.Dx()*b.Dy())}
	i := 0
	switch src := m.(type) {
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := src.YOffset(x, y), src.COffset(x, y)
				r.Pix[i], r.Pix[i+1], r.Pix[i+2] = color.YCbCrToRGB(src.Y[yi], src.Cb[ci], src.Cr[ci])
				i += 3
			}
		}
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				v := src.Pix[src.PixOffset(x, y)]
				r.Pix[i], r.Pix[i+1], r.Pix[i+2] = v, v, v
				i += 3
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.RGBAModel.Convert(m.At(x, y)).(color.RGBA)
				r.Pix[i], r.Pix[i+1], r.Pix[i+2] = c.R, c.G, c.B
				i += 3
			}
		}
	}
	return r
}

// Image returns r as an *image.RGBA.
func (r *RGB) Image() *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, r.W, r.H))
	for i, j := 0, 0; i < len(r.Pix); i, j = i+3, j+4 {
		m.Pix[j], m.Pix[j+1], m.Pix[j+2], m.Pix[j+3] = r.Pix[i], r.Pix[i+1], r.Pix[i+2], 255
	}
	return m
}

// Luma returns the BT.601 luma of r.
func (r *RGB) Luma() *Gray {
	g := &Gray{W: r.W, H: r.H, Pix: make([]float64, r.W*r.H)}
	for i := range g.Pix {
		p := r.Pix[3*i:]
		g.Pix[i] = 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
	}
	return g
}

func psnr(mse float64) float64 {
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}

// PSNRRGB returns the PSNR in dB over all channels of a and b.
func PSNRRGB(a, b *RGB) (float64, error) {
	if a.W != b.W || a.H != b.H {
		return 0, ErrSize
	}
	var sum float64
	for i := range a.Pix {
		d := float64(a.Pix[i]) - float64(b.Pix[i])
		sum += d * d
	}
	if len(a.Pix) == 0 {
		return math.Inf(1), nil
	}
	return psnr(sum / float64(len(a.Pix))), nil
}

// PSNRLuma returns the PSNR in dB of two luma planes.
func PSNRLuma(a, b *Gray) (float64, error) {
	if a.W != b.W || a.H != b.H {
		return 0, ErrSize
	}
	var sum float64
	for i := range a.Pix {
		d := a.Pix[i] - b.Pix[i]
		sum += d * d
	}
	if len(a.Pix) == 0 {
		return math.Inf(1), nil
	}
	return psnr(sum / float64(len(a.Pix))), nil
}

// NPCR returns the percentage of samples of a and b that differ, and UACI
// the mean absolute difference of samples as a percentage of 255.
func NPCR(a, b *RGB) (npcr, uaci float64, err error) {
	if a.W != b.W || a.H != b.H {
		return 0, 0, ErrSize
	}
	if len(a.Pix) == 0 {
		return 0, 0, nil
	}
	var diff int
	var abs float64
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d != 0 {
			diff++
		}
		abs += math.Abs(float64(d))
	}
	n := float64(len(a.Pix))
	return 100 * float64(diff) / n, 100 * abs / (255 * n), nil
}

// SSIM window and constants.
const (
	ssimRadius = 5 // 11×11 window
	ssimSigma  = 1.5
	ssimC1     = (0.01 * 255) * (0.01 * 255)
	ssimC2     = (0.03 * 255) * (0.03 * 255)
)

// SSIM returns the mean SSIM index of two luma planes. Images smaller than
// the 11×11 window have no defined index; SSIM then returns 1 for equal
// planes and compares global statistics otherwise.
func SSIM(a, b *Gray) (float64, error) {
	if a.W != b.W || a.H != b.H {
		return 0, ErrSize
	}
	if a.W < 2*ssimRadius+1 || a.H < 2*ssimRadius+1 {
		return ssimGlobal(a.Pix, b.Pix), nil
	}
	var w [2*ssimRadius + 1]float64
	var sum float64
	for i := range w {
		d := float64(i - ssimRadius)
		w[i] = math.Exp(-d * d / (2 * ssimSigma * ssimSigma))
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	// Horizontal pass over the five maps (means, second moments) into a
	// ring of 11 rows, then the vertical pass, on valid positions only.
	W, H := a.W, a.H
	ow, oh := W-2*ssimRadius, H-2*ssimRadius
	const rows = 2*ssimRadius + 1
	var ring [rows][5][]float64
	for r := range ring {
		for m := range ring[r] {
			ring[r][m] = make([]float64, ow)
		}
	}
	horizontal := func(y int) {
		ra, rb := a.Pix[y*W:(y+1)*W], b.Pix[y*W:(y+1)*W]
		maps := &ring[y%rows]
		for x := 0; x < ow; x++ {
			var ma, mb, saa, sbb, sab float64
			for k, wk := range w {
				va, vb := ra[x+k], rb[x+k]
				ma += wk * va
				mb += wk * vb
				saa += wk * va * va
				sbb += wk * vb * vb
				sab += wk * va * vb
			}
			maps[0][x], maps[1][x], maps[2][x], maps[3][x], maps[4][x] = ma, mb, saa, sbb, sab
		}
	}
	for y := 0; y < rows-1; y++ {
		horizontal(y)
	}
	var total float64
	for y := 0; y < oh; y++ {
		horizontal(y + rows - 1)
		for x := 0; x < ow; x++ {
			var v [5]float64
			for k, wk := range w {
				maps := &ring[(y+k)%rows]
				for m := range v {
					v[m] += wk * maps[m][x]
				}
			}
			total += ssimIndex(v[0], v[1], v[2]-v[0]*v[0], v[3]-v[1]*v[1], v[4]-v[0]*v[1])
		}
	}
	return total / float64(ow*oh), nil
}

func ssimIndex(ma, mb, va, vb, cov float64) float64 {
	return (2*ma*mb + ssimC1) * (2*cov + ssimC2) / ((ma*ma + mb*mb + ssimC1) * (va + vb + ssimC2))
}

func ssimGlobal(a, b []float64) float64 {
	if len(a) == 0 {
		return 1
	}
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	n := float64(len(a))
	ma, mb = ma/n, mb/n
	var va, vb, cov float64
	for i := range a {
		va += (a[i] - ma) * (a[i] - ma)
		vb += (b[i] - mb) * (b[i] - mb)
		cov += (a[i] - ma) * (b[i] - mb)
	}
	return ssimIndex(ma, mb, va/n, vb/n, cov/n)
}

// Sobel returns the Sobel gradient magnitude of g (0 on the border).
func Sobel(g *Gray) []float64 {
	out := make([]float64, len(g.Pix))
	W := g.W
	for y := 1; y < g.H-1; y++ {
		for x := 1; x < W-1; x++ {
			p := func(dx, dy int) float64 { return g.Pix[(y+dy)*W+x+dx] }
			gx := p(1, -1) + 2*p(1, 0) + p(1, 1) - p(-1, -1) - 2*p(-1, 0) - p(-1, 1)
			gy := p(-1, 1) + 2*p(0, 1) + p(1, 1) - p(-1, -1) - 2*p(0, -1) - p(1, -1)
			out[y*W+x] = math.Hypot(gx, gy)
		}
	}
	return out
}

// EdgeFraction is the share of pixels Edges marks in an image whose
// gradient magnitudes are distinct.
const EdgeFraction = 0.10

// Edges marks the pixels whose Sobel magnitude is positive and at least
// the (1 − EdgeFraction) quantile of g's magnitudes.
func Edges(g *Gray) []bool {
	mag := Sobel(g)
	edges := make([]bool, len(mag))
	if len(mag) == 0 {
		return edges
	}
	sorted := slices.Clone(mag)
	slices.Sort(sorted)
	k := int(math.Floor(float64(len(sorted)) * (1 - EdgeFraction)))
	k = min(max(k, 0), len(sorted)-1)
	th := sorted[k]
	for i, m := range mag {
		edges[i] = m > 0 && m >= th
	}
	return edges
}

// Dice returns the Dice coefficient of two edge maps and the expected
// Dice of independent maps of the same densities (the chance level). Both
// are 0 when neither map marks anything.
func Dice(a, b []bool) (dice, chance float64, err error) {
	if len(a) != len(b) {
		return 0, 0, ErrSize
	}
	var na, nb, both int
	for i := range a {
		if a[i] {
			na++
		}
		if b[i] {
			nb++
		}
		if a[i] && b[i] {
			both++
		}
	}
	if na+nb == 0 {
		return 0, 0, nil
	}
	n := float64(len(a))
	pa, pb := float64(na)/n, float64(nb)/n
	return 2 * float64(both) / float64(na+nb), 2 * pa * pb / (pa + pb), nil
}

// Resize scales r to w×h by averaging the source pixels each destination
// pixel covers (nearest pixel when enlarging).
func Resize(r *RGB, w, h int) *RGB {
	out := &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	if r.W == 0 || r.H == 0 {
		return out
	}
	for y := 0; y < h; y++ {
		y0 := y * r.H / h
		y1 := max((y+1)*r.H/h, y0+1)
		for x := 0; x < w; x++ {
			x0 := x * r.W / w
			x1 := max((x+1)*r.W/w, x0+1)
			var s [3]int
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					p := r.Pix[3*(sy*r.W+sx):]
					s[0] += int(p[0])
					s[1] += int(p[1])
					s[2] += int(p[2])
				}
			}
			n := (y1 - y0) * (x1 - x0)
			q := out.Pix[3*(y*w+x):]
			for c := range 3 {
				q[c] = uint8((s[c] + n/2) / n)
			}
		}
	}
	return out
}

// EdgeImage renders an edge map as white edges on black.
func EdgeImage(edges []bool, w, h int) *RGB {
	out := &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	for i, e := range edges {
		if e {
			out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = 255, 255, 255
		}
	}
	return out
}
