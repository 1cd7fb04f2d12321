package fakes

import (
	"bytes"
	"encoding/binary"
	"image/jpeg"
)

// Keeping is what a photo service does to the bytes of an uploaded photo
// before it stores it.
type Keeping int

const (
	// KeepsBytes stores the upload exactly (an original-quality backup).
	KeepsBytes Keeping = iota
	// RewritesExif replaces the Exif segment with one of its own (as a
	// service that edits the date or strips the location does); the
	// image data stays as it was.
	RewritesExif
	// Recompresses decodes the upload and encodes it again at a lower
	// quality (Google Photos' "Storage saver").
	Recompresses
)

func (k Keeping) String() string {
	return [...]string{"keeps bytes", "rewrites Exif", "recompresses"}[k]
}

// Apply returns what a service that keeps photos this way stores of b. A
// body it cannot decode is stored as it came.
func (k Keeping) Apply(b []byte) []byte {
	switch k {
	case RewritesExif:
		return rewriteExif(b)
	case Recompresses:
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			return b
		}
		var out bytes.Buffer
		if jpeg.Encode(&out, img, &jpeg.Options{Quality: 60}) != nil {
			return b
		}
		return out.Bytes()
	}
	return b
}

// rewriteExif drops every APP1 Exif segment before the first scan and
// puts the service's own after SOI. It returns b unchanged when b is not
// a JPEG whose markers it can walk.
func rewriteExif(b []byte) []byte {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return b
	}
	seg := append([]byte{0xFF, 0xE1, 0, 0}, exifSoftware()...)
	binary.BigEndian.PutUint16(seg[2:], uint16(len(seg)-2))
	out := append([]byte{0xFF, 0xD8}, seg...)
	i := 2
	for i+4 <= len(b) && b[i] == 0xFF {
		m := b[i+1]
		if m == 0xDA || m == 0xD9 { // SOS, EOI: the rest is kept as is
			break
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return b
		}
		if !(m == 0xE1 && bytes.HasPrefix(b[i+4:i+2+n], []byte("Exif\x00"))) {
			out = append(out, b[i:i+2+n]...)
		}
		i += 2 + n
	}
	return append(out, b[i:]...)
}

// exifSoftware is an Exif payload whose IFD0 has one entry, Software =
// "fake" (four bytes with its NUL: stored in the entry itself).
func exifSoftware() []byte {
	b := []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00")
	b = binary.LittleEndian.AppendUint16(b, 1)      // one entry
	b = binary.LittleEndian.AppendUint16(b, 0x0131) // Software
	b = binary.LittleEndian.AppendUint16(b, 2)      // ASCII
	b = binary.LittleEndian.AppendUint32(b, 4)      // "fak\0"
	b = append(b, 'f', 'a', 'k', 0)
	return binary.LittleEndian.AppendUint32(b, 0) // no IFD1
}
