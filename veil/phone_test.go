package veil

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

// phoneFile is a file built to a phone camera's public layout, with what
// it must contain.
type phoneFile struct {
	name     string
	file     []byte
	gainMap  [2]int // offset, length; zero when none
	kinds    []string
	noVideo  bool
	sefDepth bool
}

func phoneFiles(t testing.TB) []phoneFile {
	mp4 := testMP4(t)
	hdr, gmAt, gmLen := ultraHDR(nil)
	both, bAt, bLen := ultraHDR(mp4)
	// A writer that lists the gain map in the Container directory only.
	mpf := bytes.Index(hdr, []byte("MPF\x00")) - 4
	mpfLen := 2 + int(binary.BigEndian.Uint16(hdr[mpf+2:]))
	noMPF := append(append([]byte(nil), hdr[:mpf]...), hdr[mpf+mpfLen:]...)
	return []phoneFile{
		{name: "pixel Container with padding", file: pixelMotionPhoto("Container", "Item", 8, mp4), kinds: []string{KindMotionVideo}},
		{name: "pixel GContainer", file: pixelMotionPhoto("GContainer", "GContainerItem", 0, mp4), kinds: []string{KindMotionVideo}},
		{name: "MicroVideo legacy", file: microVideo(mp4), kinds: []string{KindMotionVideo}},
		{name: "samsung SEF", file: samsungMotionPhoto(mp4, false), kinds: []string{KindSEFBlock, KindMotionVideo}, sefDepth: true},
		{name: "samsung SEF with Google XMP", file: samsungMotionPhoto(mp4, true), kinds: []string{KindSEFBlock, KindMotionVideo}, sefDepth: true},
		{name: "ultra HDR", file: hdr, gainMap: [2]int{gmAt, gmLen}, kinds: []string{KindMPFImage}, noVideo: true},
		{name: "gain map without MPF", file: noMPF, gainMap: [2]int{gmAt - mpfLen, gmLen}, kinds: []string{KindContainerImage}, noVideo: true},
		{name: "ultra HDR motion photo", file: both, gainMap: [2]int{bAt, bLen}, kinds: []string{KindMPFImage, KindMotionVideo}},
	}
}

// mdatPayload returns the offset and bytes of the first mdat payload of
// the MP4 that starts at the first "ftyp" box of f.
func mdatPayload(t *testing.T, f []byte) (int, []byte) {
	t.Helper()
	i := bytes.Index(f, []byte("ftyp"))
	if i < 4 {
		t.Fatal("no ftyp")
	}
	boxes, _, ok := walkMP4(f, i-4, len(f))
	if !ok {
		t.Fatal("the MP4 does not parse")
	}
	for _, b := range boxes {
		if b.typ == "mdat" {
			return b.start + b.hdr, f[b.start+b.hdr : b.end]
		}
	}
	t.Fatal("no mdat")
	return 0, nil
}

// primaryEnd is the offset after the primary image's EOI.
func primaryEnd(t *testing.T, f []byte) int {
	t.Helper()
	st, err := jpegbits.Transform(io.Discard, bytes.NewReader(f), jpegbits.Options{Mode: jpegbits.Extended})
	if err != nil {
		t.Fatal(err)
	}
	return int(st.FileBytes - st.AfterEOI)
}

func TestPhoneLayouts(t *testing.T) {
	for _, mode := range []keystream.Mode{keystream.ModeExtended, keystream.ModeStrict} {
		key := testKey(t, mode)
		for _, pf := range phoneFiles(t) {
			t.Run(string(mode)+"/"+pf.name, func(t *testing.T) {
				in := pf.file
				enc, res, err := encrypt(t, key, in, Options{})
				if err != nil {
					t.Fatalf("encrypt: %v\n%s", err, itemSummary(res))
				}
				if len(enc) != len(in) {
					t.Fatalf("size changed: %d -> %d", len(in), len(enc))
				}
				wantTrailer := !pf.noVideo || slices.Contains(pf.kinds, KindContainerImage)
				if end := int64(primaryEnd(t, in)); wantTrailer != (res.TrailerOffset >= end) {
					t.Errorf("TrailerOffset %d (image ends at %d)", res.TrailerOffset, end)
				}
				dec, _, err := encrypt(t, key, enc, Options{})
				if err != nil || !bytes.Equal(dec, in) {
					t.Fatalf("no exact round trip (%v)", err)
				}
				end := primaryEnd(t, in)
				if p := psnrJPEG(t, "primary", in[:end], enc[:end]); p >= 15 {
					t.Errorf("primary PSNR %.1f dB: not noise", p)
				}
				for _, k := range pf.kinds {
					if len(items(res, k)) == 0 {
						t.Errorf("no %s item:\n%s", k, itemSummary(res))
					}
				}
				for _, m := range res.Metadata {
					if m.Problem != "" || m.Action == ActionNone {
						t.Errorf("%s: %s %s", m.Label, m.Action, m.Problem)
					}
				}
				if g := pf.gainMap; g[1] > 0 {
					if p := psnrJPEG(t, "gain map", in[g[0]:g[0]+g[1]], enc[g[0]:g[0]+g[1]]); p >= 15 {
						t.Errorf("gain map PSNR %.1f dB: not noise", p)
					}
					// The hdrgm values and the ISO 21496-1 metadata
					// that describe the gain map stay readable.
					for _, s := range []string{`hdrgm:GainMapMax="2.3"`, iso21496} {
						if !bytes.Contains(enc[g[0]:], []byte(s)) {
							t.Errorf("%q changed", s)
						}
					}
				}
				if !pf.noVideo {
					checkVideoEncrypted(t, pf, in, enc)
				}
			})
		}
	}
}

