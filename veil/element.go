package veil

import (
	"bytes"
	"encoding/binary"
	"time"

	"jpegveil/keystream"
)

// An element is one value the metadata transform changes (FORMAT.md
// §23–§26): a number below radix, stored in the bytes p[off:off+size] in
// the element's encoding. Elements never overlap, and every byte that
// decides which elements a segment has (and their radices) lies outside
// all of them, so the same elements are found in a plaintext and its
// ciphertext.
type element struct {
	kind  elemKind
	off   int
	radix uint64
	// Encoding parameters: the byte order of a kindU32; the two letters of
	// a kindRef, the first byte of a kindChar's class; the digit counts of
	// a kindDigits (integer part, then fraction after a '.' when frac > 0)
	// and the length of a kindUTF8.
	order binary.ByteOrder
	a, b  byte
	width int
	frac  int
}

type elemKind uint8

const (
	kindU32    elemKind = iota // 4-byte unsigned integer in the TIFF byte order
	kindByte                   // one byte, its value
	kindRef                    // one byte, letter a (0) or b (1)
	kindDate                   // "YYYY?MM?DD", days since 1900-01-01
	kindDigits                 // decimal digits, zero-padded: width, or width "." frac
	kindChar                   // one byte of a text class (digit, upper, lower, printable)
	kindUTF8                   // a 2- or 3-byte UTF-8 sequence of a text class
)

// load reads the element's value from p.
func (e *element) load(p []byte) uint64 {
	b := p[e.off:]
	switch e.kind {
	case kindU32:
		return uint64(e.order.Uint32(b))
	case kindByte:
		return uint64(b[0])
	case kindRef:
		if b[0] == e.b {
			return 1
		}
		return 0
	case kindDate:
		d, _ := parseDate(b[:10], b[4])
		return d
	case kindDigits:
		v, _ := parseDigits(b[:e.width])
		if e.frac > 0 {
			f, _ := parseDigits(b[e.width+1 : e.width+1+e.frac])
			v = v*pow10(e.frac) + f
		}
		return v
	case kindChar:
		return uint64(b[0] - e.a)
	case kindUTF8:
		cp, _ := decodeUTF8(b[:e.width])
		return uint64(cp) - utf8ClassBase(e.width)
	}
	return 0
}

// store writes value v into p.
func (e *element) store(p []byte, v uint64) {
	b := p[e.off:]
	switch e.kind {
	case kindU32:
		e.order.PutUint32(b, uint32(v))
	case kindByte:
		b[0] = byte(v)
	case kindRef:
		b[0] = e.a
		if v == 1 {
			b[0] = e.b
		}
	case kindDate:
		t := dateEpoch.AddDate(0, 0, int(v))
		putDigits(b[0:4], uint64(t.Year()))
		putDigits(b[5:7], uint64(t.Month()))
		putDigits(b[8:10], uint64(t.Day()))
	case kindDigits:
		if e.frac > 0 {
			putDigits(b[e.width+1:e.width+1+e.frac], v%pow10(e.frac))
			v /= pow10(e.frac)
		}
		putDigits(b[:e.width], v)
	case kindChar:
		b[0] = e.a + byte(v)
	case kindUTF8:
		encodeUTF8(b[:e.width], rune(v+utf8ClassBase(e.width)))
	}
}

// transformElements applies the metadata transform to the elements of p
// in place.
func transformElements(key *keystream.Key, label string, p []byte, els []element) {
	radices, vals := loadElements(p, els)
	ifpe(key, label, radices, vals)
	storeElements(p, els, vals)
}

// loadElements returns the radices and the values of the elements of p.
func loadElements(p []byte, els []element) (radices, vals []uint64) {
	radices = make([]uint64, len(els))
	vals = make([]uint64, len(els))
	for i := range els {
		radices[i] = els[i].radix
		vals[i] = els[i].load(p)
	}
	return radices, vals
}

// storeElements writes vals into the elements of p.
func storeElements(p []byte, els []element, vals []uint64) {
	for i := range els {
		els[i].store(p, vals[i])
	}
}

// Dates: every valid date from 1900-01-01 to 2099-12-31.
var dateEpoch = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

const dateDays = 73049 // days from 1900-01-01 to 2099-12-31, both included

// parseDate reads "YYYY?MM?DD" with separator sep and returns the day
// number, or false when it is not a valid date of 1900–2099.
func parseDate(b []byte, sep byte) (uint64, bool) {
	if len(b) != 10 || b[4] != sep || b[7] != sep {
		return 0, false
	}
	y, ok1 := parseDigits(b[0:4])
	m, ok2 := parseDigits(b[5:7])
	d, ok3 := parseDigits(b[8:10])
	if !ok1 || !ok2 || !ok3 || y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 {
		return 0, false
	}
	t := time.Date(int(y), time.Month(m), int(d), 0, 0, 0, 0, time.UTC)
	if t.Day() != int(d) { // February 30 and the like
		return 0, false
	}
	return uint64(t.Sub(dateEpoch).Hours() / 24), true
}

