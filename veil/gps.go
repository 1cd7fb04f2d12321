package veil

import (
	"encoding/binary"
	"fmt"
	"math"

	"jpegveil/exif"
)

// GPS IFD tags that locate the photo (FORMAT.md §23).
const (
	gpsLatitudeRef      = 0x0001
	gpsLatitude         = 0x0002
	gpsLongitudeRef     = 0x0003
	gpsLongitude        = 0x0004
	gpsAltitudeRef      = 0x0005
	gpsAltitude         = 0x0006
	gpsTimeStamp        = 0x0007
	gpsDestLatitudeRef  = 0x0013
	gpsDestLatitude     = 0x0014
	gpsDestLongitudeRef = 0x0015
	gpsDestLongitude    = 0x0016
	gpsAreaInformation  = 0x001C
	gpsDateStamp        = 0x001D
)

// maxAltitude is the altitude bound in metres: an encrypted altitude is
// below it, and a larger one is not encrypted.
const maxAltitude = 100000

// span is a byte range [lo, hi) of a payload.
type span struct{ lo, hi int }

// overlaps reports whether s and t share a byte (an empty span shares
// none).
func (s span) overlaps(t span) bool {
	return s.lo < s.hi && t.lo < t.hi && s.lo < t.hi && t.lo < s.hi
}

// spans is a set of byte ranges.
type spans []span

func (ss spans) overlaps(t span) bool {
	for _, s := range ss {
		if s.overlaps(t) {
			return true
		}
	}
	return false
}

// exifStructure returns the bytes of an Exif payload that decide what the
// metadata transform does (FORMAT.md §22): the Exif and TIFF headers; for
// each IFD the parse walks (IFD0, Exif IFD, GPS IFD, IFD1) its entry count
// and entries, except the value fields of GPS IFD entries whose value is
// stored inline; and IFD0's next-IFD offset (the only one followed).
func exifStructure(p []byte, x *exif.Exif) spans {
	ss := spans{{0, min(len(p), x.TIFFOffset+8)}}
	for _, d := range []*exif.IFD{x.IFD0, x.ExifIFD, x.GPS, x.IFD1} {
		if d == nil || d.Offset+2 > len(p) {
			continue
		}
		n := int(x.ByteOrder.Uint16(p[d.Offset:]))
		ss = append(ss, span{d.Offset, d.Offset + 2})
		entries := d.Offset + 2 + 12*n
		if d != x.GPS {
			ss = append(ss, span{d.Offset + 2, min(len(p), entries)})
		} else {
			for i := 0; i < n; i++ {
				e := d.Offset + 2 + 12*i
				if e >= len(p) {
					break
				}
				hi := e + 12
				if i < len(d.Entries) && d.Entries[i].Inline {
					hi = e + 8
				}
				ss = append(ss, span{e, min(hi, len(p))})
			}
		}
		if d == x.IFD0 {
			ss = append(ss, span{min(entries, len(p)), min(entries+4, len(p))})
		}
	}
	return ss
}

// thumbnailSpan returns the byte range IFD1 gives the thumbnail, if any.
func thumbnailSpan(x *exif.Exif) (span, bool) {
	if th := x.Thumbnail; th != nil {
		return span{th.Offset, th.Offset + th.Length}, true
	}
	return span{}, false
}

// gpsPlan is what the metadata transform does with one GPS IFD.
type gpsPlan struct {
	els      []element
	fields   []string // location fields that are encrypted
	problems []string // location fields that cannot be
}

