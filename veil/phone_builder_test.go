package veil

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Builders of the files phone cameras write, each to its public layout
// (FORMAT.md §31.1–§31.3): Google's Motion Photo format v1 and its legacy
// MicroVideo form, Samsung's SEF trailer, Ultra HDR (libultrahdr). They
// follow the published descriptions, not this package's parser.

// testMP4 is a one-second 64×48 H.264 clip made by ffmpeg (ftyp, moov,
// free, mdat).
func testMP4(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/motion.mp4")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// xmpAPP1 is an APP1 XMP payload with one rdf:Description carrying the
// given namespace declarations, attributes and child elements.
func xmpAPP1(attrs, children string) []byte {
	return []byte(`http://ns.adobe.com/xap/1.0/` + "\x00" + `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 5.1.0-jc003">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:Camera="http://ns.google.com/photos/1.0/camera/"
    xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"
    xmlns:Container="http://ns.google.com/photos/1.0/container/"
    xmlns:Item="http://ns.google.com/photos/1.0/container/item/"
    xmlns:GContainer="http://ns.google.com/photos/1.0/container/"
    xmlns:GContainerItem="http://ns.google.com/photos/1.0/container/item/"
    xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/"
    ` + attrs + `>
` + children + `
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`)
}

// dirItem is one Container:Item: mime, semantic, length, padding (< 0:
// attribute absent).
type dirItem struct {
	mime, semantic  string
	length, padding int
}

// directory writes a Container:Directory with the given element prefix
// (Container or GContainer) and item attribute prefix (Item or
// GContainerItem).
func directory(prefix, itemPrefix string, items ...dirItem) string {
	var b strings.Builder
	fmt.Fprintf(&b, "   <%s:Directory>\n    <rdf:Seq>\n", prefix)
	for _, it := range items {
		fmt.Fprintf(&b, `     <rdf:li rdf:parseType="Resource"><%s:Item %s:Mime="%s" %s:Semantic="%s"`, prefix, itemPrefix, it.mime, itemPrefix, it.semantic)
		if it.length >= 0 {
			fmt.Fprintf(&b, ` %s:Length="%d"`, itemPrefix, it.length)
		}
		if it.padding >= 0 {
			fmt.Fprintf(&b, ` %s:Padding="%d"`, itemPrefix, it.padding)
		}
		b.WriteString("/></rdf:li>\n")
	}
	fmt.Fprintf(&b, "    </rdf:Seq>\n   </%s:Directory>", prefix)
	return b.String()
}

// pixelMotionPhoto: the primary image with Camera:MotionPhoto and a
// Container directory (Primary with Item:Padding, MotionPhoto with
// Item:Length), padding bytes after EOI, then the MP4.
func pixelMotionPhoto(prefix, itemPrefix string, padding int, mp4 []byte) []byte {
	x := xmpAPP1(`Camera:MotionPhoto="1" Camera:MotionPhotoVersion="1" Camera:MotionPhotoPresentationTimestampUs="366000"`,
		directory(prefix, itemPrefix,
			dirItem{"image/jpeg", "Primary", 0, padding},
			dirItem{"video/mp4", "MotionPhoto", len(mp4), -1}))
	f := withSegments(testJPEG(96, 64, 11), segment(0xE1, testExif(exifOptions{order: binary.LittleEndian, thumbnail: testJPEG(32, 24, 12), gps: true})), segment(0xE1, x))
	f = append(f, make([]byte, padding)...)
	return append(f, mp4...)
}

// microVideo: the legacy form, GCamera:MicroVideoOffset bytes from the
// end of the file to the MP4.
func microVideo(mp4 []byte) []byte {
	x := xmpAPP1(fmt.Sprintf(`GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="%d" GCamera:MicroVideoPresentationTimestampUs="0"`, len(mp4)), "")
	f := withSegments(testJPEG(80, 64, 21), segment(0xE1, x))
	return append(f, mp4...)
}

// sefBlockSpec is one block of a Samsung trailer.
type sefBlockSpec struct {
	typ  uint16
	name string
	data []byte
}

// samsungTrailer appends a SEF trailer (exiftool Samsung.pm): the blocks,
// then the SEFH directory (version, count, entries of 2 zero bytes, type,
// offset back from the directory, size), then u32le(directory length)
// "SEFT". It returns the file and the offset of each block's data.
func samsungTrailer(f []byte, blocks ...sefBlockSpec) ([]byte, []int) {
	var starts, datas, sizes []int
	for _, bl := range blocks {
		starts = append(starts, len(f))
		f = binary.LittleEndian.AppendUint16(f, 0)
		f = binary.LittleEndian.AppendUint16(f, bl.typ)
		f = binary.LittleEndian.AppendUint32(f, uint32(len(bl.name)))
		f = append(f, bl.name...)
		datas = append(datas, len(f))
		f = append(f, bl.data...)
		sizes = append(sizes, len(f)-starts[len(starts)-1])
	}
	dir := len(f)
	f = append(f, "SEFH"...)
	f = binary.LittleEndian.AppendUint32(f, 107)
	f = binary.LittleEndian.AppendUint32(f, uint32(len(blocks)))
	for i, bl := range blocks {
		f = binary.LittleEndian.AppendUint16(f, 0)
		f = binary.LittleEndian.AppendUint16(f, bl.typ)
		f = binary.LittleEndian.AppendUint32(f, uint32(dir-starts[i]))
		f = binary.LittleEndian.AppendUint32(f, uint32(sizes[i]))
	}
	f = binary.LittleEndian.AppendUint32(f, uint32(len(f)-dir))
	return append(f, "SEFT"...), datas
}

// depthMap is a stand-in for a DualShot depth map: 8-bit samples of a
// gradient.
func depthMap(w, h int) []byte {
	b := make([]byte, w*h)
	for i := range b {
		b[i] = byte(i%w*255/w) ^ byte(i/w)
	}
	return b
}

// samsungMotionPhoto: Samsung's layout, optionally with the Google XMP
// (MicroVideoOffset and a Container directory counting from the MP4 to the
// end of the file, as Samsung writes them).
func samsungMotionPhoto(mp4 []byte, withXMP bool) []byte {
	blocks := []sefBlockSpec{
		{0x0a01, "Image_UTC_Data", []byte("1733356800123")},
		{0x0a30, "MotionPhoto_Data", mp4},
		{0x0ab1, "DualShot_DepthMap_1", depthMap(32, 24)},
	}
	build := func(x []byte) []byte {
		f := testJPEG(96, 72, 31)
		if x != nil {
			f = withSegments(f, segment(0xE1, x))
		}
		out, _ := samsungTrailer(f, blocks...)
		return out
	}
	if !withXMP {
		return build(nil)
	}
	// The distance from the MP4 to the end does not depend on the XMP.
	plain, datas := samsungTrailer(nil, blocks...)
	dist := len(plain) - datas[1]
	x := xmpAPP1(fmt.Sprintf(`GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="%d" Camera:MotionPhoto="1" Camera:MotionPhotoVersion="1"`, dist),
		directory("Container", "Item", dirItem{"image/jpeg", "Primary", 0, 0}, dirItem{"video/mp4", "MotionPhoto", dist, -1}))
	return build(x)
}

// iso21496 is the ISO 21496-1 APP2 namespace libultrahdr writes.
const iso21496 = "urn:iso:std:iso:ts:21496:-1\x00"

// ultraHDR builds an Ultra HDR file (libultrahdr jpegr.cpp): the primary
// with an XMP hdrgm:Version and Container directory (Primary, GainMap and,
// with mp4, MotionPhoto), an ISO 21496-1 version segment and an MPF index;
// then the gain-map JPEG with its own hdrgm XMP and ISO 21496-1 metadata;
// then the MP4, if any.
func ultraHDR(mp4 []byte) (file []byte, gainMapAt, gainMapLen int) {
	gm := withSegments(testJPEG(48, 32, 41),
		segment(0xE1, xmpAPP1(`hdrgm:Version="1.0" hdrgm:GainMapMin="0" hdrgm:GainMapMax="2.3" hdrgm:Gamma="1" hdrgm:OffsetSDR="0.015625" hdrgm:OffsetHDR="0.015625" hdrgm:HDRCapacityMin="0" hdrgm:HDRCapacityMax="2.3" hdrgm:BaseRenditionIsHDR="False"`, "")),
		segment(0xE2, append([]byte(iso21496), 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0x04, 0x9a, 0x73, 0, 0, 0x10, 0)))
	items := []dirItem{{"image/jpeg", "Primary", 0, -1}, {"image/jpeg", "GainMap", len(gm), -1}}
	attrs := `hdrgm:Version="1.0"`
	if mp4 != nil {
		items = append(items, dirItem{"video/mp4", "MotionPhoto", len(mp4), -1})
		attrs += ` Camera:MotionPhoto="1" Camera:MotionPhotoVersion="1" Camera:MotionPhotoPresentationTimestampUs="0"`
	}
	x := xmpAPP1(attrs, directory("Container", "Item", items...))
	entries := [][2]uint32{{0, 0}, {uint32(len(gm)), 0}}
	build := func() []byte {
		return withSegments(testJPEG(128, 96, 42), segment(0xE1, x),
			segment(0xE2, append([]byte(iso21496), 0, 0, 0, 0)),
			segment(0xE2, mpfPayload(binary.BigEndian, entries)))
	}
	primary := build()
	hdr := bytes.Index(primary, []byte("MPF\x00")) + 4
	entries[0] = [2]uint32{uint32(len(primary)), 0}
	entries[1] = [2]uint32{uint32(len(gm)), uint32(len(primary) - hdr)}
	primary = build()
	f := append(primary, gm...)
	return append(f, mp4...), len(primary), len(gm)
}
