package exif

import (
	"bytes"
	"encoding/binary"
)

// MPFHeader starts every APP2 Multi-Picture Format payload (CIPA DC-007);
// the MP header, a TIFF header, follows it.
const MPFHeader = "MPF\x00"

// MP Index IFD tags.
const (
	TagMPFVersion     = 0xB000
	TagNumberOfImages = 0xB001
	TagMPEntry        = 0xB002
)

// mpEntrySize is the size of one MP entry in the MPEntry field.
const mpEntrySize = 16

// MPF is the MP Index IFD of an APP2 MPF payload.
type MPF struct {
	ByteOrder binary.ByteOrder
	// HeaderOffset is the offset of the MP header (its byte order mark)
	// in the payload (4). Image offsets are relative to the MP header's
	// position in the file.
	HeaderOffset int
	Index        *IFD
	// NumberOfImages is the NumberOfImages field, or 0 when absent.
	NumberOfImages uint32
	// Entries are the MP entries, one per image, first image first.
	Entries []MPEntry
}

// An MPEntry describes one image of a Multi-Picture file.
type MPEntry struct {
	Attribute uint32 // flags, format and type of the image
	Size      uint32 // length of the image in bytes
	// Offset is the offset of the image's SOI from the MP header; it is
	// 0 for the first image, which starts the file.
	Offset     uint32
	Dependent1 uint16
	Dependent2 uint16
}

// ParseMPF parses an APP2 MPF payload: the bytes after the segment's
// length field, starting with "MPF\0". Like Parse it returns what it could
// read along with the first problem; the result is nil only when the
// payload has no MPF and TIFF header (err then wraps ErrNotMPF).
func ParseMPF(payload []byte) (*MPF, error) {
	if !bytes.HasPrefix(payload, []byte(MPFHeader)) {
		return nil, &FormatError{Offset: 0, Reason: `payload does not start with "MPF\0"`, Err: ErrNotMPF}
	}
	t, ifd, ok := newTIFF(payload, len(MPFHeader))
	if !ok {
		return nil, &FormatError{Offset: len(MPFHeader), Reason: "no MP header after the MPF header", Err: ErrNotMPF}
	}
	m := &MPF{ByteOrder: t.order, HeaderOffset: t.base}
	m.Index = t.readIFD(ifd, "MP Index IFD")
	if m.Index == nil {
		return m, t.errs.first
	}
	if e, ok := m.Index.Find(TagNumberOfImages); ok {
		if n, ok := t.uint(e); ok {
			m.NumberOfImages = n
		} else {
			t.errs.add(e.EntryOffset, ErrBadValue, "NumberOfImages is not a single LONG")
		}
	}
	if e, ok := m.Index.Find(TagMPEntry); ok {
		v := t.value(e)
		switch {
		case v == nil:
			// The problem was recorded when the entry was read, or
			// the type is unknown.
			t.errs.add(e.EntryOffset, ErrBadValue, "MPEntry has type %v", e.Type)
		case len(v)%mpEntrySize != 0:
			t.errs.add(e.EntryOffset, ErrBadValue, "MPEntry is %d bytes, not a multiple of %d", len(v), mpEntrySize)
		}
		for i := 0; i+mpEntrySize <= len(v) && i/mpEntrySize < MaxEntries; i += mpEntrySize {
			b := v[i:]
			m.Entries = append(m.Entries, MPEntry{
				Attribute:  t.order.Uint32(b[0:]),
				Size:       t.order.Uint32(b[4:]),
				Offset:     t.order.Uint32(b[8:]),
				Dependent1: t.order.Uint16(b[12:]),
				Dependent2: t.order.Uint16(b[14:]),
			})
		}
	}
	if m.NumberOfImages != 0 && len(m.Entries) != 0 && int64(m.NumberOfImages) != int64(len(m.Entries)) {
		t.errs.add(m.Index.Offset, ErrBadValue, "NumberOfImages is %d but there are %d MP entries", m.NumberOfImages, len(m.Entries))
	}
	return m, t.errs.first
}

// Images returns the number of images the MPF segment describes: the
// number of MP entries, or NumberOfImages when there are none.
func (m *MPF) Images() int {
	if len(m.Entries) > 0 {
		return len(m.Entries)
	}
	return int(min(m.NumberOfImages, MaxEntries))
}
