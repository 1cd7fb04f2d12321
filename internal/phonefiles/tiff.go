package phonefiles

import (
	"encoding/binary"
	"slices"
)

// TIFF field types (TIFF 6.0 §2, Exif 2.32 §4.6.2).
const (
	TypeByte      = 1
	TypeASCII     = 2
	TypeShort     = 3
	TypeLong      = 4
	TypeRational  = 5
	TypeUndefined = 7
)

// Order is a byte order: binary.LittleEndian ("II") or binary.BigEndian
// ("MM").
type Order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// Field is one IFD entry: its value bytes in the TIFF's byte order.
type Field struct {
	Tag, Type uint16
	Count     uint32
	Value     []byte
}

// ASCII is a NUL-terminated ASCII field.
func ASCII(tag uint16, s string) Field {
	return Field{Tag: tag, Type: TypeASCII, Count: uint32(len(s) + 1), Value: append([]byte(s), 0)}
}

// Rationals is a RATIONAL field of numerator/denominator pairs.
func Rationals(o Order, tag uint16, nd ...uint32) Field {
	var v []byte
	for _, x := range nd {
		v = o.AppendUint32(v, x)
	}
	return Field{Tag: tag, Type: TypeRational, Count: uint32(len(nd) / 2), Value: v}
}

// Long is a single LONG field.
func Long(o Order, tag uint16, x uint32) Field {
	return Field{Tag: tag, Type: TypeLong, Count: 1, Value: o.AppendUint32(nil, x)}
}

// Short is a single SHORT field.
func Short(o Order, tag uint16, x uint16) Field {
	return Field{Tag: tag, Type: TypeShort, Count: 1, Value: o.AppendUint16(nil, x)}
}

// tiffWriter lays out a TIFF structure (TIFF 6.0 §2): the header, then
// IFDs and their values in the order they are written, children before
// the IFDs that point to them.
type tiffWriter struct {
	o   Order
	buf []byte
}

func newTIFFWriter(o Order) *tiffWriter {
	w := &tiffWriter{o: o}
	if o == Order(binary.BigEndian) {
		w.buf = append(w.buf, "MM"...)
	} else {
		w.buf = append(w.buf, "II"...)
	}
	w.buf = o.AppendUint16(w.buf, 42)
	w.buf = o.AppendUint32(w.buf, 0) // the first IFD, set by first
	return w
}

// blob writes b (word aligned) and returns its offset.
func (w *tiffWriter) blob(b []byte) uint32 {
	if len(w.buf)%2 == 1 {
		w.buf = append(w.buf, 0)
	}
	off := uint32(len(w.buf))
	w.buf = append(w.buf, b...)
	return off
}

// ifd writes an IFD of fields (sorted by tag, as TIFF requires) with its
// values after it, and returns its offset. Values of up to four bytes sit
// in the entry.
func (w *tiffWriter) ifd(fields []Field, next uint32) uint32 {
	fields = slices.Clone(fields)
	slices.SortStableFunc(fields, func(a, b Field) int { return int(a.Tag) - int(b.Tag) })
	if len(w.buf)%2 == 1 {
		w.buf = append(w.buf, 0)
	}
	off := uint32(len(w.buf))
	dataAt := int(off) + 2 + 12*len(fields) + 4
	var data []byte
	w.buf = w.o.AppendUint16(w.buf, uint16(len(fields)))
	for _, f := range fields {
		w.buf = w.o.AppendUint16(w.buf, f.Tag)
		w.buf = w.o.AppendUint16(w.buf, f.Type)
		w.buf = w.o.AppendUint32(w.buf, f.Count)
		if len(f.Value) <= 4 {
			var v [4]byte
			copy(v[:], f.Value)
			w.buf = append(w.buf, v[:]...)
			continue
		}
		if len(data)%2 == 1 {
			data = append(data, 0)
		}
		w.buf = w.o.AppendUint32(w.buf, uint32(dataAt+len(data)))
		data = append(data, f.Value...)
	}
	w.buf = w.o.AppendUint32(w.buf, next)
	w.buf = append(w.buf, data...)
	return off
}

// first points the header at the first IFD.
func (w *tiffWriter) first(off uint32) { w.o.PutUint32(w.buf[4:], off) }

// Exif tags written here.
const (
	tagExifIFD    = 0x8769
	tagGPSIFD     = 0x8825
	tagThumbOff   = 0x0201
	tagThumbLen   = 0x0202
	tagMake       = 0x010F
	tagModel      = 0x0110
	tagSoftware   = 0x0131
	tagDateTime   = 0x9003
	tagGPSVersion = 0x0000
)

// Exif is the content of an APP1 Exif segment (Exif 2.32 §4.5): IFD0, the
// Exif and GPS IFDs it points to, and IFD1 with a JPEG thumbnail. The
// pointer and thumbnail location tags are written by APP1.
type Exif struct {
	Order              Order
	IFD0, ExifIFD, GPS []Field
	IFD1               []Field // without the thumbnail's location
	Thumbnail          []byte  // nil: no IFD1
}

// APP1 serializes x as an APP1 payload ("Exif\0\0" and the TIFF
// structure): the GPS, Exif IFDs and the thumbnail first, then IFD1 and
// IFD0, so every pointer is known when it is written.
func (x Exif) APP1() []byte {
	o := x.Order
	if o == nil {
		o = binary.LittleEndian
	}
	w := newTIFFWriter(o)
	ifd0 := slices.Clone(x.IFD0)
	if len(x.ExifIFD) > 0 {
		ifd0 = append(ifd0, Long(o, tagExifIFD, w.ifd(x.ExifIFD, 0)))
	}
	if len(x.GPS) > 0 {
		ifd0 = append(ifd0, Long(o, tagGPSIFD, w.ifd(x.GPS, 0)))
	}
	var ifd1 uint32
	if x.Thumbnail != nil {
		at := w.blob(x.Thumbnail)
		fields := append(slices.Clone(x.IFD1), Long(o, tagThumbOff, at), Long(o, tagThumbLen, uint32(len(x.Thumbnail))))
		ifd1 = w.ifd(fields, 0)
	}
	w.first(w.ifd(ifd0, ifd1))
	return append([]byte("Exif\x00\x00"), w.buf...)
}

// CameraExif is the Exif a phone writes: make, model, capture time, a GPS
// position, and thumb as the IFD1 thumbnail (nil: none).
func CameraExif(o Order, thumb []byte) Exif {
	return Exif{
		Order:   o,
		IFD0:    []Field{ASCII(tagMake, "Google"), ASCII(tagModel, "Pixel 8")},
		ExifIFD: []Field{ASCII(tagDateTime, "2024:05:01 10:00:00")},
		GPS: []Field{
			{Tag: tagGPSVersion, Type: TypeByte, Count: 4, Value: []byte{2, 3, 0, 0}},
			ASCII(0x0001, "N"), Rationals(o, 0x0002, 48, 1, 51, 1, 3013, 100),
			ASCII(0x0003, "E"), Rationals(o, 0x0004, 2, 1, 17, 1, 4013, 100),
		},
		IFD1:      []Field{Short(o, 0x0103, 6)}, // Compression: JPEG
		Thumbnail: thumb,
	}
}
