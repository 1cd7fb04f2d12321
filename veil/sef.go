package veil

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Samsung trailer (SEF) layout, as exiftool's Samsung.pm reads it
// (FORMAT.md §31.2): the file ends with u32le(dirLen) "SEFT"; the dirLen
// bytes before them are the directory, "SEFH", u32le version, u32le count,
// then count 12-byte entries: 2 bytes, u16le type, u32le offset of the
// block counted back from the directory's first byte, u32le block size.
// A block starts 00 00 u16le(type) u32le(nameLen) name, then its data.
const (
	sefTypeMotionPhoto = 0x0a30 // MotionPhoto_Data: an MP4
	maxSEFEntries      = 256
)

// sefClearTypes are the block types known not to hold a picture or sound
// of the scene: capture time, the single-shot and dual-shot parameter
// blocks (sizes, effect levels). They stay readable; every other block's
// data is encrypted as bytes.
var sefClearTypes = map[uint16]string{
	0x0a01: "Image_UTC_Data",
	0x0ab3: "DualShot_Extra_Info",
	0x0b40: "SingleShot_Meta_Info",
}

type sefBlock struct {
	index      int // 1-based directory entry
	typ        uint16
	name       string
	start, end int // the block, header included
	data       int // first byte of its data
}

// parseSEF reads the Samsung trailer at the end of b. found is false when
// b does not end with "SEFT"; otherwise problem is empty when the
// directory and every block are consistent. dir is the directory's first
// byte.
func parseSEF(b []byte) (blocks []sefBlock, dir int, found bool, problem string) {
	n := len(b)
	if n < 8 || !bytes.Equal(b[n-4:], []byte("SEFT")) {
		return nil, 0, false, ""
	}
	dirLen := int64(binary.LittleEndian.Uint32(b[n-8:]))
	if dirLen < 12 || dirLen > int64(n-8) {
		return nil, 0, true, "the Samsung trailer's directory runs outside the data after the image"
	}
	dir = n - 8 - int(dirLen)
	d := b[dir : n-8]
	if !bytes.HasPrefix(d, []byte("SEFH")) {
		return nil, dir, true, "the Samsung trailer has no SEFH directory"
	}
	count := int64(binary.LittleEndian.Uint32(d[8:]))
	if count > maxSEFEntries || 12+12*count > dirLen {
		return nil, dir, true, "the Samsung trailer's directory has more entries than it holds"
	}
	for i := 0; i < int(count); i++ {
		e := d[12+12*i:]
		typ := binary.LittleEndian.Uint16(e[2:])
		back := int64(binary.LittleEndian.Uint32(e[4:]))
		size := int64(binary.LittleEndian.Uint32(e[8:]))
		if back > int64(dir) || size < 8 || size > back {
			return nil, dir, true, fmt.Sprintf("Samsung trailer entry %d points outside the data after the image", i+1)
		}
		start := dir - int(back)
		h := b[start:]
		nameLen := int64(binary.LittleEndian.Uint32(h[4:]))
		if h[0] != 0 || h[1] != 0 || binary.LittleEndian.Uint16(h[2:]) != typ || 8+nameLen > size {
			return nil, dir, true, fmt.Sprintf("Samsung trailer block %d does not start with its type and name", i+1)
		}
		blocks = append(blocks, sefBlock{
			index: i + 1, typ: typ, name: string(h[8 : 8+nameLen]),
			start: start, end: start + int(size), data: start + 8 + int(nameLen),
		})
	}
	return blocks, dir, true, ""
}
