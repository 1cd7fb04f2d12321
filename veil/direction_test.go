package veil

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	goimage "image"
	"image/jpeg"
	"io"
	"maps"
	"strings"
	"testing"

	"jpegveil/exif"
	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

// replacePayload replaces the payload of the marker segment whose payload is
// f[off:off+n] with p, framing it anew (its length may change).
func replacePayload(f []byte, off, n int, p []byte) []byte {
	out := append([]byte(nil), f[:off-4]...)
	out = append(out, segment(f[off-3], p)...)
	return append(out, f[off+n:]...)
}

// xmpPacket returns the XMP payload of a file.
func xmpPacket(t *testing.T, f []byte) []byte {
	t.Helper()
	md, _ := exif.Scan(f)
	if len(md.XMP) != 1 {
		t.Fatalf("%d XMP segments", len(md.XMP))
	}
	return f[md.XMP[0].Offset : md.XMP[0].Offset+md.XMP[0].Length]
}

// serviceEdits are changes a photo service makes to a ciphertext without
// touching the GPS or XMP location values. Each applies to any file built
// by builtPhoto, plaintext or ciphertext alike.
var serviceEdits = []struct {
	name string
	edit func(t *testing.T, f []byte) []byte
}{
	{"Make changed", func(t *testing.T, f []byte) []byte {
		f = append([]byte(nil), f...)
		p, _ := exifOf(t, f)
		at := bytes.Index(p, []byte("jpegveil test"))
		copy(p[at:], "Pixel 9 Pro\x00\x00")
		return f
	}},
	{"thumbnail regenerated", func(t *testing.T, f []byte) []byte {
		f = append([]byte(nil), f...)
		p, x := exifOf(t, f)
		th := p[x.Thumbnail.Offset : x.Thumbnail.Offset+x.Thumbnail.Length]
		fresh := testJPEG(16, 12, 11)
		if len(fresh) > len(th) {
			t.Fatal("the new thumbnail does not fit")
		}
		clear(th)
		copy(th, fresh)
		for _, e := range x.IFD1.Entries {
			if e.Tag == 0x0202 { // JPEGInterchangeFormatLength
				x.ByteOrder.PutUint32(p[e.DataOffset:], uint32(len(fresh)))
			}
		}
		return f
	}},
	{"thumbnail dropped", func(t *testing.T, f []byte) []byte {
		f = append([]byte(nil), f...)
		p, x := exifOf(t, f)
		next := x.IFD0.Offset + 2 + 12*len(x.IFD0.Entries)
		binary.BigEndian.PutUint32(p[next:], 0) // no IFD1
		return f
	}},
	{"XMP rewritten", func(t *testing.T, f []byte) []byte {
		md, _ := exif.Scan(f)
		xs := md.XMP[0]
		p := f[xs.Offset : xs.Offset+xs.Length]
		const at = `<rdf:Description rdf:about=""`
		if !bytes.Contains(p, []byte(at)) {
			t.Fatal("no rdf:Description in the packet")
		}
		p = bytes.Replace(p, []byte(at), []byte(at+` xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5" xmp:ModifyDate="2024-06-01T08:00:00Z"`), 1)
		p = bytes.Replace(p, []byte(`<?xpacket end="w"?>`), []byte("\n<!-- edited by the service -->\n"+`<?xpacket end="w"?>`), 1)
		return replacePayload(f, xs.Offset, xs.Length, p)
	}},
}

