// Package paperkey writes a key as words a person can keep on paper and
// reads them back (FORMAT.md §33).
//
// A random key is 26 words from the BIP39 English list: 24 carry a header
// byte (format version and mode) and the 32-byte master key, 11 bits per
// word; 2 are check words of a Reed–Solomon code over GF(2^11), one word per
// symbol. Any one wrong word, and any two, is detected with certainty, not
// with the probability of a hash; one wrong word is also located, so the
// error can say which word to look at again.
package paperkey

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tyler-smith/go-bip39/wordlists"

	"jpegveil/keystream"
)

const (
	// DataWords carry the header byte and the master key: 33 bytes are
	// exactly 24 words of 11 bits.
	DataWords = 24
	// CheckWords is the number of Reed–Solomon check words.
	CheckWords = 2
	// Words is the length of a paper key.
	Words = DataWords + CheckWords

	formatVersion = 1
	bitsPerWord   = 11
)

// Header line of a printed paper key; Parse skips it like any comment.
const header = "# jpegveil paper key v1"

var modeCodes = map[keystream.Mode]byte{keystream.ModeExtended: 0, keystream.ModeStrict: 1}

// Errors.
var (
	// ErrChecksum means the words are all in the list but do not belong
	// together: a word was mistyped as another list word, or two were
	// swapped. A *ChecksumError says which word, when it can.
	ErrChecksum = errors.New("the words do not match their check words")
	// ErrFormat means the text is not a paper key of this version.
	ErrFormat = errors.New("not a jpegveil paper key")
)

// WordError is a word that is not in the word list.
type WordError struct {
	Position int // 1-based
	Word     string
}

func (e *WordError) Error() string {
	return fmt.Sprintf("word %d %q is not in the word list (check its spelling)", e.Position, e.Word)
}

// ChecksumError is a checksum mismatch; Position is the 1-based position of
// the one word that explains it, or 0 if more than one word is wrong.
type ChecksumError struct{ Position int }

func (e *ChecksumError) Error() string {
	if e.Position == 0 {
		return ErrChecksum.Error() + ": more than one word is wrong"
	}
	return fmt.Sprintf("%v: word %d is probably wrong", ErrChecksum, e.Position)
}

func (e *ChecksumError) Unwrap() error { return ErrChecksum }

// Encode returns the paper key of a random master key in mode.
func Encode(master []byte, mode keystream.Mode) ([]string, error) {
	if len(master) != keystream.MasterKeySize {
		return nil, fmt.Errorf("paperkey: master key must be %d bytes, got %d", keystream.MasterKeySize, len(master))
	}
	code, ok := modeCodes[mode]
	if !ok {
		return nil, fmt.Errorf("paperkey: unknown mode %q", mode)
	}
	data := append([]byte{formatVersion<<4 | code}, master...)
	syms := make([]uint16, Words)
	copy(syms, bytesToSymbols(data))
	c0, c1 := checkSymbols(syms[:DataWords])
	syms[DataWords], syms[DataWords+1] = c0, c1
	words := make([]string, Words)
	for i, s := range syms {
		words[i] = wordlists.English[s]
	}
	return words, nil
}

// Decode returns the master key and mode of a paper key's words. Words may
// be abbreviated to their first four letters, which are unique in the list.
func Decode(words []string) (master []byte, mode keystream.Mode, err error) {
	// Unknown words first: a misspelt word is the likelier mistake, and
	// naming it helps more than a count.
	syms := make([]uint16, len(words))
	for i, w := range words {
		s, ok := lookup(w)
		if !ok {
			return nil, "", &WordError{Position: i + 1, Word: w}
		}
		syms[i] = s
	}
	if len(words) != Words {
		return nil, "", fmt.Errorf("%w: %d words, want %d", ErrFormat, len(words), Words)
	}
	if s0, s1 := syndromes(syms); s0 != 0 || s1 != 0 {
		return nil, "", &ChecksumError{Position: locate(s0, s1)}
	}
	data := symbolsToBytes(syms[:DataWords])
	if v := data[0] >> 4; v != formatVersion {
		return nil, "", fmt.Errorf("%w: format version %d (this jpegveil reads %d)", ErrFormat, v, formatVersion)
	}
	for m, c := range modeCodes {
		if data[0]&0x0F == c {
			return data[1:], m, nil
		}
	}
	return nil, "", fmt.Errorf("%w: unknown mode code %d", ErrFormat, data[0]&0x0F)
}

// index maps each word, and its first four letters, to its symbol.
var index = func() map[string]uint16 {
	m := make(map[string]uint16, 2*len(wordlists.English))
	for i, w := range wordlists.English {
		m[w] = uint16(i)
		if len(w) > 4 {
			m[w[:4]] = uint16(i)
		}
	}
	return m
}()

func lookup(w string) (uint16, bool) {
	s, ok := index[strings.ToLower(w)]
	return s, ok
}

// bytesToSymbols splits data (a multiple of 11 bytes) into 11-bit symbols,
// most significant bit first.
func bytesToSymbols(data []byte) []uint16 {
	syms := make([]uint16, 0, len(data)*8/bitsPerWord)
	var acc uint32
	n := 0
	for _, b := range data {
		acc = acc<<8 | uint32(b)
		n += 8
		for n >= bitsPerWord {
			n -= bitsPerWord
			syms = append(syms, uint16(acc>>n)&0x7FF)
		}
	}
	return syms
}

func symbolsToBytes(syms []uint16) []byte {
	out := make([]byte, 0, len(syms)*bitsPerWord/8)
	var acc uint32
	n := 0
	for _, s := range syms {
		acc = acc<<bitsPerWord | uint32(s)
		n += bitsPerWord
		for n >= 8 {
			n -= 8
			out = append(out, byte(acc>>n))
		}
	}
	return out
}

// Format returns the printable paper key: a comment header naming the key
// ID and mode, then the numbered words, four to a line.
func Format(words []string, keyID string, mode keystream.Mode) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s. Key ID %s, mode %s.\n", header, keyID, mode)
	b.WriteString("# Anyone with these words can decrypt your photos; without them or the\n")
	b.WriteString("# key file the photos are lost. Keep them on paper, somewhere safe.\n")
	for i, w := range words {
		cell := fmt.Sprintf("%2d. %s", i+1, w)
		if i%4 == 3 || i == len(words)-1 {
			b.WriteString(cell + "\n")
		} else {
			fmt.Fprintf(&b, "%-14s", cell)
		}
	}
	return b.String()
}

// Parse extracts the words from a printed or typed paper key: lines
// beginning with '#' are skipped, and so are the numbers ("1." or "1")
// before words and punctuation around them ("abandon," or "(zoo)").
func Parse(text string) []string {
	var words []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if strings.Trim(f, "0123456789.:)") == "" {
				continue
			}
			words = append(words, strings.Trim(f, ".,;:()\"'"))
		}
	}
	return words
}