// parseDigits reads ASCII decimal digits (at most 18).
func parseDigits(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = 10*v + uint64(c-'0')
	}
	return v, true
}

// putDigits writes v as len(b) decimal digits, zero-padded.
func putDigits(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = '0' + byte(v%10)
		v /= 10
	}
}

func pow10(n int) uint64 {
	v := uint64(1)
	for ; n > 0; n-- {
		v *= 10
	}
	return v
}

// UTF-8 classes of the text rule (FORMAT.md §25): 2-byte sequences of
// U+00A0…U+07FF and 3-byte sequences of U+0800…U+D7FF.
const (
	utf8Class2Lo, utf8Class2Hi = 0x00A0, 0x07FF
	utf8Class3Lo, utf8Class3Hi = 0x0800, 0xD7FF
)

func utf8ClassBase(width int) uint64 {
	if width == 2 {
		return utf8Class2Lo
	}
	return utf8Class3Lo
}

// decodeUTF8 decodes a 2- or 3-byte sequence that is valid and in its
// class; ok is false otherwise.
func decodeUTF8(b []byte) (rune, bool) {
	cont := func(c byte) bool { return c&0xC0 == 0x80 }
	switch {
	case len(b) == 2 && b[0]&0xE0 == 0xC0 && cont(b[1]):
		r := rune(b[0]&0x1F)<<6 | rune(b[1]&0x3F)
		return r, r >= utf8Class2Lo && r <= utf8Class2Hi
	case len(b) == 3 && b[0]&0xF0 == 0xE0 && cont(b[1]) && cont(b[2]):
		r := rune(b[0]&0x0F)<<12 | rune(b[1]&0x3F)<<6 | rune(b[2]&0x3F)
		return r, r >= utf8Class3Lo && r <= utf8Class3Hi
	}
	return 0, false
}

func encodeUTF8(b []byte, r rune) {
	if len(b) == 2 {
		b[0] = 0xC0 | byte(r>>6)
		b[1] = 0x80 | byte(r&0x3F)
		return
	}
	b[0] = 0xE0 | byte(r>>12)
	b[1] = 0x80 | byte(r>>6&0x3F)
	b[2] = 0x80 | byte(r&0x3F)
}

// textElements appends the elements of the text p[lo:hi] (FORMAT.md §25):
// ASCII digits, upper- and lower-case letters, and the 2- and 3-byte UTF-8
// classes; every other byte stays. With xml set, entity and character
// references (from '&' to a ';' among the refWindow bytes after it) stay
// as well. With printable set (Exif text), every byte 0x20–0x7E is one
// class of 95 instead of the three ASCII classes.
func textElements(els []element, p []byte, lo, hi int, xml, printable bool) []element {
	for i := lo; i < hi; {
		c := p[i]
		switch {
		case xml && c == '&':
			// A ';' within the next refWindow bytes ends a reference.
			if k := bytes.IndexByte(p[i+1:min(hi, i+1+refWindow)], ';'); k >= 0 {
				i += k + 2
				continue
			}
			i++
		case printable && c >= 0x20 && c <= 0x7E:
			els = append(els, element{kind: kindChar, off: i, radix: 95, a: 0x20})
			i++
		case c >= '0' && c <= '9':
			els = append(els, element{kind: kindChar, off: i, radix: 10, a: '0'})
			i++
		case c >= 'A' && c <= 'Z':
			els = append(els, element{kind: kindChar, off: i, radix: 26, a: 'A'})
			i++
		case c >= 'a' && c <= 'z':
			els = append(els, element{kind: kindChar, off: i, radix: 26, a: 'a'})
			i++
		case i+2 <= hi && validUTF8(p[i:i+2]):
			els = append(els, element{kind: kindUTF8, off: i, width: 2, radix: utf8Class2Hi - utf8Class2Lo + 1})
			i += 2
		case i+3 <= hi && validUTF8(p[i:i+3]):
			els = append(els, element{kind: kindUTF8, off: i, width: 3, radix: utf8Class3Hi - utf8Class3Lo + 1})
			i += 3
		default:
			i++
		}
	}
	return els
}

// refWindow is how far after a '&' the text rule looks for the ';' that
// ends a reference (FORMAT.md §25.3 rule 1).
const refWindow = 32

func validUTF8(b []byte) bool { _, ok := decodeUTF8(b); return ok }