// TestServiceEditThenReupload is the scenario that fingerprints of GPS and
// XMP values exist for (FORMAT.md §27): a ciphertext is uploaded, the service
// changes other bytes of its Exif or XMP segment, and the user uploads the
// service's copy again. The location values must pass unchanged — "encrypting"
// them again would decrypt them, since the transform is an involution — and
// a download of the service's copy must decrypt them.
func TestServiceEditThenReupload(t *testing.T) {
	for _, mode := range []keystream.Mode{keystream.ModeExtended, keystream.ModeStrict} {
		key := testKey(t, mode)
		for _, o := range orders {
			for _, se := range serviceEdits {
				t.Run(fmt.Sprint(mode, "/", o, "/", se.name), func(t *testing.T) {
					in, _ := builtPhoto(o)
					led := ledgerSet{}
					enc, _, err := encrypt(t, key, in, led.upload())
					if err != nil {
						t.Fatal(err)
					}
					edited := se.edit(t, enc)
					if bytes.Equal(edited, enc) {
						t.Fatal("the edit changed nothing")
					}

					// Upload of the service's copy: the values are known
					// ciphertexts and pass.
					up, res, err := encrypt(t, key, edited, led.upload())
					if err != nil {
						t.Fatal(err)
					}
					for _, kind := range []string{KindGPS, KindXMPLocation} {
						if its := items(res, kind); len(its) != 1 || its[0].Action != ActionPassed || its[0].Transformed {
							t.Errorf("re-upload, %s: %+v", kind, its)
						}
					}
					if got, want := checkGPSValid(t, up), checkGPSValid(t, edited); !maps.Equal(got, want) {
						t.Errorf("re-upload changed the GPS values:\n got %v\nwant %v\nplaintext %v", got, want, checkGPSValid(t, in))
					}
					if !bytes.Equal(xmpPacket(t, up), xmpPacket(t, edited)) {
						t.Errorf("re-upload changed the XMP packet")
					}

					// Download of the service's copy: the values decrypt.
					down, res, err := encrypt(t, key, edited, led.download())
					if err != nil {
						t.Fatal(err)
					}
					for _, kind := range []string{KindGPS, KindXMPLocation} {
						if its := items(res, kind); len(its) != 1 || its[0].Action != ActionTransformed {
							t.Errorf("download, %s: %+v", kind, its)
						}
					}
					if got, want := checkGPSValid(t, down), checkGPSValid(t, in); !maps.Equal(got, want) {
						t.Errorf("download did not decrypt the GPS values:\n got %v\nwant %v", got, want)
					}
					if got, want := xmpPacket(t, down), xmpPacket(t, se.edit(t, in)); !bytes.Equal(got, want) {
						t.Errorf("download did not decrypt the XMP packet:\n got %s\nwant %s", got, want)
					}
				})
			}
		}
	}
}

// TestValuesFingerprintFollowsValues: the fingerprint of GPS and XMP values
// depends on the values (and the radices and label), not on their encoding:
// the same location in both Exif byte orders has one fingerprint, so two
// photos with the same location (a burst) are encrypted alike and each
// decrypts with the other's ledger entry; a different location has
// another.
func TestValuesFingerprintFollowsValues(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	ii, _ := builtPhoto(binary.LittleEndian)
	mm, _ := builtPhoto(binary.BigEndian)
	led := ledgerSet{}
	encII, resII, _ := encrypt(t, key, ii, led.upload())
	encMM, resMM, _ := encrypt(t, key, mm, led.upload())
	for _, kind := range []string{KindGPS, KindXMPLocation} {
		a, b := items(resII, kind), items(resMM, kind)
		if len(a) != 1 || len(b) != 1 || a[0].Action != ActionTransformed || b[0].Action != ActionTransformed {
			t.Fatalf("%s: %+v %+v", kind, a, b)
		}
		if a[0].In != b[0].In || a[0].Out != b[0].Out || a[0].In == a[0].Out {
			t.Errorf("%s: fingerprints differ between byte orders, or input and output share one", kind)
		}
	}
	if !maps.Equal(checkGPSValid(t, encII), checkGPSValid(t, encMM)) {
		t.Error("the same values encrypt differently in the two byte orders")
	}
	for _, f := range [][]byte{encII, encMM} {
		if _, res, _ := encrypt(t, key, f, led.upload()); res.Transformed {
			t.Error("a re-upload was changed")
		}
	}
	if dec, _, _ := encrypt(t, key, encMM, led.download()); !bytes.Equal(dec, mm) {
		t.Error("download did not decrypt")
	}
	// One second of latitude more: another fingerprint, unknown to the
	// ledger, so a download leaves it alone.
	other := append([]byte(nil), mm...)
	p, x := exifOf(t, other)
	for _, e := range x.GPS.Entries {
		if e.Tag == gpsLatitude {
			binary.BigEndian.PutUint32(p[e.DataOffset+16:], 3113)
		}
	}
	out, res, _ := encrypt(t, key, other, led.download())
	if g := items(res, KindGPS); len(g) != 1 || g[0].Action != ActionPassed || g[0].In == items(resMM, KindGPS)[0].In {
		t.Errorf("another location: %+v", g)
	}
	if !maps.Equal(checkGPSValid(t, out), checkGPSValid(t, other)) {
		t.Error("a download changed unknown GPS values")
	}
}