// planGPS finds the elements of the GPS IFD of the Exif payload p
// (FORMAT.md §23).
func planGPS(p []byte, x *exif.Exif) gpsPlan {
	var pl gpsPlan
	if x.GPS == nil {
		return pl
	}
	fixed := exifStructure(p, x)
	th, hasThumb := thumbnailSpan(x)
	for i, e := range x.GPS.Entries {
		name := exif.GPSTagName(e.Tag)
		if !isGPSLocationTag(e.Tag) {
			continue
		}
		v := x.Value(e)
		if v == nil {
			pl.problems = append(pl.problems, name+": value outside the segment or of unknown type")
			continue
		}
		s := span{e.DataOffset, e.DataOffset + e.DataSize}
		if hasThumb && s.overlaps(th) {
			// The thumbnail has just been transformed (or not, with the
			// switch off): its bytes differ between the two directions,
			// so they are not read to judge the value.
			pl.problems = append(pl.problems, name+": value overlaps the thumbnail")
			continue
		}
		clash := fixed.overlaps(s)
		for j, o := range x.GPS.Entries {
			if j != i && o.DataOffset >= 0 && o.DataSize > 0 && s.overlaps(span{o.DataOffset, o.DataOffset + o.DataSize}) {
				clash = true
			}
		}
		if clash {
			if !emptyValue(v, e.Type) {
				pl.problems = append(pl.problems, name+": value overlaps other Exif data")
			}
			continue
		}
		els, why := gpsFieldElements(p, x.ByteOrder, e)
		switch {
		case why == "" && len(els) > 0:
			pl.els = append(pl.els, els...)
			pl.fields = append(pl.fields, name)
		case why != "" && !emptyValue(v, e.Type):
			pl.problems = append(pl.problems, name+": "+why)
		}
	}
	return pl
}

func isGPSLocationTag(tag uint16) bool {
	switch tag {
	case gpsLatitudeRef, gpsLatitude, gpsLongitudeRef, gpsLongitude, gpsAltitudeRef, gpsAltitude,
		gpsTimeStamp, gpsDestLatitudeRef, gpsDestLatitude, gpsDestLongitudeRef, gpsDestLongitude,
		gpsAreaInformation, gpsDateStamp:
		return true
	}
	return false
}

// emptyValue reports a value that carries no information: all zero bytes,
// or for ASCII only NUL, space and ':' (a blank date).
func emptyValue(v []byte, t exif.Type) bool {
	for _, c := range v {
		if c != 0 && (t != exif.ASCII || c != ' ' && c != ':') {
			return false
		}
	}
	return true
}

// gpsFieldElements returns the elements of one location field, or why it
// cannot be encrypted.
func gpsFieldElements(p []byte, order binary.ByteOrder, e exif.Entry) ([]element, string) {
	off := e.DataOffset
	want := func(t exif.Type, count uint32) string {
		if e.Type != t || e.Count != count {
			return fmt.Sprintf("type %v count %d, want %v count %d", e.Type, e.Count, t, count)
		}
		return ""
	}
	switch e.Tag {
	case gpsLatitudeRef, gpsDestLatitudeRef, gpsLongitudeRef, gpsDestLongitudeRef:
		if w := want(exif.ASCII, 2); w != "" {
			return nil, w
		}
		a, b := byte('N'), byte('S')
		if e.Tag == gpsLongitudeRef || e.Tag == gpsDestLongitudeRef {
			a, b = 'E', 'W'
		}
		if c := p[off]; c != a && c != b || p[off+1] != 0 {
			return nil, fmt.Sprintf("value %q is not %q or %q", p[off:off+2], string(a), string(b))
		}
		return []element{{kind: kindRef, off: off, radix: 2, a: a, b: b}}, ""
	case gpsLatitude, gpsDestLatitude, gpsLongitude, gpsDestLongitude, gpsTimeStamp:
		if w := want(exif.Rational, 3); w != "" {
			return nil, w
		}
		return sexagesimalElements(p, order, e)
	case gpsAltitudeRef:
		if w := want(exif.Byte, 1); w != "" {
			return nil, w
		}
		if p[off] > 1 {
			return nil, fmt.Sprintf("value %d is not 0 or 1", p[off])
		}
		return []element{{kind: kindByte, off: off, radix: 2}}, ""
	case gpsAltitude:
		if w := want(exif.Rational, 1); w != "" {
			return nil, w
		}
		num, den := uint64(order.Uint32(p[off:])), uint64(order.Uint32(p[off+4:]))
		if den == 0 {
			return nil, "the denominator is 0"
		}
		r := min(maxAltitude*den, math.MaxUint32+1)
		if num >= r {
			return nil, fmt.Sprintf("%d/%d m is outside the encrypted range", num, den)
		}
		return []element{{kind: kindU32, off: off, radix: r, order: order}}, ""
	case gpsDateStamp:
		if w := want(exif.ASCII, 11); w != "" {
			return nil, w
		}
		if _, ok := parseDate(p[off:off+10], ':'); !ok || p[off+10] != 0 {
			return nil, fmt.Sprintf("%q is not a date of 1900–2099", p[off:off+10])
		}
		return []element{{kind: kindDate, off: off, radix: dateDays}}, ""
	case gpsAreaInformation:
		if e.Type != exif.Undefined || e.Count < 8 {
			return nil, fmt.Sprintf("type %v count %d, want UNDEFINED with a character code", e.Type, e.Count)
		}
		code := string(p[off : off+8])
		if code != "ASCII\x00\x00\x00" && code != "\x00\x00\x00\x00\x00\x00\x00\x00" {
			if emptyValue(p[off+8:off+e.DataSize], exif.Undefined) {
				return nil, ""
			}
			return nil, fmt.Sprintf("character code %q is not ASCII", code)
		}
		return textElements(nil, p, off+8, off+e.DataSize, false, true), ""
	}
	return nil, ""
}

