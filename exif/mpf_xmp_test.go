package exif

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// mpfPayload builds an APP2 MPF payload with the given MP entries.
func mpfPayload(bo binary.ByteOrder, images uint32, entries ...MPEntry) []byte {
	b := newTIFFBuilder(bo)
	order := b.order
	var v []byte
	for _, e := range entries {
		v = order.AppendUint32(v, e.Attribute)
		v = order.AppendUint32(v, e.Size)
		v = order.AppendUint32(v, e.Offset)
		v = order.AppendUint16(v, e.Dependent1)
		v = order.AppendUint16(v, e.Dependent2)
	}
	b.setIFD0(b.ifd(0,
		ent{tag: TagMPFVersion, typ: Undefined, count: 4, data: []byte("0100")},
		b.long(TagNumberOfImages, images),
		ent{tag: TagMPEntry, typ: Undefined, count: uint32(len(v)), data: v},
	))
	return append([]byte(MPFHeader), b.buf...)
}

func TestParseMPF(t *testing.T) {
	want := []MPEntry{
		{Attribute: 0x20030000, Size: 60007, Offset: 0},
		{Attribute: 0x00020002, Size: 59000, Offset: 60100, Dependent1: 1, Dependent2: 2},
	}
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			m, err := ParseMPF(mpfPayload(o.order, 2, want...))
			if err != nil {
				t.Fatal(err)
			}
			if m.ByteOrder != o.order || m.HeaderOffset != 4 || m.NumberOfImages != 2 || m.Images() != 2 {
				t.Errorf("MPF %+v", m)
			}
			if !slices.Equal(m.Entries, want) {
				t.Errorf("entries %+v, want %+v", m.Entries, want)
			}
		})
	}
}

func TestParseMPFErrors(t *testing.T) {
	e := MPEntry{Size: 10}
	tests := []struct {
		name   string
		p      []byte
		want   error
		images int
	}{
		{"not mpf", []byte("MPX\x00II*\x00\x08\x00\x00\x00"), ErrNotMPF, -1},
		{"no tiff header", []byte("MPF\x00XX"), ErrNotMPF, -1},
		{"count mismatch", mpfPayload(binary.BigEndian, 3, e, e), ErrBadValue, 2},
		{"entry size", mpfPayload(binary.LittleEndian, 1, e)[:4+8+2+3*12+4+15], ErrOutOfBounds, 1},
		{"index outside", []byte("MPF\x00MM\x00\x2a\x00\x00\x10\x00"), ErrOutOfBounds, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMPF(tt.p)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if tt.images < 0 {
				if m != nil {
					t.Fatalf("want no result")
				}
				return
			}
			if m.Images() != tt.images {
				t.Errorf("%d images, want %d", m.Images(), tt.images)
			}
		})
	}
}

func TestParseXMP(t *testing.T) {
	tests := []struct {
		name     string
		p        string
		extended bool
		location []string
		err      error
	}{
		{"attribute form", XMPHeader + `<x:xmpmeta><rdf:Description exif:GPSLatitude="48,51.5N" exif:GPSLongitude="2,17.6E" xmp:Rating="5"/></x:xmpmeta>`,
			false, []string{"exif:GPSLatitude", "exif:GPSLongitude"}, nil},
		{"element form", XMPHeader + "<rdf:Description>\n<exif:GPSAltitude>35/1</exif:GPSAltitude>\n<photoshop:City>Paris</photoshop:City><Iptc4xmpExt:LocationShown/>",
			false, []string{"exif:GPSAltitude", "photoshop:City", "Iptc4xmpExt:LocationShown"}, nil},
		{"no location", XMPHeader + `<rdf:Description xmp:CreatorTool="x" crs:City="not a place prop" dc:City="no"/>`,
			false, nil, nil},
		{"value is not a name", XMPHeader + `<rdf:Description xmp:Label="exif:GPSLatitude"/>`,
			false, nil, nil},
		{"extended", XMPExtendedHeader + "0123456789abcdef0123456789abcdef" + `<exif:GPSLongitude>1</exif:GPSLongitude>`,
			true, []string{"exif:GPSLongitude"}, nil},
		{"truncated at a name", XMPHeader + "<exif:GPSLatitude", false, nil, nil},
		{"colon at start", XMPHeader + ":GPSLatitude=", false, nil, nil},
		{"not xmp", "http://ns.adobe.com/xap/1.0/", false, nil, ErrNotXMP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := ParseXMP([]byte(tt.p))
			if !errors.Is(err, tt.err) || (err == nil) != (x != nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if x == nil {
				return
			}
			if x.Extended != tt.extended || !slices.Equal(x.Location, tt.location) {
				t.Errorf("got extended %v location %q, want %v %q", x.Extended, x.Location, tt.extended, tt.location)
			}
		})
	}
}

