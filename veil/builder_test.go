package veil

import (
	"bytes"
	"encoding/binary"
	goimage "image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
)

// testJPEG encodes a w×h picture (smooth gradients, a few shapes and some
// noise, all from seed) with Go's encoder: a baseline JPEG without APPn
// segments, deterministic for a given Go release.
func testJPEG(w, h int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	m := goimage.NewRGBA(goimage.Rect(0, 0, w, h))
	cx, cy, rad := r.IntN(w), r.IntN(h), 1+r.IntN(max(w, h)/2+1)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(255 * x / max(w-1, 1)), uint8(255 * y / max(h-1, 1)), uint8(seed * 40), 255}
			if dx, dy := x-cx, y-cy; dx*dx+dy*dy < rad*rad {
				c.R, c.G = 255-c.R, 40
			}
			if (x/6+y/9)%5 == 0 {
				c.B = 230
			}
			n := uint8(r.IntN(24))
			c.R, c.G, c.B = c.R^n, c.G^n, c.B^n
			m.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// withSegments inserts marker segments (marker, payload) right after SOI.
func withSegments(j []byte, segs ...[]byte) []byte {
	out := append([]byte(nil), j[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, j[2:]...)
}

// segment frames a payload as a marker segment.
func segment(marker byte, payload []byte) []byte {
	s := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(s[2:], uint16(len(payload)+2))
	return append(s, payload...)
}

// tiffOrder is what binary.LittleEndian and binary.BigEndian implement.
type tiffOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tiffBuilder lays out a TIFF structure; offsets are relative to the TIFF
// header.
type tiffBuilder struct {
	o   tiffOrder
	buf []byte
}

// tent is an IFD entry: data is the value (inline when it fits), or ptr
// a raw value field.
type tent struct {
	tag   uint16
	typ   uint16
	count uint32
	data  []byte
	ptr   *uint32
}

func newTIFF(o binary.ByteOrder) *tiffBuilder {
	b := &tiffBuilder{o: o.(tiffOrder)}
	if o == binary.BigEndian {
		b.buf = []byte{'M', 'M', 0, 42, 0, 0, 0, 0}
	} else {
		b.buf = []byte{'I', 'I', 42, 0, 0, 0, 0, 0}
	}
	return b
}

func (b *tiffBuilder) blob(p []byte) uint32 {
	off := uint32(len(b.buf))
	b.buf = append(b.buf, p...)
	return off
}

func (b *tiffBuilder) ifd(next uint32, es ...tent) uint32 {
	off := uint32(len(b.buf))
	b.buf = b.o.AppendUint16(b.buf, uint16(len(es)))
	fields := make([]int, len(es))
	for i, e := range es {
		b.buf = b.o.AppendUint16(b.buf, e.tag)
		b.buf = b.o.AppendUint16(b.buf, e.typ)
		b.buf = b.o.AppendUint32(b.buf, e.count)
		fields[i] = len(b.buf)
		b.buf = append(b.buf, 0, 0, 0, 0)
	}
	b.buf = b.o.AppendUint32(b.buf, next)
	for i, e := range es {
		f := b.buf[fields[i] : fields[i]+4]
		switch {
		case e.ptr != nil:
			b.o.PutUint32(f, *e.ptr)
		case len(e.data) <= 4:
			copy(f, e.data)
		default:
			b.o.PutUint32(f, uint32(len(b.buf)))
			b.buf = append(b.buf, e.data...)
		}
	}
	return off
}

func (b *tiffBuilder) rationals(tag uint16, v ...uint32) tent {
	var p []byte
	for _, x := range v {
		p = b.o.AppendUint32(p, x)
	}
	return tent{tag: tag, typ: 5, count: uint32(len(v) / 2), data: p}
}

func (b *tiffBuilder) long(tag uint16, v uint32) tent {
	return tent{tag: tag, typ: 4, count: 1, data: b.o.AppendUint32(nil, v)}
}

func ptr(tag uint16, off uint32) tent { return tent{tag: tag, typ: 4, count: 1, ptr: &off} }

func asciiEnt(tag uint16, s string) tent {
	return tent{tag: tag, typ: 2, count: uint32(len(s) + 1), data: append([]byte(s), 0)}
}

// exifOptions say what testExif puts in.
type exifOptions struct {
	order     binary.ByteOrder
	thumbnail []byte // nil: no IFD1 thumbnail
	pad       int    // bytes before the thumbnail (an odd count puts it at an odd offset)
	gps       bool
	area      string // GPSAreaInformation text (ASCII code)
}

// testExif builds an APP1 Exif payload: IFD0 with Make, an Exif IFD, a
// GPS IFD with every location field, and IFD1 with a JPEG thumbnail.
func testExif(o exifOptions) []byte {
	b := newTIFF(o.order)
	var thumb uint32
	if o.thumbnail != nil {
		b.blob(make([]byte, o.pad))
		thumb = b.blob(o.thumbnail)
	}
	var gps uint32
	if o.gps {
		es := []tent{
			{tag: 0x0000, typ: 1, count: 4, data: []byte{2, 3, 0, 0}},
			asciiEnt(0x0001, "N"),
			b.rationals(0x0002, 48, 1, 51, 1, 3013, 100),
			asciiEnt(0x0003, "E"),
			b.rationals(0x0004, 2, 1, 17, 1, 4013, 100),
			{tag: 0x0005, typ: 1, count: 1, data: []byte{0}},
			b.rationals(0x0006, 3512, 100),
			b.rationals(0x0007, 10, 1, 11, 1, 1250, 100),
			asciiEnt(0x0012, "WGS-84"),
			asciiEnt(0x0013, "S"),
			b.rationals(0x0014, 33, 1, 5217, 100, 0, 1),
			asciiEnt(0x0015, "W"),
			b.rationals(0x0016, 70, 1, 4012, 100, 0, 1),
		}
		if o.area != "" {
			a := append([]byte("ASCII\x00\x00\x00"), o.area...)
			es = append(es, tent{tag: 0x001C, typ: 7, count: uint32(len(a)), data: a})
		}
		es = append(es, asciiEnt(0x001D, "2024:05:01"))
		gps = b.ifd(0, es...)
	}
	exifIFD := b.ifd(0, asciiEnt(0x9003, "2024:05:01 12:11:12"))
	var ifd1 uint32
	if o.thumbnail != nil {
		ifd1 = b.ifd(0, tent{tag: 0x0103, typ: 3, count: 1, data: b.o.AppendUint16(nil, 6)},
			b.long(0x0201, thumb), b.long(0x0202, uint32(len(o.thumbnail))))
	}
	ifd0 := []tent{asciiEnt(0x010F, "jpegveil test"), ptr(0x8769, exifIFD)}
	if o.gps {
		ifd0 = append(ifd0, ptr(0x8825, gps))
	}
	first := b.ifd(ifd1, ifd0...)
	b.o.PutUint32(b.buf[4:], first)
	return append([]byte("Exif\x00\x00"), b.buf...)
}

// testXMP is an XMP packet that repeats the location, in element and
// attribute form, with an IPTC location structure and a place name.
const testXMP = `http://ns.adobe.com/xap/1.0/` + "\x00" + `<?xpacket begin="` + "\uFEFF" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    exif:GPSLongitude="2,17.668833E" photoshop:City="Paris &amp; Île-de-France">
   <exif:GPSLatitude>48,51,30.13N</exif:GPSLatitude>
   <exif:GPSAltitude>3512/100</exif:GPSAltitude>
   <exif:GPSAltitudeRef>0</exif:GPSAltitudeRef>
   <exif:GPSTimeStamp>2024-05-01T10:11:12.50Z</exif:GPSTimeStamp>
   <Iptc4xmpExt:LocationShown>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource">
      <Iptc4xmpExt:City>東京</Iptc4xmpExt:City>
      <Iptc4xmpExt:GPSLatitude>35,41.1N</Iptc4xmpExt:GPSLatitude>
      <Iptc4xmpExt:LocationName><rdf:Alt><rdf:li xml:lang="x-default">Tour Eiffel</rdf:li></rdf:Alt></Iptc4xmpExt:LocationName>
     </rdf:li>
    </rdf:Bag>
   </Iptc4xmpExt:LocationShown>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`

// mpfPayload builds an APP2 MPF payload with an MP Index IFD listing the
// given (size, offset) entries; the first entry is the primary image.
func mpfPayload(o binary.ByteOrder, entries [][2]uint32) []byte {
	b := newTIFF(o)
	var list []byte
	for i, e := range entries {
		attr := uint32(0x020000) // baseline MP primary image… of type "large thumbnail" etc.: not used
		if i == 0 {
			attr = 0x20030000
		}
		list = b.o.AppendUint32(list, attr)
		list = b.o.AppendUint32(list, e[0])
		list = b.o.AppendUint32(list, e[1])
		list = b.o.AppendUint16(list, 0)
		list = b.o.AppendUint16(list, 0)
	}
	idx := b.ifd(0,
		tent{tag: 0xB000, typ: 7, count: 4, data: []byte("0100")},
		b.long(0xB001, uint32(len(entries))),
		tent{tag: 0xB002, typ: 7, count: uint32(len(list)), data: list},
	)
	b.o.PutUint32(b.buf[4:], idx) // idx is computed before b.buf is indexed
	return append([]byte("MPF\x00"), b.buf...)
}

// testMPF builds a Multi-Picture file: the primary image (with an Exif
// segment before the MPF segment), then each secondary image preceded by
// gap bytes, then trailing bytes that are no MPF image.
func testMPF(o binary.ByteOrder, primary []byte, exifPayload []byte, secondaries [][]byte, gap int, trailing []byte) []byte {
	entries := make([][2]uint32, 1+len(secondaries))
	build := func() []byte {
		var segs [][]byte
		if exifPayload != nil {
			segs = append(segs, segment(0xE1, exifPayload))
		}
		segs = append(segs, segment(0xE2, mpfPayload(o, entries)))
		f := withSegments(primary, segs...)
		for _, s := range secondaries {
			f = append(f, bytes.Repeat([]byte{0}, gap)...)
			f = append(f, s...)
		}
		return append(f, trailing...)
	}
	f := build()
	// The MP header follows the APP2 marker, length and "MPF\0".
	hdr := bytes.Index(f, []byte("MPF\x00")) + 4
	pos := len(f) - len(trailing)
	for i := len(secondaries) - 1; i >= 0; i-- {
		pos -= len(secondaries[i])
		entries[i+1] = [2]uint32{uint32(len(secondaries[i])), uint32(pos - hdr)}
		pos -= gap
	}
	entries[0] = [2]uint32{uint32(pos), 0}
	return build()
}
