// Package preview renders the previews the proxy serves in place of those a
// service makes from the ciphertext it stores: a scaled JPEG of the
// decrypted photo, its ThumbHash placeholder, and a bounded cache of both.
package preview

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"golang.org/x/image/draw"
)

// Spec is a requested rendition: a box of Width×Height pixels (0 leaves
// that side free). Without Crop the photo is scaled to fit inside the box;
// with Crop it is scaled to cover the box and its centre cut out; with
// Cover it is scaled to cover the box and kept whole. A photo is never
// scaled up.
type Spec struct {
	Width, Height int
	Crop, Cover   bool
}

// Side is the Spec for a longest side of n pixels.
func Side(n int) Spec { return Spec{Width: n, Height: n} }

// String names the spec in cache keys: "w250-h250", "w200-h200-c".
func (s Spec) String() string {
	out := fmt.Sprintf("w%d-h%d", s.Width, s.Height)
	if s.Crop {
		out += "-c"
	}
	if s.Cover {
		out += "-cover"
	}
	return out
}

// Decode reads a JPEG.
func Decode(b []byte) (image.Image, error) {
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("preview: decoding the photo: %w", err)
	}
	return img, nil
}

// Scale renders src to spec with the Catmull-Rom filter: a sharp cubic
// that keeps edges without the ringing of Lanczos, and the best quality
// x/image/draw offers.
func Scale(src image.Image, spec Spec) image.Image {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	bw, bh := spec.Width, spec.Height
	if bw <= 0 {
		bw = sw
	}
	if bh <= 0 {
		bh = sh
	}
	var scale float64
	if spec.Crop || spec.Cover {
		scale = max(float64(bw)/float64(sw), float64(bh)/float64(sh))
	} else {
		scale = min(float64(bw)/float64(sw), float64(bh)/float64(sh))
	}
	scale = min(scale, 1)
	dw, dh := max(1, int(float64(sw)*scale+0.5)), max(1, int(float64(sh)*scale+0.5))
	srcRect := b
	if spec.Crop {
		// The part of src that maps onto the box.
		cw, ch := min(sw, int(float64(bw)/scale+0.5)), min(sh, int(float64(bh)/scale+0.5))
		x0, y0 := b.Min.X+(sw-cw)/2, b.Min.Y+(sh-ch)/2
		srcRect = image.Rect(x0, y0, x0+cw, y0+ch)
		dw, dh = min(dw, bw), min(dh, bh)
	}
	if srcRect.Dx() == dw && srcRect.Dy() == dh {
		return src
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, srcRect, draw.Src, nil)
	return dst
}

// Encode writes img as a JPEG of the given quality.
func Encode(img image.Image, quality int) ([]byte, error) {
	var out bytes.Buffer
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("preview: encoding: %w", err)
	}
	return out.Bytes(), nil
}

// Render decodes a JPEG, scales it to spec and encodes the result.
func Render(photo []byte, spec Spec, quality int) ([]byte, error) {
	img, err := Decode(photo)
	if err != nil {
		return nil, err
	}
	return Encode(Scale(img, spec), quality)
}