// sexagesimalElements encrypts the three rationals of a latitude,
// longitude or time of day in range.
func sexagesimalElements(p []byte, order binary.ByteOrder, e exif.Entry) ([]element, string) {
	off := e.DataOffset
	limit := uint64(90)
	switch e.Tag {
	case gpsLongitude, gpsDestLongitude:
		limit = 180
	case gpsTimeStamp:
		limit = 24
	}
	var num, den [3]uint64
	for i := range 3 {
		num[i] = uint64(order.Uint32(p[off+8*i:]))
		den[i] = uint64(order.Uint32(p[off+8*i+4:]))
		if den[i] == 0 {
			return nil, "a denominator is 0"
		}
	}
	const c = math.MaxUint32 + 1
	radices := sexagesimalRadices(limit, den, [3]uint64{c, c, c})
	els := make([]element, 3)
	for i := range 3 {
		if num[i] >= radices[i] {
			return nil, fmt.Sprintf("%d/%d/%d %d/%d/%d is outside the encrypted range", num[0], num[1], num[2], den[0], den[1], den[2])
		}
		els[i] = element{kind: kindU32, off: off + 8*i, radix: radices[i], order: order}
	}
	return els, ""
}

// sexagesimalRadices returns the radices of the numerators of a
// degrees/minutes/seconds (or hours/minutes/seconds) triple with the given
// denominators, such that every triple of numerators below them stays
// below limit units (FORMAT.md §23). Products saturate at each element's
// cap, and no radix exceeds its cap:
//
//	r0 = min(sat(limit − 1, d0) + 1, cap0)    whole units up to limit − 1
//	r1 = sat(60, d1)                          minutes below 60
//	r2 = min((sat(60, d2) − 1) div d1 + 1, cap2)  seconds worth less than 1/d1 minute
func sexagesimalRadices(limit uint64, den, caps [3]uint64) [3]uint64 {
	sat := func(a, b, c uint64) uint64 { // min(a·b, c) without overflow
		if a != 0 && b > c/a {
			return c
		}
		return min(a*b, c)
	}
	return [3]uint64{
		min(sat(limit-1, den[0], caps[0])+1, caps[0]),
		sat(60, den[1], caps[1]),
		min((sat(60, den[2], caps[2])-1)/den[1]+1, caps[2]),
	}
}
