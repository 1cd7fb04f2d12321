package veil

import (
	"bytes"
	stdimage "image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// syntheticKinds are the groups of generated test images.
var syntheticKinds = [...]string{"flat", "gradient", "noise", "text", "tiny", "smooth"}

// syntheticJPEG generates image number i of its kind (i cycles through the
// kinds) with a deterministic random source, encoded with image/jpeg at a
// quality and in colour (4:2:0) or grayscale chosen by the source.
// textStrokes draws rows of letter-like strokes, 7×14 pixel cells.
func textStrokes(r *rand.Rand, w, h int) []stdimage.Rectangle {
	var strokes []stdimage.Rectangle
	for y := 4; y+10 < h; y += 14 {
		for x := 4; x+6 < w; x += 7 {
			if r.IntN(6) == 0 {
				continue
			}
			for range 2 + r.IntN(3) {
				x0, y0 := x+r.IntN(5), y+r.IntN(9)
				if r.IntN(2) == 0 {
					strokes = append(strokes, stdimage.Rect(x0, y0, x0+1+r.IntN(2), y0+3+r.IntN(6)))
				} else {
					strokes = append(strokes, stdimage.Rect(x0, y0, x0+3+r.IntN(3), y0+1+r.IntN(2)))
				}
			}
		}
	}
	return strokes
}

func syntheticJPEG(i int) (kind string, data []byte) {
	r := rand.New(rand.NewPCG(uint64(i), 0x6a7065677665696c))
	kind = syntheticKinds[i%len(syntheticKinds)]
	w, h := 32+r.IntN(225), 32+r.IntN(225)
	if kind == "tiny" {
		w, h = 1+r.IntN(24), 1+r.IntN(24)
	}
	gray := r.IntN(3) == 0
	var img interface {
		stdimage.Image
		Set(x, y int, c color.Color)
	}
	if gray {
		img = stdimage.NewGray(stdimage.Rect(0, 0, w, h))
	} else {
		img = stdimage.NewRGBA(stdimage.Rect(0, 0, w, h))
	}
	base := [3]float64{r.Float64() * 255, r.Float64() * 255, r.Float64() * 255}
	var dir [3][2]float64
	for c := range dir {
		dir[c] = [2]float64{(r.Float64()*2 - 1) * 3, (r.Float64()*2 - 1) * 3}
	}
	type blob struct{ x, y, s, a float64 }
	var blobs []blob
	for range 4 + r.IntN(8) {
		blobs = append(blobs, blob{r.Float64() * float64(w), r.Float64() * float64(h), 8 + r.Float64()*40, r.Float64()*200 - 100})
	}
	ink := r.IntN(2) == 0
	var strokes []stdimage.Rectangle
	if kind == "text" {
		strokes = textStrokes(r, w, h)
	}
	clamp := func(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }
	for y := range h {
		for x := range w {
			var v [3]float64
			for c := range v {
				switch kind {
				case "flat":
					v[c] = base[c]
				case "gradient":
					v[c] = base[c] + dir[c][0]*float64(x) + dir[c][1]*float64(y)
				case "noise":
					v[c] = r.Float64() * 255
				case "text":
					v[c] = 245
					if !ink {
						v[c] = base[c]
					}
				case "tiny":
					v[c] = base[c] + dir[c][0]*float64(x)*8 + r.Float64()*40
				case "smooth":
					v[c] = base[c] + dir[c][0]*float64(x)/4
					for _, b := range blobs {
						dx, dy := float64(x)-b.x, float64(y)-b.y
						v[c] += b.a * math.Exp(-(dx*dx+dy*dy)/(2*b.s*b.s))
					}
				}
			}
			img.Set(x, y, color.RGBA{clamp(v[0]), clamp(v[1]), clamp(v[2]), 255})
		}
	}
	for _, s := range strokes {
		for y := s.Min.Y; y < s.Max.Y; y++ {
			for x := s.Min.X; x < s.Max.X; x++ {
				img.Set(x, y, color.RGBA{20, 20, 30, 255})
			}
		}
	}
	var buf bytes.Buffer
	q := [...]int{10, 30, 50, 75, 90, 100}[r.IntN(6)]
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		panic(err)
	}
	return kind, buf.Bytes()
}
