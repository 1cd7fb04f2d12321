package keystream

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/chacha20"
)

// TestXChaChaMatchesChaCha20 checks that the keystream, whichever way it
// is produced (chacha20 alone, or its first block from chacha20 and the
// rest from a seal), is x/crypto/chacha20's XChaCha20 keystream from block
// counter 0, for lengths around every boundary of the two ways.
func TestXChaChaMatchesChaCha20(t *testing.T) {
	var key [chacha20.KeySize]byte
	for i := range key {
		key[i] = byte(7 * i)
	}
	x := newXChaCha(key)
	if sealIsFast() && x.aead == nil {
		t.Error("the seal is the fast way here, but is not used")
	}
	nonce := make([]byte, chacha20.NonceSizeX)
	for _, n := range []int{0, 1, 63, 64, 65, 127, 128, 129, 1000, ChunkSize - 1, ChunkSize, maxSeal + blockSize - 1, maxSeal + blockSize, maxSeal + blockSize + 1, 3 * ChunkSize} {
		nonce[0], nonce[23] = byte(n), byte(n>>8)
		want := make([]byte, n)
		s, err := chacha20.NewUnauthenticatedCipher(key[:], nonce)
		if err != nil {
			t.Fatal(err)
		}
		s.XORKeyStream(want, want)
		got := bytes.Repeat([]byte{0xA5}, n) // fill must not depend on dst's contents
		x.fill(nonce, got)
		if !bytes.Equal(got, want) {
			t.Errorf("length %d: keystream differs from chacha20's", n)
		}
	}
}
