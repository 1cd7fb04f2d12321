package phonefiles

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Parts are what a phone file is made of.
type Parts struct {
	Primary []byte // the main picture, a JPEG without metadata
	Thumb   []byte // the Exif thumbnail, a JPEG
	Video   []byte // the motion photo's MP4
	GainMap []byte // the Ultra HDR gain map, a JPEG without metadata
}

// NewParts makes the parts of a phone file: a w×h primary image and an
// MP4 of about video bytes.
func NewParts(w, h, video int, seed uint64) Parts {
	return Parts{
		Primary: JPEG(w, h, seed),
		Thumb:   JPEG(64, 48, seed+1),
		Video:   MP4(video, seed+2),
		GainMap: JPEG(max(w/4, 16), max(h/4, 16), seed+3),
	}
}

// exifSegment is the primary's Exif APP1 segment.
func (p Parts) exifSegment() []byte {
	return Segment(0xE1, CameraExif(binary.LittleEndian, p.Thumb).APP1())
}

// PixelMotion is a Google motion photo (Motion Photo format v1): the
// primary's directory item has Item:Padding, that many zero bytes follow
// its EOI, then the MP4, whose item gives its Item:Length.
func PixelMotion(p Parts, padding int) []byte {
	x := XMP(`Camera:MotionPhoto="1" Camera:MotionPhotoVersion="1" Camera:MotionPhotoPresentationTimestampUs="366000"`,
		Directory(Item{"image/jpeg", "Primary", 0, padding}, Item{"video/mp4", "MotionPhoto", len(p.Video), -1}))
	f := WithSegments(p.Primary, p.exifSegment(), Segment(0xE1, x))
	f = append(f, make([]byte, padding)...)
	return append(f, p.Video...)
}

// MicroVideo is the legacy Google motion photo: GCamera:MicroVideoOffset
// is the distance from the MP4 to the end of the file.
func MicroVideo(p Parts) []byte {
	x := XMP(fmt.Sprintf(`GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="%d" GCamera:MicroVideoPresentationTimestampUs="0"`, len(p.Video)), "")
	f := WithSegments(p.Primary, p.exifSegment(), Segment(0xE1, x))
	return append(f, p.Video...)
}

// sefBlock is one block of a Samsung trailer.
type sefBlock struct {
	typ  uint16
	name string
	data []byte
}

// sefTrailer is a Samsung trailer: each block (00 00, u16le type, u32le
// name length, name, data), then the SEFH directory (u32le version, u32le
// count, per block 00 00, u16le type, u32le offset of the block back from
// the directory, u32le block size), then u32le(directory length) "SEFT".
// It also returns the offset of each block's data in the trailer.
func sefTrailer(blocks ...sefBlock) ([]byte, []int) {
	var t []byte
	var starts, datas, sizes []int
	for _, bl := range blocks {
		starts = append(starts, len(t))
		t = binary.LittleEndian.AppendUint16(t, 0)
		t = binary.LittleEndian.AppendUint16(t, bl.typ)
		t = binary.LittleEndian.AppendUint32(t, uint32(len(bl.name)))
		t = append(t, bl.name...)
		datas = append(datas, len(t))
		t = append(t, bl.data...)
		sizes = append(sizes, len(t)-starts[len(starts)-1])
	}
	dir := len(t)
	t = append(t, "SEFH"...)
	t = binary.LittleEndian.AppendUint32(t, 106)
	t = binary.LittleEndian.AppendUint32(t, uint32(len(blocks)))
	for i, bl := range blocks {
		t = binary.LittleEndian.AppendUint16(t, 0)
		t = binary.LittleEndian.AppendUint16(t, bl.typ)
		t = binary.LittleEndian.AppendUint32(t, uint32(dir-starts[i]))
		t = binary.LittleEndian.AppendUint32(t, uint32(sizes[i]))
	}
	t = binary.LittleEndian.AppendUint32(t, uint32(len(t)-dir))
	return append(t, "SEFT"...), datas
}

// depthMap stands in for a DualShot depth map: 8-bit samples.
func depthMap(w, h int) []byte {
	b := make([]byte, w*h)
	for i := range b {
		b[i] = byte(i%w*255/w) ^ byte(i/w)
	}
	return b
}

// Samsung is a Samsung motion photo: a SEF trailer with the capture time,
// the MP4 (MotionPhoto_Data) and a depth map. withXMP adds the Google XMP
// Samsung phones write beside it: MicroVideoOffset and a Container
// directory whose MotionPhoto item counts from the MP4 to the end of the
// file.
func Samsung(p Parts, withXMP bool) []byte {
	t, datas := sefTrailer(
		sefBlock{0x0a01, "Image_UTC_Data", []byte("1714557600123")},
		sefBlock{0x0a30, "MotionPhoto_Data", p.Video},
		sefBlock{0x0ab1, "DualShot_DepthMap_1", depthMap(40, 30)},
	)
	segs := [][]byte{p.exifSegment()}
	if withXMP {
		dist := len(t) - datas[1]
		segs = append(segs, Segment(0xE1, XMP(
			fmt.Sprintf(`GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="%d" Camera:MotionPhoto="1" Camera:MotionPhotoVersion="1"`, dist),
			Directory(Item{"image/jpeg", "Primary", 0, 0}, Item{"video/mp4", "MotionPhoto", dist, -1}))))
	}
	return append(WithSegments(p.Primary, segs...), t...)
}

