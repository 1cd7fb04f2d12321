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
