package veil

import "encoding/binary"

// mp4Box is one top-level box of an ISO BMFF file (ISO/IEC 14496-12 §4.2):
// bytes [start, end) of the buffer it was read from, its payload from
// start+hdr.
type mp4Box struct {
	typ        string
	start, hdr int
	end        int
}

// mp4Structure are the top-level boxes a reader needs to make sense of a
// file (file type, movie and fragment headers, indexes, free space): they
// stay readable. The payload of any other top-level box — mdat, and
// whatever a writer adds that a demuxer skips — is encrypted (FORMAT.md
// §31.3).
var mp4Structure = map[string]bool{
	"ftyp": true, "moov": true, "free": true, "skip": true, "wide": true,
	"moof": true, "mfra": true, "sidx": true, "ssix": true, "styp": true,
	"pdin": true, "prft": true, "emsg": true,
}

// walkMP4 reads the top-level boxes of b[start:limit]. It stops at the
// first bytes that are not a box: a size below its header, a box running
// past limit, a type that is not four printable ASCII characters. The MP4
// is valid when its first box is ftyp; end is where the walk stopped.
func walkMP4(b []byte, start, limit int) (boxes []mp4Box, end int, ok bool) {
	pos := start
	for pos+8 <= limit {
		size := int64(binary.BigEndian.Uint32(b[pos:]))
		typ := b[pos+4 : pos+8]
		hdr := 8
		switch size {
		case 0: // to the end of the file
			size = int64(limit - pos)
		case 1:
			if pos+16 > limit {
				return boxes, pos, len(boxes) > 0 && boxes[0].typ == "ftyp"
			}
			size, hdr = int64(binary.BigEndian.Uint64(b[pos+8:])), 16
		}
		if !printable(typ) || size < int64(hdr) || size > int64(limit-pos) {
			break
		}
		boxes = append(boxes, mp4Box{typ: string(typ), start: pos, hdr: hdr, end: pos + int(size)})
		pos += int(size)
	}
	return boxes, pos, len(boxes) > 0 && boxes[0].typ == "ftyp"
}

func printable(t []byte) bool {
	for _, c := range t {
		if c < 0x20 || c > 0x7E {
			if c != 0xA9 { // '©', which QuickTime uses in box types
				return false
			}
		}
	}
	return true
}

// mp4Location is where a movie header states the place of recording
// (FORMAT.md §31.3): the text of a QuickTime/Android '©xyz' box (ISO 6709,
// "+48.8584+002.2945/"), whose digits and signs are transformed keeping
// its syntax, or the longitude, latitude and altitude of a 3GPP 'loci'
// box, encrypted as bytes.
type mp4Location struct {
	start, end int
	text       bool // ©xyz: digits and signs; else bytes
}

// childBoxes walks the boxes inside b[start:end] (a container box's
// payload) with walkMP4's rules, without the ftyp requirement.
func childBoxes(b []byte, start, end int) []mp4Box {
	boxes, _, _ := walkMP4(b, start, end)
	return boxes
}

// moovLocations finds the location boxes of moov/udta.
func moovLocations(b []byte, moov mp4Box) []mp4Location {
	var out []mp4Location
	for _, udta := range childBoxes(b, moov.start+moov.hdr, moov.end) {
		if udta.typ != "udta" {
			continue
		}
		for _, bx := range childBoxes(b, udta.start+udta.hdr, udta.end) {
			p, end := bx.start+bx.hdr, bx.end
			switch bx.typ {
			case "\xa9xyz":
				// u16 text length, u16 language, then the text.
				if end-p < 4 {
					continue
				}
				n := int(binary.BigEndian.Uint16(b[p:]))
				if n > end-p-4 {
					n = end - p - 4
				}
				out = append(out, mp4Location{start: p + 4, end: p + 4 + n, text: true})
			case "loci":
				// version and flags (4), language (2), a NUL-terminated
				// name, role (1), then longitude, latitude and altitude,
				// 32-bit fixed point each (3GPP TS 26.244 §8.2.5).
				q := p + 6
				for q < end && b[q] != 0 {
					q++
				}
				q += 2 // the NUL and the role
				if q+12 <= end {
					out = append(out, mp4Location{start: q, end: q + 12})
				}
			}
		}
	}
	return out
}
