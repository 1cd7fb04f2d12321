package exif

import (
	"encoding/binary"
	"strconv"
)

// Type is the type of a TIFF field (TIFF 6.0 §2, Exif 2.32 §4.6.2).
type Type uint16

// TIFF field types.
const (
	Byte      Type = 1
	ASCII     Type = 2
	Short     Type = 3
	Long      Type = 4
	Rational  Type = 5
	SByte     Type = 6
	Undefined Type = 7
	SShort    Type = 8
	SLong     Type = 9
	SRational Type = 10
	Float     Type = 11
	Double    Type = 12
	IFDType   Type = 13 // TIFF-EP: a LONG holding an IFD offset
)

var typeSizes = [...]int{0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4}

var typeNames = [...]string{"", "BYTE", "ASCII", "SHORT", "LONG", "RATIONAL", "SBYTE", "UNDEFINED",
	"SSHORT", "SLONG", "SRATIONAL", "FLOAT", "DOUBLE", "IFD"}

// Size returns the size in bytes of one value of type t, or 0 for an
// unknown type.
func (t Type) Size() int {
	if int(t) < len(typeSizes) {
		return typeSizes[t]
	}
	return 0
}

func (t Type) String() string {
	if t != 0 && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type" + strconv.Itoa(int(t))
}

// MaxEntries caps the entry count of one IFD. Real IFDs hold a few dozen
// entries; a larger count is treated as corrupt rather than walked.
const MaxEntries = 1024

// An Entry is one 12-byte IFD entry.
type Entry struct {
	Tag   uint16
	Type  Type
	Count uint32
	// ValueOffset is the entry's 4-byte value field read as a LONG in the
	// data's byte order. When Inline is false it is the offset of the
	// value from the TIFF header; when Inline is true the value itself is
	// in those 4 bytes (left-justified) and ValueOffset means nothing.
	ValueOffset uint32
	// Inline reports that the value fits in the entry's 4-byte field.
	Inline bool
	// EntryOffset is the offset of the entry from the start of the
	// payload.
	EntryOffset int
	// DataOffset is the offset of the value bytes from the start of the
	// payload (inside the entry when Inline). It is -1 when the type is
	// unknown or the value lies outside the payload.
	DataOffset int
	// DataSize is the length of the value in bytes (Count × the type's
	// size), or -1 when the type is unknown.
	DataSize int
}

// An IFD is one image file directory.
type IFD struct {
	// Offset is the IFD's offset from the start of the payload.
	Offset  int
	Entries []Entry
	// Next is the raw offset of the next IFD, relative to the TIFF header
	// (0 when there is none).
	Next uint32
}

// Find returns the first entry with the given tag.
func (d *IFD) Find(tag uint16) (Entry, bool) {
	if d != nil {
		for _, e := range d.Entries {
			if e.Tag == tag {
				return e, true
			}
		}
	}
	return Entry{}, false
}

// tiff walks the IFDs of a TIFF structure that starts at p[base:].
type tiff struct {
	p       []byte // the whole payload
	base    int    // offset of the TIFF header in p
	order   binary.ByteOrder
	visited map[uint32]bool
	errs    errorList
}

// newTIFF reads the 8-byte TIFF header at p[base:] and returns the walker
// and the offset of the first IFD.
func newTIFF(p []byte, base int) (*tiff, uint32, bool) {
	if len(p) < base+8 {
		return nil, 0, false
	}
	h := p[base : base+8]
	var order binary.ByteOrder
	switch {
	case h[0] == 'I' && h[1] == 'I':
		order = binary.LittleEndian
	case h[0] == 'M' && h[1] == 'M':
		order = binary.BigEndian
	default:
		return nil, 0, false
	}
	if order.Uint16(h[2:]) != 42 {
		return nil, 0, false
	}
	t := &tiff{p: p, base: base, order: order, visited: make(map[uint32]bool)}
	return t, order.Uint32(h[4:]), true
}

// span returns the payload offset of the n bytes at TIFF offset off, and
// whether they lie inside the payload.
func (t *tiff) span(off uint32, n uint64) (int, bool) {
	start := uint64(t.base) + uint64(off)
	if start > uint64(len(t.p)) || n > uint64(len(t.p))-start {
		return 0, false
	}
	return int(start), true
}

