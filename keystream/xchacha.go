package keystream

import (
	"crypto/cipher"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
)

// xchacha produces the XChaCha20 keystream of a chain's subkey: block
// counter 0 onward, for any 24-byte nonce.
//
// x/crypto's chacha20 is portable Go, but its chacha20poly1305 has SIMD
// code on some platforms (AVX2 on amd64). Sealing n zero bytes with
// XChaCha20-Poly1305 under the same key and nonce yields the XChaCha20
// keystream from block counter 1 (block 0 becomes the Poly1305 key, RFC
// 8439 §2.6, §2.8) followed by a 16-byte tag: so block 0 comes from
// chacha20 and the rest from the seal, bit for bit the same keystream as
// chacha20 alone gives, faster where the seal is (see sealIsFast).
type xchacha struct {
	// key is a pointer so that fmt, printing a Chain, shows an address
	// rather than the key (see Key.secret).
	key *[chacha20.KeySize]byte
	// aead is the sealing path, nil where it is not the faster one.
	aead cipher.AEAD
	// scratch holds a seal's output: keystream and tag. It is allocated
	// on first use and sized for a chunk.
	scratch []byte
}

// blockSize is ChaCha20's block: the part of the keystream the seal never
// shows.
const blockSize = 64

// maxSeal is the longest keystream taken from the seal; Derive may ask for
// more, and gets it from chacha20 alone.
const maxSeal = ChunkSize

func newXChaCha(key [chacha20.KeySize]byte) xchacha {
	x := xchacha{key: &key}
	if sealIsFast() {
		// NewX fails only in FIPS 140-only mode; then chacha20 alone
		// serves, which is the same keystream.
		if aead, err := chacha20poly1305.NewX(key[:]); err == nil {
			x.aead = aead
		}
	}
	return x
}

// fill overwrites dst with the keystream for nonce.
func (x *xchacha) fill(nonce []byte, dst []byte) {
	n := len(dst)
	if x.aead == nil || n <= blockSize || n > blockSize+maxSeal {
		x.generic(nonce, dst)
		return
	}
	x.generic(nonce, dst[:blockSize])
	if x.scratch == nil {
		x.scratch = make([]byte, maxSeal+chacha20poly1305.Overhead)
	}
	rest := x.scratch[:n-blockSize]
	clear(rest)
	x.aead.Seal(rest[:0], nonce, rest, nil)
	copy(dst[blockSize:], rest)
}

// generic is fill with chacha20 alone.
func (x *xchacha) generic(nonce []byte, dst []byte) {
	s, err := chacha20.NewUnauthenticatedCipher(x.key[:], nonce)
	if err != nil {
		panic("keystream: chacha20: " + err.Error()) // sizes are constants
	}
	clear(dst)
	s.XORKeyStream(dst, dst)
}
