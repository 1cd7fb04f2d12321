package keystream

import (
	"testing"
	"time"
)

// maxChunkAllocs is what TestChunkKeystreamAllocs tolerates. ChunkKeystream
// currently allocates nothing: chacha20.NewUnauthenticatedCipher is split so
// that its Cipher (and the HChaCha20 subkey) stay on the stack when, as
// here, the cipher does not escape, and the seal that gives the rest of the
// keystream writes into the Chain's scratch buffer, allocated once. One allocation per 4 KiB chunk would
// still be acceptable, so a toolchain change that costs one does not fail
// the build; more than that is a regression.
const maxChunkAllocs = 1

func BenchmarkChunkKeystream(b *testing.B) {
	c := mustKey(b, vecMaster, ModeExtended).NewChain("image")
	c.AbsorbSegment(make([]byte, 600))
	sk, dst := make([]byte, ChunkSize), make([]byte, ChunkSize)
	b.SetBytes(ChunkSize)
	b.ReportAllocs()
	for b.Loop() {
		c.ChunkKeystream(sk, dst)
	}
}

func BenchmarkDeriveKeyDefault(b *testing.B) {
	p, err := DefaultArgon2Params()
	if err != nil {
		b.Fatal(err)
	}
	pass := []byte("correct horse battery staple")
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := DeriveKey(pass, p, ModeExtended); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(n), "ms/derivation")
}
