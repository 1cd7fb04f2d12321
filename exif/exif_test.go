package exif

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

var orders = []struct {
	name  string
	order binary.ByteOrder
}{
	{"II", binary.LittleEndian},
	{"MM", binary.BigEndian},
}

func TestParseFull(t *testing.T) {
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			p := fullExif(o.order)
			x, err := Parse(p)
			if err != nil {
				t.Fatal(err)
			}
			if x.ByteOrder != o.order || x.BigEndian() != (o.name == "MM") || x.TIFFOffset != 6 {
				t.Errorf("byte order %v, TIFF offset %d", x.ByteOrder, x.TIFFOffset)
			}
			if x.IFD0 == nil || x.ExifIFD == nil || x.GPS == nil || x.IFD1 == nil {
				t.Fatalf("missing IFD: IFD0 %v, Exif %v, GPS %v, IFD1 %v", x.IFD0 != nil, x.ExifIFD != nil, x.GPS != nil, x.IFD1 != nil)
			}
			want := []string{"GPSVersionID", "GPSLatitudeRef", "GPSLatitude", "GPSLongitudeRef", "GPSLongitude"}
			if got := x.GPSFields(); !slices.Equal(got, want) {
				t.Errorf("GPS fields %q, want %q", got, want)
			}
			lat, _ := x.GPS.Find(0x0002)
			if lat.Type != Rational || lat.Count != 3 || lat.Inline || lat.DataSize != 24 {
				t.Errorf("GPSLatitude entry %+v", lat)
			}
			if lat.DataOffset != x.TIFFOffset+int(lat.ValueOffset) {
				t.Errorf("GPSLatitude DataOffset %d, ValueOffset %d", lat.DataOffset, lat.ValueOffset)
			}
			if v := x.Value(lat); len(v) != 24 || o.order.Uint32(v) != 48000 || o.order.Uint32(v[4:]) != 1000 {
				t.Errorf("GPSLatitude value % x", v)
			}
			ref, _ := x.GPS.Find(0x0001)
			if !ref.Inline || ref.DataOffset != ref.EntryOffset+8 || string(x.Value(ref)) != "N\x00" {
				t.Errorf("GPSLatitudeRef entry %+v value %q", ref, x.Value(ref))
			}
			ver, _ := x.GPS.Find(0x0000)
			if !bytes.Equal(x.Value(ver), []byte{2, 3, 0, 0}) {
				t.Errorf("GPSVersionID value % x", x.Value(ver))
			}
			th := x.Thumbnail
			if th == nil {
				t.Fatal("no thumbnail")
			}
			if th.Length != len(testThumbnail) || !th.JPEG || th.Offset != int(th.TIFFOffset)+6 {
				t.Errorf("thumbnail %+v", th)
			}
			if got := p[th.Offset : th.Offset+th.Length]; !bytes.Equal(got, testThumbnail) {
				t.Errorf("thumbnail bytes % x", got)
			}
			if c, _ := x.IFD1.Find(TagCompression); func() uint32 { v, _ := x.Uint(c); return v }() != 6 {
				t.Errorf("IFD1 compression entry %+v", c)
			}
			if dt, _ := x.ExifIFD.Find(0x9003); string(x.Value(dt)) != "2024:05:01 10:11:12\x00" {
				t.Errorf("DateTimeOriginal %q", x.Value(dt))
			}
		})
	}
}

func TestParseMinimal(t *testing.T) {
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			x, err := Parse(minimalExif(o.order))
			if err != nil {
				t.Fatal(err)
			}
			if x.IFD0 == nil || len(x.IFD0.Entries) != 1 || x.GPS != nil || x.ExifIFD != nil || x.IFD1 != nil || x.Thumbnail != nil {
				t.Fatalf("unexpected structure %+v", x)
			}
			e := x.IFD0.Entries[0]
			if e.Tag != 0x010F || e.Type != ASCII || e.Count != 4 || !e.Inline || string(x.Value(e)) != "Cam\x00" {
				t.Errorf("entry %+v value %q", e, x.Value(e))
			}
			if x.GPSFields() != nil {
				t.Errorf("GPS fields without a GPS IFD")
			}
		})
	}
}