// TestValuesFingerprintVector recomputes the fingerprints of FORMAT.md §30.1.
func TestValuesFingerprintVector(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	radices := []uint64{2, 90, 60, 6000, 2, 180, 60, 6000}
	in := valuesFingerprint(key, "gps", radices, []uint64{0, 48, 51, 3013, 0, 2, 17, 4013})
	out := valuesFingerprint(key, "gps", radices, []uint64{1, 44, 50, 2809, 0, 126, 51, 168})
	if got := fmt.Sprintf("%x", in); got != "358ad583b7a2bd2244712e9aa9ebb65edbc84e4ad7d268a05aba823ccf3db2e1" {
		t.Errorf("fingerprint of x: %s", got)
	}
	if got := fmt.Sprintf("%x", out); got != "9cf9f6e16963dc26624f4bdb7016f71e03763f4f7a6b55244cf925f742e50075" {
		t.Errorf("fingerprint of E(x): %s", got)
	}
}

// TestTextReferenceWindow: a '&' starts a reference only when a ';' is
// among the 32 bytes after it (FORMAT.md §25.3 rule 1).
func TestTextReferenceWindow(t *testing.T) {
	for _, c := range []struct {
		letters int  // between '&' and ';'
		ref     bool // the ';' is within the 32 bytes after '&'
	}{
		{0, true}, {1, true}, {30, true}, {31, true}, {32, false}, {33, false},
	} {
		s := "&" + strings.Repeat("a", c.letters) + ";b"
		p := []byte(s)
		els := textElements(nil, p, 0, len(p), true, false)
		want := c.letters + 1 // every letter, and the b
		if c.ref {
			want = 1 // only the b
		}
		if len(els) != want {
			t.Errorf("%d letters: %d elements, want %d", c.letters, len(els), want)
		}
		if c.ref && (len(els) == 0 || els[0].off != len(s)-1) {
			t.Errorf("%d letters: the reference was not kept whole", c.letters)
		}
	}
	// The ';' must lie inside the run, too.
	p := []byte("&amp;")
	if els := textElements(nil, p, 0, 4, true, false); len(els) != 3 {
		t.Errorf("a ';' after the run ended a reference: %d elements", len(els))
	}
}

// zeroScanJPEG returns a baseline grayscale 64×8 JPEG whose entropy-coded
// data are 191 zero bytes (Go's encoder uses the Annex K tables, in which
// "00" is DC difference 0 and AC run 0 size 1: each of the 8 blocks is DC 0
// and 63 coefficients −1, 191 bits), and the offset of that data.
func zeroScanJPEG(t *testing.T) ([]byte, int) {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, goimage.NewGray(goimage.Rect(0, 0, 64, 8)), nil); err != nil {
		t.Fatal(err)
	}
	j := b.Bytes()
	sos := bytes.Index(j, []byte{0xFF, 0xDA})
	ecs := sos + 2 + int(binary.BigEndian.Uint16(j[sos+2:]))
	out := append(append(append([]byte(nil), j[:ecs]...), make([]byte, 191)...), 0xFF, 0xD9)
	if _, _, err := jpegbits.TransformBytes(out, jpegbits.Options{Mode: jpegbits.Extended, Keystream: newImage(testKey(t, keystream.ModeExtended), "t", nil, nil)}); err != nil {
		t.Fatalf("the zero scan does not parse: %v", err)
	}
	return out, ecs
}

