package exif

import (
	"encoding/binary"
	"math"
)

// ent is an IFD entry for the test builder: data is the encoded value,
// placed inline when it fits in 4 bytes and after the IFD otherwise. When
// raw is set, data is ignored and raw is written as the value field as is
// (for pointers and deliberately broken entries).
type ent struct {
	tag   uint16
	typ   Type
	count uint32
	data  []byte
	raw   *uint32
}

// tiffBuilder lays out a TIFF structure piece by piece. Offsets it returns
// are relative to the TIFF header, as in the data.
type tiffBuilder struct {
	order order
	buf   []byte // starts with the 8-byte TIFF header
}

// order is what binary.LittleEndian and binary.BigEndian implement.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func newTIFFBuilder(bo binary.ByteOrder) *tiffBuilder {
	b := &tiffBuilder{order: bo.(order)}
	if bo == binary.BigEndian {
		b.buf = []byte{'M', 'M', 0, 42, 0, 0, 0, 0}
	} else {
		b.buf = []byte{'I', 'I', 42, 0, 0, 0, 0, 0}
	}
	return b
}

// blob appends raw bytes and returns their offset.
func (b *tiffBuilder) blob(p []byte) uint32 {
	off := uint32(len(b.buf))
	b.buf = append(b.buf, p...)
	return off
}

// ifd appends an IFD (and its out-of-line values after it) and returns its
// offset.
func (b *tiffBuilder) ifd(next uint32, entries ...ent) uint32 {
	off := uint32(len(b.buf))
	b.buf = b.order.AppendUint16(b.buf, uint16(len(entries)))
	fields := make([]int, len(entries))
	for i, e := range entries {
		b.buf = b.order.AppendUint16(b.buf, e.tag)
		b.buf = b.order.AppendUint16(b.buf, uint16(e.typ))
		b.buf = b.order.AppendUint32(b.buf, e.count)
		fields[i] = len(b.buf)
		b.buf = append(b.buf, 0, 0, 0, 0)
	}
	b.buf = b.order.AppendUint32(b.buf, next)
	for i, e := range entries {
		f := b.buf[fields[i] : fields[i]+4]
		switch {
		case e.raw != nil:
			b.order.PutUint32(f, *e.raw)
		case len(e.data) <= 4:
			copy(f, e.data)
		default:
			b.order.PutUint32(f, uint32(len(b.buf)))
			b.buf = append(b.buf, e.data...)
		}
	}
	return off
}

// setIFD0 stores the offset of IFD0 in the header.
func (b *tiffBuilder) setIFD0(off uint32) { b.order.PutUint32(b.buf[4:], off) }

// exif returns the APP1 payload.
func (b *tiffBuilder) exif() []byte { return append([]byte(Header), b.buf...) }

func u32p(v uint32) *uint32 { return &v }

func (b *tiffBuilder) long(tag uint16, v uint32) ent {
	return ent{tag: tag, typ: Long, count: 1, data: b.order.AppendUint32(nil, v)}
}

func (b *tiffBuilder) short(tag uint16, v uint16) ent {
	return ent{tag: tag, typ: Short, count: 1, data: b.order.AppendUint16(nil, v)}
}

func (b *tiffBuilder) pointer(tag uint16, off uint32) ent {
	return ent{tag: tag, typ: Long, count: 1, raw: u32p(off)}
}

func ascii(tag uint16, s string) ent {
	return ent{tag: tag, typ: ASCII, count: uint32(len(s) + 1), data: append([]byte(s), 0)}
}

func (b *tiffBuilder) rationals(tag uint16, v ...float64) ent {
	var p []byte
	for _, x := range v {
		p = b.order.AppendUint32(p, uint32(math.Round(x*1000)))
		p = b.order.AppendUint32(p, 1000)
	}
	return ent{tag: tag, typ: Rational, count: uint32(len(v)), data: p}
}

// testThumbnail is a stand-in for a JPEG thumbnail: only its ends matter.
var testThumbnail = []byte{0xFF, 0xD8, 0xFF, 0xDB, 1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 0xD9}

// fullExif builds an Exif payload with IFD0, an Exif IFD, a GPS IFD with a
// position, and IFD1 with a thumbnail.
func fullExif(order binary.ByteOrder) []byte {
	b := newTIFFBuilder(order)
	thumb := b.blob(testThumbnail)
	gps := b.ifd(0,
		ent{tag: 0x0000, typ: Byte, count: 4, data: []byte{2, 3, 0, 0}},
		ascii(0x0001, "N"),
		b.rationals(0x0002, 48, 51, 30.13),
		ascii(0x0003, "E"),
		b.rationals(0x0004, 2, 17, 40.13),
	)
	exifIFD := b.ifd(0, ascii(0x9003, "2024:05:01 10:11:12"))
	ifd1 := b.ifd(0,
		b.short(TagCompression, 6),
		b.long(TagJPEGInterchangeFormat, thumb),
		b.long(TagJPEGInterchangeFormatLength, uint32(len(testThumbnail))),
	)
	ifd0 := b.ifd(ifd1,
		ascii(0x010F, "Canon EOS"),
		b.pointer(TagExifIFD, exifIFD),
		b.pointer(TagGPSIFD, gps),
	)
	b.setIFD0(ifd0)
	return b.exif()
}

// minimalExif builds an Exif payload whose IFD0 holds one inline entry.
func minimalExif(order binary.ByteOrder) []byte {
	b := newTIFFBuilder(order)
	b.setIFD0(b.ifd(0, ascii(0x010F, "Cam")))
	return b.exif()
}