// readIFD reads the IFD at TIFF offset off. It returns nil when not even
// the entry count can be read, the IFD was seen before, or it claims too
// many entries; otherwise the entries that could be read.
func (t *tiff) readIFD(off uint32, name string) *IFD {
	if t.visited[off] {
		t.errs.add(t.base+int(min(uint64(off), uint64(len(t.p)))), ErrLoop, "%s at offset %d was already visited", name, off)
		return nil
	}
	t.visited[off] = true
	at, ok := t.span(off, 2)
	if !ok {
		t.errs.add(len(t.p), ErrOutOfBounds, "%s offset %d is outside the data", name, off)
		return nil
	}
	n := int(t.order.Uint16(t.p[at:]))
	if n > MaxEntries {
		t.errs.add(at, ErrTooManyEntries, "%s claims %d entries (at most %d accepted)", name, n, MaxEntries)
		return nil
	}
	d := &IFD{Offset: at}
	pos := at + 2
	for i := 0; i < n; i++ {
		if pos+12 > len(t.p) {
			t.errs.add(pos, ErrOutOfBounds, "%s is truncated after %d of %d entries", name, i, n)
			return d
		}
		d.Entries = append(d.Entries, t.entry(pos, name))
		pos += 12
	}
	if pos+4 > len(t.p) {
		// Some writers omit the next-IFD offset of the last IFD.
		t.errs.add(pos, ErrOutOfBounds, "%s has no next-IFD offset", name)
		return d
	}
	d.Next = t.order.Uint32(t.p[pos:])
	return d
}

func (t *tiff) entry(pos int, name string) Entry {
	b := t.p[pos : pos+12]
	e := Entry{
		Tag:         t.order.Uint16(b[0:]),
		Type:        Type(t.order.Uint16(b[2:])),
		Count:       t.order.Uint32(b[4:]),
		ValueOffset: t.order.Uint32(b[8:]),
		EntryOffset: pos,
		DataOffset:  -1,
		DataSize:    -1,
	}
	sz := e.Type.Size()
	if sz == 0 {
		return e
	}
	n := uint64(e.Count) * uint64(sz)
	if n > uint64(len(t.p)) {
		// Cannot be inside the payload; also keeps DataSize from
		// overflowing an int on 32-bit platforms.
		t.errs.add(pos, ErrOutOfBounds, "%s tag 0x%04x: value of %d bytes is larger than the data", name, e.Tag, n)
		return e
	}
	e.DataSize = int(n)
	if n <= 4 {
		e.Inline = true
		e.DataOffset = pos + 8
		return e
	}
	if at, ok := t.span(e.ValueOffset, n); ok {
		e.DataOffset = at
	} else {
		t.errs.add(pos, ErrOutOfBounds, "%s tag 0x%04x: value at offset %d (%d bytes) is outside the data", name, e.Tag, e.ValueOffset, n)
	}
	return e
}

// value returns the bytes of e's value, or nil when they are unavailable.
func (t *tiff) value(e Entry) []byte {
	if e.DataOffset < 0 || e.DataSize < 0 {
		return nil
	}
	return t.p[e.DataOffset : e.DataOffset+e.DataSize]
}

// uint returns the value of a single BYTE, SHORT, LONG or IFD entry.
func (t *tiff) uint(e Entry) (uint32, bool) {
	v := t.value(e)
	if e.Count != 1 || v == nil {
		return 0, false
	}
	switch e.Type {
	case Byte:
		return uint32(v[0]), true
	case Short:
		return uint32(t.order.Uint16(v)), true
	case Long, IFDType:
		return t.order.Uint32(v), true
	}
	return 0, false
}

// pointer follows a sub-IFD pointer entry (Exif IFD, GPS IFD).
func (t *tiff) pointer(parent *IFD, tag uint16, name string) *IFD {
	e, ok := parent.Find(tag)
	if !ok {
		return nil
	}
	off, ok := t.uint(e)
	if !ok || e.Type == Byte {
		t.errs.add(e.EntryOffset, ErrBadValue, "%s pointer has type %v and count %d, want one LONG", name, e.Type, e.Count)
		return nil
	}
	return t.readIFD(off, name)
}