// checkVideoEncrypted: the mdat payload changed, the boxes around it did
// not; on Samsung files, the depth map changed and the directory did not.
func checkVideoEncrypted(t *testing.T, pf phoneFile, in, enc []byte) {
	t.Helper()
	off, payload := mdatPayload(t, in)
	_, encPayload := mdatPayload(t, enc)
	same := 0
	for i := range payload {
		if payload[i] == encPayload[i] {
			same++
		}
	}
	if same > len(payload)/64+8 {
		t.Errorf("%d of %d mdat payload bytes unchanged", same, len(payload))
	}
	// ftyp, moov and free are readable, unchanged.
	ftyp := bytes.Index(in, []byte("ftyp")) - 4
	if !bytes.Equal(in[ftyp:off], enc[ftyp:off]) {
		t.Error("the MP4's boxes before the mdat payload changed")
	}
	if pf.sefDepth {
		i := bytes.Index(in, []byte("DualShot_DepthMap_1")) + len("DualShot_DepthMap_1")
		if bytes.Equal(in[i:i+32*24], enc[i:i+32*24]) {
			t.Error("the depth map passed in clear")
		}
		j := bytes.Index(in, []byte("1733356800123"))
		if j < 0 || !bytes.Equal(in[j:j+13], enc[j:j+13]) {
			t.Error("Image_UTC_Data changed")
		}
		if d := 12 + 3*12 + 8; !bytes.Equal(in[len(in)-d:], enc[len(in)-d:]) {
			t.Error("the SEF directory changed")
		}
	}
}

// TestPhoneLedger: every item of a phone file is recorded on upload, a
// ciphertext uploaded again passes in every part, and a download decrypts
// it exactly.
func TestPhoneLedger(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	for _, pf := range phoneFiles(t) {
		led := ledgerSet{}
		enc, res, err := encrypt(t, key, pf.file, led.upload())
		if err != nil {
			t.Fatal(err)
		}
		again, res2, err := encrypt(t, key, enc, led.upload())
		if err != nil || !bytes.Equal(again, enc) || res2.Transformed {
			t.Fatalf("%s: a ciphertext uploaded again was changed (%v)\n%s", pf.name, err, itemSummary(res2))
		}
		dec, _, err := encrypt(t, key, enc, led.download())
		if err != nil || !bytes.Equal(dec, pf.file) {
			t.Fatalf("%s: download did not decrypt everything (%v)\n%s", pf.name, err, itemSummary(res))
		}
	}
}

// TestPhoneStreamsInParts feeds a motion photo in parts with
// ErrInputPending between them.
func TestPhoneStreamsInParts(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	in := samsungMotionPhoto(testMP4(t), true)
	want, _, _ := encrypt(t, key, in, Options{})
	for _, size := range []int{1000, 4096, 1 << 20} {
		f := &pendingFeed{}
		for i := 0; i < len(in); i += size {
			f.parts = append(f.parts, in[i:min(i+size, len(in))])
		}
		if out := readInParts(t, key, f); !bytes.Equal(out, want) {
			t.Fatalf("parts of %d bytes: the output differs from the one-piece transform", size)
		}
	}
}