// TestGPSValueOverThumbnailSymmetric: a GPS value whose bytes lie in the
// thumbnail's entropy-coded data is a problem in both directions (FORMAT.md
// §23, §28): its bytes are zero in the plaintext and not in the ciphertext,
// so judging them after the thumbnail transform would report a problem on
// encryption only.
func TestGPSValueOverThumbnailSymmetric(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	thumb, ecs := zeroScanJPEG(t)
	o := binary.LittleEndian
	b := newTIFF(o)
	th := b.blob(thumb)
	alt := th + uint32(ecs) + 40 // 8 zero bytes inside the scan
	gps := b.ifd(0,
		asciiEnt(0x0001, "N"),
		b.rationals(0x0002, 48, 1, 51, 1, 3013, 100),
		tent{tag: gpsAltitude, typ: 5, count: 1, ptr: &alt},
	)
	ifd1 := b.ifd(0, b.long(0x0201, th), b.long(0x0202, uint32(len(thumb))))
	first := b.ifd(ifd1, asciiEnt(0x010F, "jpegveil test"), ptr(0x8825, gps))
	b.o.PutUint32(b.buf[4:], first)
	in := withSegments(testJPEG(64, 64, 1), segment(0xE1, append([]byte("Exif\x00\x00"), b.buf...)))
	// File offset of the altitude: SOI, APP1 marker and length, TIFF
	// header at payload offset 6.
	at := 2 + 4 + 6 + int(alt)

	enc, resEnc, errEnc := encrypt(t, key, in, Options{})
	if !bytes.Equal(in[at:at+8], make([]byte, 8)) || bytes.Equal(enc[at:at+8], in[at:at+8]) {
		t.Fatalf("the test needs zero value bytes that the thumbnail transform changes: % x → % x", in[at:at+8], enc[at:at+8])
	}
	dec, resDec, errDec := encrypt(t, key, enc, Options{})
	if !bytes.Equal(dec, in) {
		t.Fatal("no round trip")
	}
	for dir, c := range map[string]struct {
		res Result
		err error
	}{"encrypt": {resEnc, errEnc}, "decrypt": {resDec, errDec}} {
		var me *MetadataError
		if !errors.As(c.err, &me) || me.Item != "gps" || !strings.Contains(me.Reason, "GPSAltitude: value overlaps the thumbnail") {
			t.Errorf("%s: got %v, want the GPSAltitude problem", dir, c.err)
		}
		if th := items(c.res, KindThumbnail); len(th) != 1 || th[0].Action != ActionTransformed || th[0].Problem != "" {
			t.Errorf("%s: thumbnail %+v", dir, th)
		}
		if g := items(c.res, KindGPS); len(g) != 1 || g[0].Action != ActionTransformed || fmt.Sprint(g[0].Fields) != "[GPSLatitudeRef GPSLatitude]" {
			t.Errorf("%s: GPS %+v", dir, g)
		}
	}
	// With StopAtError both directions stop before the Exif segment.
	for dir, f := range map[string][]byte{"encrypt": in, "decrypt": enc} {
		got, err := io.ReadAll(NewReader(key, bytes.NewReader(f), Options{StopAtError: true}))
		var me *MetadataError
		if !errors.As(err, &me) || me.Item != "gps" || len(got) != 2 {
			t.Errorf("%s with StopAtError: %d bytes, %v", dir, len(got), err)
		}
	}
}
