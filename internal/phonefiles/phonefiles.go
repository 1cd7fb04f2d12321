// Package phonefiles builds, for tests, the JPEG files phone cameras
// write, each to its published layout rather than to what jpegveil's
// parser expects:
//
//   - Google Motion Photo format v1 (developer.android.com/media/platform/
//     motion-photo-format): XMP Camera:MotionPhoto and a Container:Directory
//     whose items are counted back from the end of the file by Item:Length,
//     the primary's Item:Padding bytes after its EOI;
//   - the legacy form: GCamera:MicroVideo and GCamera:MicroVideoOffset, the
//     bytes from the MP4 to the end of the file;
//   - Samsung's trailer as exiftool's Samsung.pm reads it: typed blocks,
//     a SEFH directory of offsets counted back from it, u32le(length)
//     "SEFT" at the very end; Samsung phones add the Google XMP;
//   - Ultra HDR (developer.android.com/media/platform/hdr-image-format,
//     libultrahdr): an MPF index and XMP hdrgm + Container:Directory in the
//     primary, an ISO 21496-1 APP2 segment, the gain-map JPEG after it.
//
// Every file's primary image carries an Exif segment with a GPS position
// and a JPEG thumbnail, as phone cameras write them.
package phonefiles

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"strings"
)

// JPEG encodes a w×h picture with fine detail (so that its entropy-coded
// data is large) made from seed.
func JPEG(w, h int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := uint8(rng.IntN(64))
			img.Set(x, y, color.RGBA{uint8(x*255/w) ^ n, uint8(y*255/h) + n, uint8((x+y)%256) ^ n<<1, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		panic(err) // encoding to memory does not fail
	}
	return b.Bytes()
}

// Segment is a marker segment: FF marker, length, payload.
func Segment(marker byte, payload []byte) []byte {
	if len(payload)+2 > 0xFFFF {
		panic("phonefiles: segment too long")
	}
	return append([]byte{0xFF, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
}

// WithSegments inserts segments right after the SOI of a JPEG file.
func WithSegments(f []byte, segs ...[]byte) []byte {
	out := append([]byte(nil), f[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, f[2:]...)
}

// XMP is an APP1 XMP payload (XMP part 3 §1.1.3) with one rdf:Description
// holding attrs and children, declaring the namespaces phones use.
func XMP(attrs, children string) []byte {
	return []byte("http://ns.adobe.com/xap/1.0/\x00" + `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 5.1.0-jc003">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:Camera="http://ns.google.com/photos/1.0/camera/"
    xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"
    xmlns:Container="http://ns.google.com/photos/1.0/container/"
    xmlns:Item="http://ns.google.com/photos/1.0/container/item/"
    xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/"
    ` + attrs + `>
` + children + `
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`)
}

// Item is one Container:Item; Length and Padding < 0 are left out.
type Item struct {
	Mime, Semantic  string
	Length, Padding int
}

// Directory is a Container:Directory of items.
func Directory(items ...Item) string {
	var b strings.Builder
	b.WriteString("   <Container:Directory>\n    <rdf:Seq>\n")
	for _, it := range items {
		fmt.Fprintf(&b, `     <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="%s" Item:Semantic="%s"`, it.Mime, it.Semantic)
		if it.Length >= 0 {
			fmt.Fprintf(&b, ` Item:Length="%d"`, it.Length)
		}
		if it.Padding >= 0 {
			fmt.Fprintf(&b, ` Item:Padding="%d"`, it.Padding)
		}
		b.WriteString("/></rdf:li>\n")
	}
	b.WriteString("    </rdf:Seq>\n   </Container:Directory>")
	return b.String()
}

// box is an ISO BMFF box (ISO/IEC 14496-12 §4.2).
func box(typ string, payload ...[]byte) []byte {
	n := 8
	for _, p := range payload {
		n += len(p)
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(n))
	b = append(b, typ...)
	for _, p := range payload {
		b = append(b, p...)
	}
	return b
}

// MP4 is a motion photo's clip as its container looks: ftyp, a moov with
// a movie header and the place of recording (©xyz, ISO 6709), and an mdat
// of n bytes of stand-in coded frames made from seed.
func MP4(n int, seed uint64) []byte {
	mvhd := make([]byte, 100)
	binary.BigEndian.PutUint32(mvhd[12:], 1000) // timescale
	binary.BigEndian.PutUint32(mvhd[16:], 1500) // duration
	binary.BigEndian.PutUint32(mvhd[20:], 0x00010000)
	loc := "+48.8584+002.2945/"
	xyz := binary.BigEndian.AppendUint16(nil, uint16(len(loc)))
	xyz = append(binary.BigEndian.AppendUint16(xyz, 0x15c7), loc...)
	frames := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range frames {
		frames[i] = byte(rng.Uint32())
	}
	return append(append(
		box("ftyp", []byte("isom"), []byte{0, 0, 2, 0}, []byte("isomiso2avc1mp41")),
		box("moov", box("mvhd", mvhd), box("udta", box("\xa9xyz", xyz)))...),
		box("mdat", frames)...)
}

// HEIC is the start of an iPhone's HEIC photo: its ftyp and a stand-in
// for the rest.
func HEIC() []byte {
	f := box("ftyp", []byte("heic"), []byte{0, 0, 0, 0}, []byte("mif1heicmiaf"))
	f = append(f, box("meta", make([]byte, 64))...)
	return append(f, box("mdat", bytes.Repeat([]byte{0x5a, 0xa5}, 4096))...)
}