// TestPhoneNoKeystreamShared: two motion photos' videos and depth maps
// are encrypted under different keystreams even when their MP4 and depth
// map are identical.
func TestPhoneNoKeystreamShared(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	mp4 := testMP4(t)
	a := samsungMotionPhoto(mp4, false)
	b := pixelMotionPhoto("Container", "Item", 0, mp4)
	encA, _, _ := encrypt(t, key, a, Options{})
	encB, _, _ := encrypt(t, key, b, Options{})
	_, pa := mdatPayload(t, encA)
	_, pb := mdatPayload(t, encB)
	if bytes.Equal(pa[:64], pb[:64]) {
		t.Fatal("the same clip in two photos got the same keystream")
	}
}

// TestPhoneTrailerProblems: trailers that do not match their layout are
// problems, left unchanged, as before.
func TestPhoneTrailerProblems(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	mp4 := testMP4(t)
	good := pixelMotionPhoto("Container", "Item", 0, mp4)
	sam := samsungMotionPhoto(mp4, false)
	cases := []struct {
		name string
		file []byte
	}{
		{"video without XMP", append(testJPEG(64, 48, 5), mp4...)},
		{"Length one byte short", bytes.Replace(good, []byte(`Item:Length="7134"`), []byte(`Item:Length="7133"`), 1)},
		{"not an MP4", append(good[:len(good)-len(mp4)], bytes.Repeat([]byte("x"), len(mp4))...)},
		{"SEF entry out of range", func() []byte {
			f := append([]byte(nil), sam...)
			binary.LittleEndian.PutUint32(f[len(f)-8-12-4:], 1<<30)
			return f
		}()},
		{"SEF with extra data before it", func() []byte {
			i := primaryEnd(t, sam)
			return append(append(append([]byte(nil), sam[:i]...), "junk"...), sam[i:]...)
		}()},
	}
	for _, c := range cases {
		enc, res, err := encrypt(t, key, c.file, Options{})
		var me *MetadataError
		if !errors.As(err, &me) || me.Item != KindTrailing {
			t.Errorf("%s: err %v\n%s", c.name, err, itemSummary(res))
			continue
		}
		end := primaryEnd(t, c.file)
		if !bytes.Equal(enc[end:], c.file[end:]) {
			t.Errorf("%s: the trailer changed", c.name)
		}
		// With StopAtError nothing of the trailer is handed out.
		r := NewReader(key, bytes.NewReader(c.file), Options{StopAtError: true})
		out, err := io.ReadAll(r)
		if !errors.As(err, &me) || int64(len(out)) > me.Offset {
			t.Errorf("%s: StopAtError handed out %d bytes (problem at %v): %v", c.name, len(out), me, err)
		}
	}
}

// TestServiceRewritesPhone: what a service does to a motion photo's
// metadata on the way down, and what comes back. The main image always
// decrypts exactly; the video comes back decrypted when its declaration
// survives, else as the ciphertext it was (never as anything else).
func TestServiceRewritesPhone(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	mp4 := testMP4(t)
	for _, pf := range []phoneFile{
		{name: "pixel", file: pixelMotionPhoto("Container", "Item", 8, mp4)},
		{name: "samsung", file: samsungMotionPhoto(mp4, true)},
	} {
		in := pf.file
		led := ledgerSet{}
		enc, _, err := encrypt(t, key, in, led.upload())
		if err != nil {
			t.Fatal(err)
		}
		endEnc := primaryEnd(t, enc)
		_, plainPayload := mdatPayload(t, in)
		rewrites := []struct {
			name       string
			f          []byte
			videoPlain bool // the video comes back decrypted
		}{
			{"strip APP1", append(stripAPP1(enc[:endEnc]), enc[endEnc:]...), pf.name == "samsung"},
			{"rewrite Exif", append(withSegments(stripAPP1(enc[:endEnc]), segment(0xE1, testExif(exifOptions{order: binary.BigEndian})), xmpSegmentOf(enc)), enc[endEnc:]...), true},
			{"drop thumbnail", append(withSegments(stripAPP1(enc[:endEnc]), xmpSegmentOf(enc)), enc[endEnc:]...), true},
			{"truncate trailer", enc[:len(enc)-100], false},
			{"drop trailer", enc[:endEnc], false},
		}
		for _, rw := range rewrites {
			dec, res, err := encrypt(t, key, rw.f, led.download())
			end := primaryEnd(t, dec)
			if !bytes.Equal(stripMetadata(t, dec[:end]), stripMetadata(t, in[:primaryEnd(t, in)])) {
				t.Errorf("%s/%s: the main image does not decrypt exactly", pf.name, rw.name)
			}
			switch {
			case rw.videoPlain:
				if _, got := mdatPayload(t, dec); !bytes.Equal(got, plainPayload) {
					t.Errorf("%s/%s: the video does not come back decrypted (%v)\n%s", pf.name, rw.name, err, itemSummary(res))
				}
			case !bytes.Equal(dec[end:], rw.f[primaryEnd(t, rw.f):]):
				t.Errorf("%s/%s: the trailer does not come back as the ciphertext it was", pf.name, rw.name)
			case bytes.Contains(dec, plainPayload[:64]):
				t.Errorf("%s/%s: part of the video came back decrypted", pf.name, rw.name)
			}
			t.Logf("%s/%s: main image exact; video decrypted: %v; problem: %v", pf.name, rw.name, rw.videoPlain, err)
		}
	}
}

