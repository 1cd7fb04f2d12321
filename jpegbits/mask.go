package jpegbits

import (
	"fmt"
	"math/bits"
)

// Mode selects the per-byte masking rule (FORMAT.md, "Masking rules").
// The mode is a property of the key: encrypting and decrypting with
// different modes corrupts the image.
type Mode uint8

const (
	// Extended encrypts every C bit of a byte that holds a non-candidate
	// 0 bit; otherwise it keeps the C bits up to and including the first
	// 0 C bit (the pivot) and encrypts the C bits after it.
	Extended Mode = iota
	// Strict is Kobayashi & Kiya's rule: a byte's C bits are encrypted
	// only when the byte holds a Huffman code bit of value 0.
	Strict
)

func (m Mode) String() string {
	switch m {
	case Extended:
		return "extended"
	case Strict:
		return "strict"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode parses "extended" or "strict".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "extended":
		return Extended, nil
	case "strict":
		return Strict, nil
	}
	return 0, fmt.Errorf("jpegbits: unknown masking mode %q (want extended or strict)", s)
}

// extendedMask returns the bits of data byte v to encrypt under the
// extended rule, given its C bits c (all other bits of a labelled byte are
// H, S or P). The result always leaves a 0 bit of v in place, so v^x&mask
// can never be 0xFF; and it reads only bits it does not change.
func extendedMask(v, c byte) byte {
	if ^v&^c != 0 {
		return c
	}
	z := ^v & c
	if z == 0 {
		return 0
	}
	pivot := byte(1) << (bits.Len8(z) - 1)
	return c & (pivot - 1)
}

// strictMask returns the bits to encrypt under the strict rule, given the
// C bits c and the S/P bits x of the byte (the rest are H bits).
func strictMask(v, c, x byte) byte {
	h := ^c &^ x
	if ^v&h != 0 {
		return c
	}
	return 0
}

// The word forms of the rules apply them to 8 bytes at once (SWAR): each
// operation either works bit by bit or keeps its carries and shifted-in
// bits inside their byte, so every byte of the result is what the byte
// form gives for the same byte.

const (
	low7s = 0x7f7f_7f7f_7f7f_7f7f
	low6s = 0x3f3f_3f3f_3f3f_3f3f
	low4s = 0x0f0f_0f0f_0f0f_0f0f
)

// nonzeroBytes returns x with every non-zero byte set to 0xFF.
func nonzeroBytes(x uint64) uint64 {
	// (b&0x7F)+0x7F carries into bit 7 iff b&0x7F != 0, and never out of
	// the byte.
	h := ((x&low7s + low7s) | x) &^ low7s
	return (h >> 7) * 0xFF
}

// extendedMask64 is extendedMask for 8 bytes.
func extendedMask64(v, c uint64) uint64 {
	all := nonzeroBytes(^v &^ c)
	// Smear each byte's 0 C bits down to bit 0; the bits below the first
	// (most significant) one are those after the pivot.
	z := ^v & c
	z |= z >> 1 & low7s
	z |= z >> 2 & low6s
	z |= z >> 4 & low4s
	return c & (all | z>>1&low7s)
}

// strictMask64 is strictMask for 8 bytes.
func strictMask64(v, c, x uint64) uint64 {
	return c & nonzeroBytes(^v&^c&^x)
}
