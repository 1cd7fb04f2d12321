package keystream

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20"
)

// TestDeriveMatchesSpec recomputes Derive as FORMAT.md §14.4 states it:
// the record 0x03 joins the chain, and the output is XChaCha20 of the
// digest so far, of any length; the chain continues after it.
func TestDeriveMatchesSpec(t *testing.T) {
	k := mustKey(t, vecMaster, ModeExtended)
	c := k.NewChain("gps")
	framed := record(nil, 0x00, []byte("gps"))
	tweak := []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 90}
	c.AbsorbSegment(tweak)
	framed = record(framed, 0x01, tweak)
	for i, n := range []int{0, 8, 64, 200, 4096 + 8} {
		d := []byte{byte(i), 48, 51}
		got := make([]byte, n)
		c.Derive(d, got)
		framed = record(framed, 0x03, d)
		h, _ := blake2b.New256(k.secret.sub.nonce[:])
		h.Write(framed)
		want := make([]byte, n)
		x, err := chacha20.NewUnauthenticatedCipher(k.secret.sub.keystream[:], h.Sum(nil)[:24])
		if err != nil {
			t.Fatal(err)
		}
		x.XORKeyStream(want, want)
		if !bytes.Equal(got, want) {
			t.Fatalf("derive %d (%d bytes) differs from the spec", i, n)
		}
	}
	// A derive record is not a skeleton record.
	a, b := k.NewChain("x"), k.NewChain("x")
	ka, kb := make([]byte, 16), make([]byte, 16)
	a.Derive(make([]byte, 16), ka)
	b.ChunkKeystream(make([]byte, 16), kb)
	if bytes.Equal(ka, kb) {
		t.Error("Derive and ChunkKeystream share a record tag")
	}
	defer func() {
		if recover() == nil {
			t.Error("Derive of more than 1 MiB did not panic")
		}
	}()
	a.Derive(nil, make([]byte, 1<<20+1))
}