// stripAPP1 removes every APP1 segment of the image in f.
func stripAPP1(f []byte) []byte {
	out := append([]byte(nil), f[:2]...)
	i := 2
	for i+4 <= len(f) && f[i] == 0xFF && f[i+1] != 0xDA {
		l := int(binary.BigEndian.Uint16(f[i+2:]))
		if f[i+1] != 0xE1 {
			out = append(out, f[i:i+2+l]...)
		}
		i += 2 + l
	}
	return append(out, f[i:]...)
}

// xmpSegmentOf returns the first APP1 XMP segment of f.
func xmpSegmentOf(f []byte) []byte {
	i := 2
	for i+4 <= len(f) && f[i] == 0xFF && f[i+1] != 0xDA {
		l := int(binary.BigEndian.Uint16(f[i+2:]))
		if f[i+1] == 0xE1 && strings.HasPrefix(string(f[i+4:i+2+l]), "http://ns.adobe.com/xap/1.0/\x00") {
			return f[i : i+2+l]
		}
		i += 2 + l
	}
	return nil
}

// TestUnsupportedFormats: files of other kinds are refused with a typed
// error that says what to do, and still count as "not a JPEG".
func TestUnsupportedFormats(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	heic := append([]byte{0, 0, 0, 0x18}, "ftypheic\x00\x00\x00\x00mif1heic"...)
	cases := []struct {
		in     []byte
		format string
		advice string
	}{
		{heic, "HEIC/HEIF", "Most Compatible"},
		{append([]byte{0, 0, 0, 0x18}, "ftypavif\x00\x00\x00\x00"...), "AVIF", "JPEG"},
		{testMP4(t), "MP4/MOV video", "videos"},
		{[]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "PNG", "JPEG"},
		{[]byte("RIFF\x10\x00\x00\x00WEBPVP8 "), "WebP", "JPEG"},
	}
	for _, c := range cases {
		for _, stop := range []bool{false, true} {
			var out bytes.Buffer
			_, err := Transform(key, &out, bytes.NewReader(c.in), Options{StopAtError: stop})
			var ufe *UnsupportedFormatError
			if !errors.As(err, &ufe) || ufe.Format != c.format || !strings.Contains(err.Error(), c.advice) {
				t.Errorf("%s (stop %v): %v", c.format, stop, err)
				continue
			}
			if !errors.Is(err, jpegbits.ErrNotJPEG) || !IsParseError(err) {
				t.Errorf("%s: %v does not wrap the JPEG layer's error", c.format, err)
			}
		}
	}
	var out bytes.Buffer
	_, err := Transform(key, &out, strings.NewReader("hello, world"), Options{})
	var ufe *UnsupportedFormatError
	if errors.As(err, &ufe) || !errors.Is(err, jpegbits.ErrNotJPEG) {
		t.Errorf("unknown data: %v", err)
	}
}

// TestStripThumbnailIsAProblem: an uncompressed thumbnail (IFD1 with TIFF
// strips) is a picture that is not a JPEG image: it is reported, never
// passed silently.
func TestStripThumbnailIsAProblem(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	b := newTIFF(binary.LittleEndian)
	pixels := b.blob(depthMap(16, 12))
	ifd1 := b.ifd(0, b.long(0x0103, 1), b.long(tagStripOffsets, pixels), b.long(0x0117, 16*12))
	ifd0 := b.ifd(ifd1, asciiEnt(0x010F, "Camera"))
	b.o.PutUint32(b.buf[4:], ifd0)
	in := withSegments(testJPEG(64, 48, 3), segment(0xE1, append([]byte("Exif\x00\x00"), b.buf...)))
	_, res, err := encrypt(t, key, in, Options{})
	var me *MetadataError
	if !errors.As(err, &me) || me.Item != "exif thumbnail" || !strings.Contains(me.Reason, "TIFF strips") {
		t.Fatalf("err %v\n%s", err, itemSummary(res))
	}
	if _, res, err := encrypt(t, key, in, Options{KeepThumbnail: true}); err != nil {
		t.Fatalf("kept: %v\n%s", err, itemSummary(res))
	}
}

