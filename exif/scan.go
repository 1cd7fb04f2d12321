package exif

import "bytes"

// Segment locates a marker segment's payload in a file.
type Segment struct {
	Marker byte // 0xE1 for APP1, 0xE2 for APP2
	// Offset is the file offset of the payload, just after the length
	// field; Length is the payload's length.
	Offset int
	Length int
}

// ExifSegment is an APP1 Exif segment and what Parse made of it.
type ExifSegment struct {
	Segment
	Exif *Exif // nil when the payload has no valid header
	Err  error // Parse's error
}

// XMPSegment is an APP1 XMP segment.
type XMPSegment struct {
	Segment
	XMP *XMP
}

// MPFSegment is an APP2 MPF segment and what ParseMPF made of it.
type MPFSegment struct {
	Segment
	MPF *MPF // nil when the payload has no valid header
	Err error
}

// Metadata is the metadata Scan found, each kind in file order.
type Metadata struct {
	Exif []ExifSegment
	XMP  []XMPSegment
	MPF  []MPFSegment
}

// Scan walks the marker segments of a JPEG file from its SOI marker to its
// first SOS (or EOI), where metadata segments live, and parses the APP1
// Exif, APP1 XMP and APP2 MPF segments it finds. Segments of a secondary
// image (after the first EOI) are not visited.
//
// Problems inside a segment are reported in that segment's Err; the error
// Scan returns is about the marker structure (ErrNotJPEG, or a truncated
// segment as ErrMarker, with the metadata found before it).
func Scan(file []byte) (*Metadata, error) {
	md := &Metadata{}
	if len(file) < 2 || file[0] != 0xFF || file[1] != 0xD8 {
		return nil, &FormatError{Offset: 0, Reason: "no SOI marker", Err: ErrNotJPEG}
	}
	pos := 2
	for {
		// Fill bytes: any number of 0xFF before a marker.
		if pos >= len(file) {
			return md, nil // ended before SOS; not this package's concern
		}
		if file[pos] != 0xFF {
			return md, &FormatError{Offset: pos, Reason: "data where a marker was expected", Err: ErrMarker}
		}
		for pos < len(file) && file[pos] == 0xFF {
			pos++
		}
		if pos >= len(file) {
			return md, nil
		}
		m := file[pos]
		pos++
		switch {
		case m == 0xD9 || m == 0xDA:
			return md, nil
		case m == 0x01 || m >= 0xD0 && m <= 0xD8:
			continue // standalone
		case m == 0x00:
			return md, &FormatError{Offset: pos - 2, Reason: "stuffed zero byte outside entropy-coded data", Err: ErrMarker}
		}
		if pos+2 > len(file) {
			return md, &FormatError{Offset: pos - 2, Reason: "file ends inside a segment length", Err: ErrMarker}
		}
		n := int(file[pos])<<8 | int(file[pos+1])
		if n < 2 || pos+n > len(file) {
			return md, &FormatError{Offset: pos - 2, Reason: "segment length out of bounds", Err: ErrMarker}
		}
		seg := Segment{Marker: m, Offset: pos + 2, Length: n - 2}
		md.add(seg, file[seg.Offset:seg.Offset+seg.Length])
		pos += n
	}
}

func (md *Metadata) add(seg Segment, p []byte) {
	switch {
	case seg.Marker == 0xE1 && bytes.HasPrefix(p, []byte(Header)):
		x, err := Parse(p)
		md.Exif = append(md.Exif, ExifSegment{Segment: seg, Exif: x, Err: err})
	case seg.Marker == 0xE1:
		if x, err := ParseXMP(p); err == nil {
			md.XMP = append(md.XMP, XMPSegment{Segment: seg, XMP: x})
		}
	case seg.Marker == 0xE2 && bytes.HasPrefix(p, []byte(MPFHeader)):
		m, err := ParseMPF(p)
		md.MPF = append(md.MPF, MPFSegment{Segment: seg, MPF: m, Err: err})
	}
}