// iso21496 is the namespace of ISO 21496-1 gain-map metadata in APP2.
const iso21496 = "urn:iso:std:iso:ts:21496:-1\x00"

// mpfPayload is an APP2 MPF payload (CIPA DC-007 §5.2): the MP header (a
// big-endian TIFF header) and the MP Index IFD with MPFVersion,
// NumberOfImages and one MP entry per image (attribute, size, offset from
// the MP header, two dependent-image entries).
func mpfPayload(images [][2]uint32) []byte {
	o := binary.BigEndian
	var entries []byte
	for i, im := range images {
		attr := uint32(0) // a dependent, non-primary image
		if i == 0 {
			attr = 0x20030000 // representative, baseline MP primary image
		}
		entries = o.AppendUint32(entries, attr)
		entries = o.AppendUint32(entries, im[0])
		entries = o.AppendUint32(entries, im[1])
		entries = append(entries, 0, 0, 0, 0)
	}
	w := newTIFFWriter(o)
	w.first(w.ifd([]Field{
		{Tag: 0xB000, Type: TypeUndefined, Count: 4, Value: []byte("0100")},
		Long(o, 0xB001, uint32(len(images))),
		{Tag: 0xB002, Type: TypeUndefined, Count: uint32(len(entries)), Value: entries},
	}, 0))
	return append([]byte("MPF\x00"), w.buf...)
}

// UltraHDR is an Ultra HDR photo as libultrahdr writes it: the primary
// with Exif, XMP (hdrgm:Version, a Container directory: Primary, GainMap
// and, with motion, MotionPhoto), an ISO 21496-1 version segment and an
// MPF index of two images; then the gain map with its hdrgm XMP and ISO
// 21496-1 metadata; then, with motion, the MP4.
func UltraHDR(p Parts, motion bool) []byte {
	gm := WithSegments(p.GainMap,
		Segment(0xE1, XMP(`hdrgm:Version="1.0" hdrgm:GainMapMin="0" hdrgm:GainMapMax="2.3" hdrgm:Gamma="1" hdrgm:OffsetSDR="0.015625" hdrgm:OffsetHDR="0.015625" hdrgm:HDRCapacityMin="0" hdrgm:HDRCapacityMax="2.3" hdrgm:BaseRenditionIsHDR="False"`, "")),
		Segment(0xE2, append([]byte(iso21496), 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0x04, 0x9a, 0x73, 0, 0, 0x10, 0)))
	items := []Item{{"image/jpeg", "Primary", 0, -1}, {"image/jpeg", "GainMap", len(gm), -1}}
	attrs := `hdrgm:Version="1.0"`
	if motion {
		items = append(items, Item{"video/mp4", "MotionPhoto", len(p.Video), -1})
		attrs += ` Camera:MotionPhoto="1" Camera:MotionPhotoVersion="1" Camera:MotionPhotoPresentationTimestampUs="0"`
	}
	images := [][2]uint32{{0, 0}, {uint32(len(gm)), 0}}
	build := func() []byte {
		return WithSegments(p.Primary, p.exifSegment(), Segment(0xE1, XMP(attrs, Directory(items...))),
			Segment(0xE2, append([]byte(iso21496), 0, 0, 0, 0)),
			Segment(0xE2, mpfPayload(images)))
	}
	primary := build()
	header := bytes.Index(primary, []byte("MPF\x00")) + 4
	images[0][0] = uint32(len(primary))
	images[1][1] = uint32(len(primary) - header)
	primary = build()
	f := append(primary, gm...)
	if motion {
		f = append(f, p.Video...)
	}
	return f
}

// Layout is one kind of phone file.
type Layout struct {
	Name  string
	Build func(Parts) []byte
}

// Layouts are every kind of file this package builds.
func Layouts() []Layout {
	return []Layout{
		{"pixel-motion-padding", func(p Parts) []byte { return PixelMotion(p, 8) }},
		{"microvideo", MicroVideo},
		{"samsung-sef", func(p Parts) []byte { return Samsung(p, false) }},
		{"samsung-sef-xmp", func(p Parts) []byte { return Samsung(p, true) }},
		{"ultrahdr", func(p Parts) []byte { return UltraHDR(p, false) }},
		{"ultrahdr-motion", func(p Parts) []byte { return UltraHDR(p, true) }},
	}
}
