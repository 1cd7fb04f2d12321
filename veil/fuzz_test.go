package veil

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"jpegveil/keystream"
)

var fuzzBase = sync.OnceValue(func() []byte { return testJPEG(16, 16, 1) })

// FuzzMetadata puts arbitrary bytes where metadata lives — an APP1 payload
// (Exif or XMP), an APP2 MPF payload with the same bytes appended after the
// image — and checks that the transform never panics, keeps the size, and
// that the same operation restores the input exactly.
func FuzzMetadata(f *testing.F) {
	for _, o := range orders {
		f.Add(testExif(exifOptions{order: o, thumbnail: testJPEG(8, 8, 2), pad: 1, gps: true, area: "Zürich Hbf"}), false)
		f.Add(mpfPayload(o, [][2]uint32{{100, 0}, {40, 60}, {30, 2}}), true)
	}
	f.Add([]byte(testXMP), false)
	seeds, _ := filepath.Glob("../exif/testdata/*.exif")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b, false)
		}
	}
	key, err := keystream.NewKeyFromBytes(make([]byte, 32), keystream.ModeExtended)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p []byte, mpf bool) {
		if len(p) > 65533 {
			p = p[:65533]
		}
		var in []byte
		if mpf {
			// The payload as MPF, followed by images made of its own
			// bytes and of the base image.
			in = withSegments(fuzzBase(), segment(0xE2, p))
			in = append(in, p...)
			in = append(in, fuzzBase()...)
		} else {
			in = withSegments(fuzzBase(), segment(0xE1, p))
		}
		for _, opts := range []Options{{}, {KeepThumbnail: true, KeepMPF: true}} {
			var enc bytes.Buffer
			resEnc, err := Transform(key, &enc, bytes.NewReader(in), opts)
			if err != nil && !IsParseError(err) {
				t.Fatal(err)
			}
			if enc.Len() != len(in) {
				t.Fatalf("size %d → %d", len(in), enc.Len())
			}
			var dec bytes.Buffer
			resDec, err := Transform(key, &dec, bytes.NewReader(enc.Bytes()), opts)
			if err != nil && !IsParseError(err) {
				t.Fatal(err)
			}
			if !bytes.Equal(dec.Bytes(), in) {
				t.Fatal("decrypt(encrypt(x)) != x")
			}
			// Decryption meets the same items and problems (FORMAT.md
			// §28).
			if a, b := itemSummary(resEnc), itemSummary(resDec); a != b {
				t.Fatalf("encryption and decryption differ:\n%s\n%s", a, b)
			}
		}
	})
}

// itemSummary lists what a transform found in each metadata item.
func itemSummary(res Result) string {
	var b strings.Builder
	for _, m := range res.Metadata {
		fmt.Fprintf(&b, "%s@%d+%d %s %v %q\n", m.Label, m.Offset, m.Length, m.Action, m.Fields, m.Problem)
	}
	return b.String()
}

// TestFuzzSeedsHostile runs the fuzz body on hand-made hostile payloads:
// overlapping values, IFD loops, MP entries pointing backwards, into each
// other and past the end.
func TestFuzzSeedsHostile(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	o := binary.LittleEndian
	// GPS values that share bytes, and a thumbnail over the IFDs.
	b := newTIFF(o)
	shared := b.blob(b.o.AppendUint32(b.o.AppendUint32(nil, 48), 1))
	lat := tent{tag: 0x0002, typ: 5, count: 3, ptr: &shared}
	lon := tent{tag: 0x0004, typ: 5, count: 3, ptr: &shared}
	gps := b.ifd(0, lat, lon)
	zero := uint32(0)
	ifd1 := b.ifd(0, b.long(0x0201, 0), tent{tag: 0x0202, typ: 4, count: 1, ptr: &zero})
	first := b.ifd(ifd1, ptr(0x8825, gps))
	b.o.PutUint32(b.buf[4:], first)
	hostile := [][]byte{
		append([]byte("Exif\x00\x00"), b.buf...),
		mpfPayload(o, [][2]uint32{{10, 0}, {1 << 31, 1 << 31}, {50, 0xFFFFFFF0}, {20, 5}, {20, 5}}),
	}
	for _, p := range hostile {
		for _, mpf := range []bool{false, true} {
			in := withSegments(testJPEG(16, 16, 1), segment(map[bool]byte{false: 0xE1, true: 0xE2}[mpf], p))
			in = append(in, p...)
			enc, _, _ := encrypt(t, key, in, Options{})
			dec, _, _ := encrypt(t, key, enc, Options{})
			if len(enc) != len(in) || !bytes.Equal(dec, in) {
				t.Fatalf("hostile payload does not round-trip")
			}
		}
	}
}