// withUdta appends a udta box holding boxes to the moov of an MP4 (the
// chunk offsets are not fixed up: for tests that do not decode).
func withUdta(mp4 []byte, boxes ...[]byte) []byte {
	var udta []byte
	for _, b := range boxes {
		udta = append(udta, b...)
	}
	udta = mp4BoxBytes("udta", udta)
	top, _, _ := walkMP4(mp4, 0, len(mp4))
	for _, bx := range top {
		if bx.typ == "moov" {
			out := append([]byte(nil), mp4[:bx.end]...)
			out = append(out, udta...)
			out = append(out, mp4[bx.end:]...)
			binary.BigEndian.PutUint32(out[bx.start:], uint32(bx.end-bx.start+len(udta)))
			return out
		}
	}
	panic("no moov")
}

func mp4BoxBytes(typ string, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
	return append(append(b, typ...), payload...)
}

// TestVideoLocation: the place of recording in the movie header, as
// Android writes it (©xyz, ISO 6709 text) and as 3GPP does (loci), is
// encrypted; the ©xyz text keeps its syntax.
func TestVideoLocation(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	const where = "+48.8584+002.2945/"
	xyz := append(binary.BigEndian.AppendUint16(nil, uint16(len(where))), 0x15, 0xc7)
	xyz = mp4BoxBytes("\xa9xyz", append(xyz, where...))
	loci := []byte{0, 0, 0, 0, 0x15, 0xc7, 'H', 'o', 'm', 'e', 0, 0}
	loci = binary.BigEndian.AppendUint32(loci, 0x00024b4a) // 2.2945 in 16.16
	loci = binary.BigEndian.AppendUint32(loci, 0x0030dbc0) // 48.8584
	loci = binary.BigEndian.AppendUint32(loci, 0x00230000) // 35 m
	loci = mp4BoxBytes("loci", append(loci, "Earth\x00\x00"...))
	mp4 := withUdta(testMP4(t), xyz, loci)
	in := pixelMotionPhoto("Container", "Item", 0, mp4)
	enc, res, err := encrypt(t, key, in, Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, itemSummary(res))
	}
	dec, _, _ := encrypt(t, key, enc, Options{})
	if !bytes.Equal(dec, in) {
		t.Fatal("no exact round trip")
	}
	i := bytes.Index(in, []byte(where))
	got := string(enc[i : i+len(where)])
	if got == where || !regexp.MustCompile(`^[+-]\d\d\.\d{4}[+-]\d{3}\.\d{4}/$`).MatchString(got) {
		t.Errorf("©xyz %q → %q", where, got)
	}
	j := bytes.Index(in, []byte("Home\x00")) + 6
	if bytes.Equal(in[j:j+12], enc[j:j+12]) || !bytes.Equal(in[j+12:j+19], enc[j+12:j+19]) {
		t.Error("loci: coordinates unchanged, or more than them changed")
	}
	t.Logf("©xyz %s → %s", where, got)
}

// TestSamsungXMPLengths: however a writer counts the Google XMP lengths of
// a Samsung file (from the MP4 to the end of the file, or the MP4 alone),
// the Samsung trailer explains the bytes and the file is encrypted.
func TestSamsungXMPLengths(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	mp4 := testMP4(t)
	f := samsungMotionPhoto(mp4, true)
	i := bytes.Index(f, []byte(`MicroVideoOffset="`)) + len(`MicroVideoOffset="`)
	j := i + bytes.IndexByte(f[i:], '"')
	short := []byte(fmt.Sprint(len(mp4)))
	short = append(bytes.Repeat([]byte("0"), j-i-len(short)), short...) // same length
	g := append(append(append([]byte(nil), f[:i]...), short...), f[j:]...)
	g = bytes.Replace(g, []byte(fmt.Sprintf(`Item:Length="%s"`, f[i:j])), []byte(fmt.Sprintf(`Item:Length="%s"`, short)), 1)
	enc, res, err := encrypt(t, key, g, Options{})
	if err != nil || len(items(res, KindMotionVideo)) != 1 {
		t.Fatalf("%v\n%s", err, itemSummary(res))
	}
	if dec, _, _ := encrypt(t, key, enc, Options{}); !bytes.Equal(dec, g) {
		t.Fatal("no exact round trip")
	}
}
