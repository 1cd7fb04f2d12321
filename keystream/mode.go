package keystream

import "fmt"

// Mode is the masking rule of a key: which candidate bits of a JPEG byte
// the transform encrypts (FORMAT.md §5 and §11). It is a property of the key,
// recorded in the key file and bound into every subkey, so that decrypting
// with the wrong rule fails as a wrong key rather than silently scrambling.
type Mode string

const (
	// ModeExtended also encrypts bytes that hold no zero Huffman bit, using
	// the first zero candidate bit as the byte's fixed zero. It is the
	// default for new keys.
	ModeExtended Mode = "extended"
	// ModeStrict is the rule of Kobayashi and Kiya's paper, kept to
	// reproduce its results.
	ModeStrict Mode = "strict"
)

// ParseMode returns the Mode named s. Only the exact lower-case names
// "extended" and "strict" are accepted: the name is part of the key
// derivation, so no spelling variant may be normalised into it silently.
// Callers that want a default apply it before calling ParseMode.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeExtended, ModeStrict:
		return m, nil
	}
	return "", fmt.Errorf("keystream: unknown mode %.40q (want %q or %q)", s, ModeExtended, ModeStrict)
}

func (m Mode) valid() bool { return m == ModeExtended || m == ModeStrict }
