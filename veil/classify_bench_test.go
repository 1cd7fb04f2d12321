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

// BenchmarkClassifyVsEncrypt shows, per file, the cost of encrypting it;
// of encrypting it while judging its direction in the same pass
// (Options.Classify: what the proxy does), with a keyring of one key and
// of two (after a rotation, the old key's keystream is computed over the
// prefix as well); and of classifying it on its own with a keyring of two
// keys (what the CLI does). The classifier's goal is at most 10 % of the
// encryption: the judged encryption's extra time over the encryption.
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
		for _, judged := range []struct {
			name string
			ring *keystream.Keyring
		}{{"encrypt+judge-1key/", mustRing(b, a)}, {"encrypt+judge-2keys/", mustRing(b, a, k2)}} {
			b.Run(judged.name+f, func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				for b.Loop() {
					r := NewReader(a, bytes.NewReader(in), Options{Classify: judged.ring})
					if _, err := io.Copy(io.Discard, r); err != nil {
						b.Fatal(err)
					}
					if v := r.Verdict(); v.Class != Plaintext {
						b.Fatal(v)
					}
				}
			})
		}
		b.Run("classify-alone/"+f, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if v := ClassifyBytes(ring, in); v.Class != Plaintext {
					b.Fatal(v)
				}
			}
		})
	}
}
