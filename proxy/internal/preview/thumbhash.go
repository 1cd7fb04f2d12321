package preview

import (
	"image"
	"image/color"
	"math"
)

// ThumbHash returns the ThumbHash of img (the public algorithm of
// evanw/thumbhash that Immich's clients decode into the placeholder shown
// while a thumbnail loads): the photo scaled to fit 100×100, as Immich's
// server does, its colours in an LPQ space, a few low DCT terms of each
// channel quantized into a handful of bytes. Photos are opaque, so the
// alpha channel is never written.
func ThumbHash(img image.Image) []byte {
	small := Scale(img, Spec{Width: 100, Height: 100})
	b := small.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h
	l, p, q := make([]float64, n), make([]float64, n), make([]float64, n)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBAModel.Convert(small.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			// (1/255)·v, not v/255: the reference's order of operations,
			// so that terms on a rounding edge quantize alike.
			r, g, bl := 1.0/255*float64(c.R), 1.0/255*float64(c.G), 1.0/255*float64(c.B)
			i := x + y*w
			l[i] = (r + g + bl) / 3
			p[i] = (r+g)/2 - bl
			q[i] = r - g
		}
	}
	const lLimit = 7 // luminance terms along the longer side, without alpha
	lx := max(1, int(math.Round(lLimit*float64(w)/float64(max(w, h)))))
	ly := max(1, int(math.Round(lLimit*float64(h)/float64(max(w, h)))))
	lc := encodeChannel(l, w, h, max(3, lx), max(3, ly))
	pc := encodeChannel(p, w, h, 3, 3)
	qc := encodeChannel(q, w, h, 3, 3)

	landscape := w > h
	header24 := uint32(math.Round(63*lc.dc)) |
		uint32(math.Round(31.5+31.5*pc.dc))<<6 |
		uint32(math.Round(31.5+31.5*qc.dc))<<12 |
		uint32(math.Round(31*lc.scale))<<18
	side := lx
	if landscape {
		side = ly
	}
	header16 := uint32(side) | uint32(math.Round(63*pc.scale))<<3 | uint32(math.Round(63*qc.scale))<<9
	if landscape {
		header16 |= 1 << 15
	}
	hash := []byte{byte(header24), byte(header24 >> 8), byte(header24 >> 16), byte(header16), byte(header16 >> 8)}
	const acStart = 5
	k := 0
	for _, ac := range [][]float64{lc.ac, pc.ac, qc.ac} {
		for _, f := range ac {
			at := acStart + k>>1
			if at == len(hash) {
				hash = append(hash, 0)
			}
			hash[at] |= byte(math.Round(15*f)) << ((k & 1) << 2)
			k++
		}
	}
	return hash
}

type channel struct {
	dc    float64
	ac    []float64 // normalized to 0..1 by scale
	scale float64
}

// encodeChannel takes the DCT terms of c (w×h) in the triangle cx·ny <
// nx·(ny−cy) the format keeps.
func encodeChannel(c []float64, w, h, nx, ny int) channel {
	var ch channel
	fx := make([]float64, w)
	for cy := 0; cy < ny; cy++ {
		for cx := 0; cx*ny < nx*(ny-cy); cx++ {
			for x := range fx {
				fx[x] = math.Cos(math.Pi / float64(w) * float64(cx) * (float64(x) + 0.5))
			}
			f := 0.0
			for y := 0; y < h; y++ {
				fy := math.Cos(math.Pi / float64(h) * float64(cy) * (float64(y) + 0.5))
				for x := 0; x < w; x++ {
					f += c[x+y*w] * fx[x] * fy
				}
			}
			f /= float64(w * h)
			if cx > 0 || cy > 0 {
				ch.ac = append(ch.ac, f)
				ch.scale = max(ch.scale, math.Abs(f))
			} else {
				ch.dc = f
			}
		}
	}
	if ch.scale > 0 {
		for i := range ch.ac {
			ch.ac[i] = 0.5 + 0.5/ch.scale*ch.ac[i]
		}
	}
	return ch
}
