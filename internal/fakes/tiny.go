package fakes

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// TinyJPEG is a 16×16 gray JPEG: too small for the direction classifier
// (FORMAT.md §34.3), which is always unsure of it.
func TinyJPEG(t testing.TB) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 13)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
