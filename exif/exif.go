package exif

import (
	"bytes"
	"encoding/binary"
)

// Header starts every APP1 Exif payload; the TIFF header follows it.
const Header = "Exif\x00\x00"

// Tags this package follows or reports.
const (
	TagCompression                 = 0x0103
	TagJPEGInterchangeFormat       = 0x0201 // IFD1: thumbnail offset from the TIFF header
	TagJPEGInterchangeFormatLength = 0x0202 // IFD1: thumbnail length
	TagExifIFD                     = 0x8769
	TagGPSIFD                      = 0x8825
)

// Exif is the structure of one APP1 Exif payload. IFDs that are absent, or
// could not be read, are nil.
type Exif struct {
	// ByteOrder is binary.LittleEndian ("II") or binary.BigEndian ("MM").
	ByteOrder binary.ByteOrder
	// TIFFOffset is the offset of the TIFF header in the payload (6).
	// Offsets stored in the data are relative to it.
	TIFFOffset int
	IFD0       *IFD
	ExifIFD    *IFD
	GPS        *IFD
	IFD1       *IFD
	// Thumbnail is the JPEG thumbnail named by IFD1, or nil.
	Thumbnail *Thumbnail

	t *tiff
}

// Thumbnail locates the JPEG thumbnail of IFD1.
type Thumbnail struct {
	// TIFFOffset is JPEGInterchangeFormat as stored: the offset of the
	// thumbnail from the TIFF header.
	TIFFOffset uint32
	// Offset is the offset of the thumbnail from the start of the APP1
	// payload (TIFFOffset + Exif.TIFFOffset).
	Offset int
	Length int
	// JPEG reports whether the thumbnail starts with an SOI marker.
	JPEG bool
}

// BigEndian reports whether the data is in Motorola ("MM") byte order.
func (x *Exif) BigEndian() bool { return x.ByteOrder == binary.BigEndian }

// Value returns the bytes of e's value (a sub-slice of the payload given
// to Parse), or nil when its type is unknown or it lies outside the
// payload.
func (x *Exif) Value(e Entry) []byte { return x.t.value(e) }

// Uint returns the value of an entry holding a single BYTE, SHORT or LONG.
func (x *Exif) Uint(e Entry) (uint32, bool) { return x.t.uint(e) }

// Parse parses an APP1 Exif payload: the bytes after the segment's length
// field, starting with "Exif\0\0". It walks IFD0, the Exif IFD, the GPS IFD
// and IFD1, and locates the thumbnail.
//
// The result holds everything that could be read, also when err is not
// nil; it is nil only when the payload has no valid Exif and TIFF header
// (err then wraps ErrNotExif). err is the first problem met, a
// *FormatError; parsing goes on past problems that do not hide the rest.
func Parse(payload []byte) (*Exif, error) {
	if !bytes.HasPrefix(payload, []byte(Header)) {
		return nil, &FormatError{Offset: 0, Reason: `payload does not start with "Exif\0\0"`, Err: ErrNotExif}
	}
	t, ifd0, ok := newTIFF(payload, len(Header))
	if !ok {
		return nil, &FormatError{Offset: len(Header), Reason: "no TIFF header after the Exif header", Err: ErrNotExif}
	}
	x := &Exif{ByteOrder: t.order, TIFFOffset: t.base, t: t}
	x.IFD0 = t.readIFD(ifd0, "IFD0")
	if x.IFD0 != nil {
		x.ExifIFD = t.pointer(x.IFD0, TagExifIFD, "Exif IFD")
		x.GPS = t.pointer(x.IFD0, TagGPSIFD, "GPS IFD")
		if x.IFD0.Next != 0 {
			x.IFD1 = t.readIFD(x.IFD0.Next, "IFD1")
		}
	}
	x.Thumbnail = x.thumbnail()
	return x, t.errs.first
}

func (x *Exif) thumbnail() *Thumbnail {
	t := x.t
	oe, hasOff := x.IFD1.Find(TagJPEGInterchangeFormat)
	le, hasLen := x.IFD1.Find(TagJPEGInterchangeFormatLength)
	if !hasOff && !hasLen {
		return nil
	}
	if !hasOff || !hasLen {
		e := oe
		if !hasOff {
			e = le
		}
		t.errs.add(e.EntryOffset, ErrBadValue, "IFD1 has only one of the thumbnail offset and length")
		return nil
	}
	off, ok1 := t.uint(oe)
	n, ok2 := t.uint(le)
	if !ok1 || !ok2 {
		t.errs.add(oe.EntryOffset, ErrBadValue, "thumbnail offset or length is not a single SHORT or LONG")
		return nil
	}
	at, ok := t.span(off, uint64(n))
	if !ok {
		t.errs.add(oe.EntryOffset, ErrOutOfBounds, "thumbnail at offset %d (%d bytes) is outside the data", off, n)
		return nil
	}
	th := &Thumbnail{TIFFOffset: off, Offset: at, Length: int(n)}
	th.JPEG = n >= 2 && t.p[at] == 0xFF && t.p[at+1] == 0xD8
	return th
}

// GPSFields returns the names of the GPS IFD's entries in file order (see
// GPSTagName), or nil when there is no GPS IFD.
func (x *Exif) GPSFields() []string {
	if x.GPS == nil {
		return nil
	}
	names := make([]string, 0, len(x.GPS.Entries))
	for _, e := range x.GPS.Entries {
		names = append(names, GPSTagName(e.Tag))
	}
	return names
}