// jpegWith builds a JPEG-like file: SOI, the given segments, SOS.
func jpegWith(segs ...[]byte) []byte {
	f := []byte{0xFF, 0xD8}
	for _, s := range segs {
		f = append(f, s...)
	}
	return append(f, 0xFF, 0xDA, 0, 2, 0x12, 0x34, 0xFF, 0xD9)
}

func segment(marker byte, payload []byte) []byte {
	return append([]byte{0xFF, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
}

func TestScan(t *testing.T) {
	ex := fullExif(binary.LittleEndian)
	xmp := []byte(XMPHeader + `<x exif:GPSLatitude="1"/>`)
	mpf := mpfPayload(binary.BigEndian, 2, MPEntry{Size: 100}, MPEntry{Size: 50, Offset: 100})
	f := jpegWith(segment(0xE0, []byte("JFIF\x00\x01\x02")), []byte{0xFF, 0xFF}, segment(0xE1, ex),
		segment(0xE1, xmp), segment(0xE2, mpf), segment(0xE1, []byte("other")), segment(0xFE, []byte("comment")))
	md, err := Scan(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Exif) != 1 || len(md.XMP) != 1 || len(md.MPF) != 1 {
		t.Fatalf("found %d Exif, %d XMP, %d MPF", len(md.Exif), len(md.XMP), len(md.MPF))
	}
	es := md.Exif[0]
	if es.Err != nil || es.Marker != 0xE1 || es.Length != len(ex) || string(f[es.Offset:es.Offset+es.Length]) != string(ex) {
		t.Errorf("Exif segment %+v", es.Segment)
	}
	th := es.Exif.Thumbnail
	if got := f[es.Offset+th.Offset : es.Offset+th.Offset+th.Length]; string(got) != string(testThumbnail) {
		t.Errorf("thumbnail at file offset %d: % x", es.Offset+th.Offset, got)
	}
	if x := md.XMP[0]; !slices.Equal(x.XMP.Location, []string{"exif:GPSLatitude"}) || string(f[x.Offset:x.Offset+x.Length]) != string(xmp) {
		t.Errorf("XMP segment %+v %+v", x.Segment, x.XMP)
	}
	if m := md.MPF[0]; m.Err != nil || m.MPF.Images() != 2 {
		t.Errorf("MPF segment %+v %+v", m.Segment, m.MPF)
	}
}

func TestScanErrors(t *testing.T) {
	tests := []struct {
		name string
		f    []byte
		want error
		exif int
	}{
		{"empty", nil, ErrNotJPEG, -1},
		{"png", []byte("\x89PNG\r\n"), ErrNotJPEG, -1},
		{"truncated segment", jpegWith(segment(0xE1, minimalExif(binary.BigEndian)))[:20], ErrMarker, 0},
		{"garbage between segments", append(jpegWith(segment(0xE1, minimalExif(binary.BigEndian)))[:2+4+len(minimalExif(binary.BigEndian))], 0x00, 0xFF, 0xDA), ErrMarker, 1},
		{"length below 2", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0, 1}, ErrMarker, 0},
		{"stuffed zero", []byte{0xFF, 0xD8, 0xFF, 0x00}, ErrMarker, 0},
		{"ends after SOI", []byte{0xFF, 0xD8}, nil, 0},
		{"ends in fill", []byte{0xFF, 0xD8, 0xFF, 0xFF}, nil, 0},
		{"ends in length", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0}, ErrMarker, 0},
		{"standalone markers", []byte{0xFF, 0xD8, 0xFF, 0xD0, 0xFF, 0x01, 0xFF, 0xD9}, nil, 0},
		{"broken exif is reported in the segment", jpegWith(segment(0xE1, []byte("Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff"))), nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := Scan(tt.f)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if tt.exif < 0 {
				if md != nil {
					t.Fatal("want no result")
				}
				return
			}
			if len(md.Exif) != tt.exif {
				t.Errorf("%d Exif segments, want %d", len(md.Exif), tt.exif)
			}
		})
	}
}
