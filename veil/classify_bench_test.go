package veil

import (
	"bytes"
	"io"
	"testing"

	"jpegveil/keystream"
)

// classifyBenchFiles are photos of the shared corpus: a 12 MP phone photo,
// a small baseline photo and a progressive one.
var classifyBenchFiles = []string{
	"photos/phone-12mp-q92.jpg",
	"photos/astronaut-q75-420.jpg",
	"photos/hubble-q85-progressive.jpg",
}

// BenchmarkClassifyVsEncrypt shows, per file, the cost of encrypting it and
// of classifying it with a keyring of two keys; the classifier's goal is at
// most 10 % of the encryption.
func BenchmarkClassifyVsEncrypt(b *testing.B) {
	for _, f := range classifyBenchFiles {
		in := readCorpus(b, f)
		a, k2 := classifyKeys(b, keystream.ModeExtended)
		ring := mustRing(b, k2, a)
		b.Run("encrypt/"+f, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := Transform(a, io.Discard, bytes.NewReader(in), Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("classify/"+f, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if v := ClassifyBytes(ring, in); v.Class != Plaintext {
					b.Fatal(v)
				}
			}
		})
	}
}
