package jpegbits

import (
	"bytes"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// zeroKeystream is the cheapest keystream: it measures the transform's own
// cost of skeletons and XOR without any cryptography.
type zeroKeystream struct{}

func (zeroKeystream) Segment([]byte)            {}
func (zeroKeystream) Chunk(_ Chunk, dst []byte) { clear(dst) }

func benchFiles(b *testing.B) map[string][]byte {
	files := map[string][]byte{}
	for _, p := range corpusFiles(b, "photos") {
		in, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := TransformBytes(in, Options{}); err != nil {
			continue // the arithmetic-coded photo
		}
		files[filepath.Base(p)] = in
	}
	return files
}

// BenchmarkMask measures mask computation alone (no keystream), per photo.
func BenchmarkMask(b *testing.B) {
	for name, in := range benchFiles(b) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Transform(io.Discard, bytes.NewReader(in), Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMaskXOR adds skeletons and the XOR with a (free) keystream.
func BenchmarkMaskXOR(b *testing.B) {
	for name, in := range benchFiles(b) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Transform(io.Discard, bytes.NewReader(in), Options{Keystream: zeroKeystream{}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGoDecode is the reference: Go's image/jpeg on the same files.
func BenchmarkGoDecode(b *testing.B) {
	for name, in := range benchFiles(b) {
		b.Run(name, func(b *testing.B) {
			if _, err := jpeg.Decode(bytes.NewReader(in)); err != nil {
				b.Skipf("image/jpeg cannot decode it: %v", err)
			}
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := jpeg.Decode(bytes.NewReader(in)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
