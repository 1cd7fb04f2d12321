package fakes

import (
	"bytes"
	"image"
	"image/jpeg"
	"sort"
	"strings"
)

// ServerRendered is what a service makes of a stored JPEG for a thumbnail
// or a resized copy: decoded, scaled down and encoded again.
func ServerRendered(stored []byte, maxSide int) ([]byte, error) {
	img, err := jpeg.Decode(bytes.NewReader(stored))
	if err != nil {
		return nil, err
	}
	bnd := img.Bounds()
	w, h := bnd.Dx(), bnd.Dy()
	scale := max(w, h)/maxSide + 1
	dst := image.NewRGBA(image.Rect(0, 0, max(w/scale, 1), max(h/scale, 1)))
	for y := 0; y < dst.Bounds().Dy(); y++ {
		for x := 0; x < dst.Bounds().Dx(); x++ {
			dst.Set(x, y, img.At(bnd.Min.X+x*scale, bnd.Min.Y+y*scale))
		}
	}
	var out bytes.Buffer
	err = jpeg.Encode(&out, dst, &jpeg.Options{Quality: 75})
	return out.Bytes(), err
}

// naturalLess orders names as PHP's strnatcmp does for the names chunked
// uploads use: runs of digits compare as numbers.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}
func digitRun(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
func SortNatural(names []string) {
	sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
}