// TestParseErrors builds broken payloads in both byte orders and checks
// the error class and that what could be parsed is still there.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *tiffBuilder) []byte
		want  error
		check func(t *testing.T, x *Exif)
	}{
		{
			name:  "not exif",
			build: func(b *tiffBuilder) []byte { return append([]byte("Exif\x00\x01"), b.buf...) },
			want:  ErrNotExif,
		},
		{
			name:  "bad tiff magic",
			build: func(b *tiffBuilder) []byte { b.buf[2], b.buf[3] = 43, 43; return b.exif() },
			want:  ErrNotExif,
		},
		{
			name:  "short header",
			build: func(b *tiffBuilder) []byte { return b.exif()[:10] },
			want:  ErrNotExif,
		},
		{
			name:  "IFD0 outside",
			build: func(b *tiffBuilder) []byte { b.setIFD0(1 << 30); return b.exif() },
			want:  ErrOutOfBounds,
			check: func(t *testing.T, x *Exif) {
				if x == nil || x.IFD0 != nil {
					t.Errorf("want a result without IFD0")
				}
			},
		},
		{
			name: "IFD0 offset wraps",
			build: func(b *tiffBuilder) []byte {
				b.setIFD0(b.ifd(0, ascii(0x010F, "Cam")))
				b.setIFD0(math32)
				return b.exif()
			},
			want: ErrOutOfBounds,
		},
		{
			name: "IFD1 loops to IFD0",
			build: func(b *tiffBuilder) []byte {
				// IFD0 is the first thing after the header: offset 8.
				b.setIFD0(b.ifd(8, ascii(0x010F, "Cam")))
				return b.exif()
			},
			want: ErrLoop,
			check: func(t *testing.T, x *Exif) {
				if x.IFD0 == nil || len(x.IFD0.Entries) != 1 || x.IFD1 != nil {
					t.Errorf("want IFD0 and no IFD1")
				}
			},
		},
		{
			name: "GPS pointer to IFD0",
			build: func(b *tiffBuilder) []byte {
				b.setIFD0(b.ifd(0, b.pointer(TagGPSIFD, 8)))
				return b.exif()
			},
			want: ErrLoop,
		},
		{
			name: "Exif and GPS pointers to the same IFD",
			build: func(b *tiffBuilder) []byte {
				sub := b.ifd(0, ascii(0x0001, "N"))
				b.setIFD0(b.ifd(0, b.pointer(TagExifIFD, sub), b.pointer(TagGPSIFD, sub)))
				return b.exif()
			},
			want: ErrLoop,
			check: func(t *testing.T, x *Exif) {
				if x.ExifIFD == nil || x.GPS != nil {
					t.Errorf("want the Exif IFD read once")
				}
			},
		},
		{
			name: "too many entries",
			build: func(b *tiffBuilder) []byte {
				b.setIFD0(b.blob(b.order.AppendUint16(nil, MaxEntries+1)))
				b.blob(make([]byte, 12*(MaxEntries+1)+4))
				return b.exif()
			},
			want: ErrTooManyEntries,
		},
		{
			name: "truncated IFD",
			build: func(b *tiffBuilder) []byte {
				b.setIFD0(b.ifd(0, ascii(0x010F, "Cam"), ascii(0x0110, "X1")))
				p := b.exif()
				return p[:len(p)-4-12+5] // cut inside the second entry
			},
			want: ErrOutOfBounds,
			check: func(t *testing.T, x *Exif) {
				if x.IFD0 == nil || len(x.IFD0.Entries) != 1 {
					t.Errorf("want the first entry of IFD0")
				}
			},
		},
		{
			name: "value outside",
			build: func(b *tiffBuilder) []byte {
				b.setIFD0(b.ifd(0, ent{tag: 0x010F, typ: ASCII, count: 100, raw: u32p(1000)}, ascii(0x0110, "X1")))
				return b.exif()
			},
			want: ErrOutOfBounds,
			check: func(t *testing.T, x *Exif) {
				if len(x.IFD0.Entries) != 2 || x.IFD0.Entries[0].DataOffset != -1 || x.Value(x.IFD0.Entries[0]) != nil {
					t.Errorf("want both entries, the first without data: %+v", x.IFD0.Entries)
				}
			},
		},
		{
			name: "count overflow",
			build: func(b *tiffBuilder) []byte {
				b.setIFD0(b.ifd(0, ent{tag: 0x0002, typ: Double, count: math32, raw: u32p(8)}))
				return b.exif()
			},
			want: ErrOutOfBounds,
			check: func(t *testing.T, x *Exif) {
				if e := x.IFD0.Entries[0]; e.DataSize != -1 || e.DataOffset != -1 {
					t.Errorf("entry %+v", e)
				}
			},
		},
		{
			name: "GPS pointer is ASCII",
			build: func(b *tiffBuilder) []byte {
				b.setIFD0(b.ifd(0, ascii(TagGPSIFD, "abc")))
				return b.exif()
			},
			want: ErrBadValue,
		},
		{
			name: "thumbnail outside",
			build: func(b *tiffBuilder) []byte {
				ifd1 := b.ifd(0, b.long(TagJPEGInterchangeFormat, 8), b.long(TagJPEGInterchangeFormatLength, 1<<20))
				b.setIFD0(b.ifd(ifd1, ascii(0x010F, "Cam")))
				return b.exif()
			},
			want: ErrOutOfBounds,
			check: func(t *testing.T, x *Exif) {
				if x.IFD1 == nil || x.Thumbnail != nil {
					t.Errorf("want IFD1 and no thumbnail")
				}
			},
		},
		{
			name: "thumbnail without length",
			build: func(b *tiffBuilder) []byte {
				ifd1 := b.ifd(0, b.long(TagJPEGInterchangeFormat, 8))
				b.setIFD0(b.ifd(ifd1))
				return b.exif()
			},
			want: ErrBadValue,
		},
		{
			name: "unknown type is not an error",
			build: func(b *tiffBuilder) []byte {
				b.setIFD0(b.ifd(0, ent{tag: 0x1234, typ: 99, count: 7, raw: u32p(1 << 31)}))
				return b.exif()
			},
			check: func(t *testing.T, x *Exif) {
				if e := x.IFD0.Entries[0]; e.DataSize != -1 || e.DataOffset != -1 || e.Type.String() != "type99" {
					t.Errorf("entry %+v", e)
				}
			},
		},
		{
			name: "missing next offset",
			build: func(b *tiffBuilder) []byte {
				b.setIFD0(b.ifd(0, ascii(0x010F, "Cam")))
				p := b.exif()
				return p[:len(p)-4]
			},
			want: ErrOutOfBounds,
			check: func(t *testing.T, x *Exif) {
				if len(x.IFD0.Entries) != 1 {
					t.Errorf("want the entry of IFD0")
				}
			},
		},
	}
	for _, tt := range tests {
		for _, o := range orders {
			t.Run(tt.name+"/"+o.name, func(t *testing.T) {
				x, err := Parse(tt.build(newTIFFBuilder(o.order)))
				switch {
				case tt.want == nil && err != nil:
					t.Fatalf("unexpected error %v", err)
				case tt.want != nil && !errors.Is(err, tt.want):
					t.Fatalf("error %v, want %v", err, tt.want)
				}
				var fe *FormatError
				if err != nil && !errors.As(err, &fe) {
					t.Fatalf("error %T is not a *FormatError", err)
				}
				if errors.Is(err, ErrNotExif) != (x == nil) {
					t.Fatalf("result %v with error %v", x != nil, err)
				}
				if tt.check != nil {
					tt.check(t, x)
				}
			})
		}
	}
}

const math32 = 1<<32 - 1

func TestTypeSize(t *testing.T) {
	for typ, want := range map[Type]int{Byte: 1, ASCII: 1, Short: 2, Long: 4, Rational: 8, SRational: 8, Double: 8, IFDType: 4, 0: 0, 14: 0, 0xFFFF: 0} {
		if got := typ.Size(); got != want {
			t.Errorf("%v.Size() = %d, want %d", typ, got, want)
		}
	}
	if Rational.String() != "RATIONAL" || Type(0).String() != "type0" {
		t.Errorf("names %q %q", Rational, Type(0))
	}
}

func TestGPSTagName(t *testing.T) {
	for tag, want := range map[uint16]string{0: "GPSVersionID", 2: "GPSLatitude", 0x1F: "GPSHPositioningError", 0x20: "GPSTag0x0020", 0xABCD: "GPSTag0xABCD"} {
		if got := GPSTagName(tag); got != want {
			t.Errorf("GPSTagName(%#x) = %q, want %q", tag, got, want)
		}
	}
}
