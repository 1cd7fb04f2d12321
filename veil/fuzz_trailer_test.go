package veil

import (
	"bytes"
	"io"
	"testing"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

// FuzzTrailer feeds data after the image, with an XMP packet that may
// declare it (FORMAT.md §31), and checks that the transform never panics,
// keeps the size, and restores the input exactly.
func FuzzTrailer(f *testing.F) {
	for _, pf := range phoneFiles(f) {
		st, err := jpegbits.Transform(io.Discard, bytes.NewReader(pf.file), jpegbits.Options{Mode: jpegbits.Extended})
		if err != nil {
			f.Fatal(err)
		}
		end := st.FileBytes - st.AfterEOI
		if x := xmpSegmentOf(pf.file); x != nil {
			f.Add(x[4:], pf.file[end:])
		} else {
			f.Add([]byte(nil), pf.file[end:])
		}
	}
	key, err := keystream.NewKeyFromBytes(make([]byte, 32), keystream.ModeExtended)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, xmp, trailer []byte) {
		if len(xmp) > 65533 {
			xmp = xmp[:65533]
		}
		in := fuzzBase()
		if len(xmp) > 0 {
			in = withSegments(in, segment(0xE1, xmp))
		}
		in = append(in, trailer...)
		var enc, dec bytes.Buffer
		if _, err := Transform(key, &enc, bytes.NewReader(in), Options{}); err != nil && !IsParseError(err) {
			t.Fatal(err)
		}
		if enc.Len() != len(in) {
			t.Fatalf("size %d → %d", len(in), enc.Len())
		}
		if _, err := Transform(key, &dec, bytes.NewReader(enc.Bytes()), Options{}); err != nil && !IsParseError(err) {
			t.Fatal(err)
		}
		if !bytes.Equal(dec.Bytes(), in) {
			t.Fatal("no exact round trip")
		}
	})
}
