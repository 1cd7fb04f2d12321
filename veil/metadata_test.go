package veil

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"strings"
	"testing"
	"time"

	"jpegveil/exif"
	"jpegveil/imagemetrics"
	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

var orders = []binary.ByteOrder{binary.LittleEndian, binary.BigEndian}

// psnrJPEG decodes two JPEGs and returns the RGB PSNR between them.
func psnrJPEG(t *testing.T, what string, a, b []byte) float64 {
	t.Helper()
	ma, err := jpeg.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatalf("%s: original does not decode: %v", what, err)
	}
	mb, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: encrypted copy does not decode: %v", what, err)
	}
	p, err := imagemetrics.PSNRRGB(imagemetrics.FromImage(ma), imagemetrics.FromImage(mb))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return p
}

// exifOf returns the first Exif payload of a file and its parse.
func exifOf(t *testing.T, f []byte) ([]byte, *exif.Exif) {
	t.Helper()
	md, err := exif.Scan(f)
	if err != nil || len(md.Exif) == 0 || md.Exif[0].Exif == nil {
		t.Fatalf("no Exif: %v", err)
	}
	es := md.Exif[0]
	return f[es.Offset : es.Offset+es.Length], es.Exif
}

// rationals returns the numerators and denominators of an entry.
func rationals(x *exif.Exif, e exif.Entry) (num, den []uint64) {
	v := x.Value(e)
	for i := 0; i+8 <= len(v); i += 8 {
		num = append(num, uint64(x.ByteOrder.Uint32(v[i:])))
		den = append(den, uint64(x.ByteOrder.Uint32(v[i+4:])))
	}
	return num, den
}

// checkGPSValid checks that every location field of the GPS IFD holds a
// value a validating reader accepts, and returns them as text.
func checkGPSValid(t *testing.T, f []byte) map[string]string {
	t.Helper()
	_, x := exifOf(t, f)
	vals := map[string]string{}
	for _, e := range x.GPS.Entries {
		name := exif.GPSTagName(e.Tag)
		v := x.Value(e)
		if want, ok := gpsForm[e.Tag]; v == nil || ok && (e.Type != want.t || want.n != 0 && e.Count != want.n) {
			// Not in the form the transform reads: left as it is.
			vals[name] = string(v)
			continue
		}
		switch e.Tag {
		case gpsLatitude, gpsLongitude, gpsDestLatitude, gpsDestLongitude, gpsTimeStamp:
			num, den := rationals(x, e)
			limit := 90.0
			if e.Tag == gpsLongitude || e.Tag == gpsDestLongitude {
				limit = 180
			}
			if e.Tag == gpsTimeStamp {
				limit = 24
			}
			total := float64(num[0])/float64(den[0]) + float64(num[1])/float64(den[1])/60 + float64(num[2])/float64(den[2])/3600
			if total >= limit || float64(num[1])/float64(den[1]) >= 60 || float64(num[2])/float64(den[2]) >= 60 {
				t.Errorf("%s = %v/%v (%.6f) is out of range", name, num, den, total)
			}
			vals[name] = fmt.Sprint(num, den)
		case gpsAltitude:
			num, den := rationals(x, e)
			if float64(num[0])/float64(den[0]) >= maxAltitude {
				t.Errorf("%s = %d/%d out of range", name, num[0], den[0])
			}
			vals[name] = fmt.Sprint(num, den)
		case gpsLatitudeRef, gpsDestLatitudeRef:
			if s := string(v); s != "N\x00" && s != "S\x00" {
				t.Errorf("%s = %q", name, s)
			}
			vals[name] = string(v)
		case gpsLongitudeRef, gpsDestLongitudeRef:
			if s := string(v); s != "E\x00" && s != "W\x00" {
				t.Errorf("%s = %q", name, s)
			}
			vals[name] = string(v)
		case gpsAltitudeRef:
			if v[0] > 1 {
				t.Errorf("%s = %d", name, v[0])
			}
			vals[name] = fmt.Sprint(v[0])
		case gpsDateStamp:
			if _, err := time.Parse("2006:01:02\x00", string(v)); err != nil {
				t.Errorf("%s = %q is not a date: %v", name, v, err)
			}
			vals[name] = string(v)
		case gpsAreaInformation:
			for _, c := range v[8:] {
				if c < 0x20 || c > 0x7E {
					t.Errorf("%s holds byte %#x", name, c)
				}
			}
			vals[name] = string(v)
		}
	}
	return vals
}

// gpsForm is the type and count (0: any) of each location field.
var gpsForm = map[uint16]struct {
	t exif.Type
	n uint32
}{
	gpsLatitudeRef: {exif.ASCII, 2}, gpsDestLatitudeRef: {exif.ASCII, 2}, gpsLongitudeRef: {exif.ASCII, 2}, gpsDestLongitudeRef: {exif.ASCII, 2},
	gpsLatitude: {exif.Rational, 3}, gpsDestLatitude: {exif.Rational, 3}, gpsLongitude: {exif.Rational, 3}, gpsDestLongitude: {exif.Rational, 3},
	gpsTimeStamp: {exif.Rational, 3}, gpsAltitudeRef: {exif.Byte, 1}, gpsAltitude: {exif.Rational, 1},
	gpsDateStamp: {exif.ASCII, 11}, gpsAreaInformation: {exif.Undefined, 0},
}

func items(res Result, kind string) []MetadataResult {
	var out []MetadataResult
	for _, m := range res.Metadata {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// builtPhoto is a photo with Exif (thumbnail at an odd offset, GPS) and
// XMP, in the given byte order.
func builtPhoto(o binary.ByteOrder) (file, thumb []byte) {
	thumb = testJPEG(40, 30, 2)
	ex := testExif(exifOptions{order: o, thumbnail: thumb, pad: 3, gps: true, area: "Paris, 7e arrondissement"})
	return withSegments(testJPEG(96, 64, 1), segment(0xE1, ex), segment(0xE1, []byte(testXMP))), thumb
}

func TestMetadataBuiltBothByteOrders(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	for _, o := range orders {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			in, thumb := builtPhoto(o)
			enc, res, err := encrypt(t, key, in, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(enc) != len(in) {
				t.Fatalf("size changed: %d → %d", len(in), len(enc))
			}
			dec, _, err := encrypt(t, key, enc, Options{})
			if err != nil || !bytes.Equal(dec, in) {
				t.Fatalf("round trip failed (%v)", err)
			}
			for _, kind := range []string{KindThumbnail, KindGPS, KindXMPLocation} {
				its := items(res, kind)
				if len(its) != 1 || its[0].Action != ActionTransformed || its[0].Problem != "" {
					t.Fatalf("%s: %+v", kind, its)
				}
			}
			// The thumbnail sits at an odd offset and still decodes.
			p, x := exifOf(t, in)
			if x.Thumbnail.TIFFOffset%2 != 1 {
				t.Fatalf("thumbnail at even TIFF offset %d", x.Thumbnail.TIFFOffset)
			}
			pe, _ := exifOf(t, enc)
			th := x.Thumbnail
			if !bytes.Equal(p[th.Offset:th.Offset+th.Length], thumb) {
				t.Fatal("builder misplaced the thumbnail")
			}
			if psnr := psnrJPEG(t, "thumbnail", thumb, pe[th.Offset:th.Offset+th.Length]); psnr >= 10 {
				t.Errorf("thumbnail PSNR %.2f dB, want < 10", psnr)
			}
			before, after := checkGPSValid(t, in), checkGPSValid(t, enc)
			for _, f := range []string{"GPSLatitude", "GPSLongitude", "GPSAltitude", "GPSTimeStamp", "GPSDateStamp", "GPSDestLatitude", "GPSDestLongitude", "GPSAreaInformation"} {
				if before[f] == after[f] {
					t.Errorf("%s unchanged: %s", f, before[f])
				}
			}
			if _, ok := before["GPSMapDatum"]; ok {
				t.Error("GPSMapDatum treated as a location field")
			}
			checkXMP(t, in, enc)
		})
	}
}

// checkXMP checks that the XMP packet of enc is still well-formed XML, that
// every location value changed, and that the markup did not.
func checkXMP(t *testing.T, in, enc []byte) {
	t.Helper()
	md, _ := exif.Scan(enc)
	if len(md.XMP) != 1 {
		t.Fatalf("%d XMP segments", len(md.XMP))
	}
	xs := md.XMP[0]
	pkt := enc[xs.Offset+xs.XMP.PacketOffset : xs.Offset+xs.Length]
	dec := xml.NewDecoder(bytes.NewReader(pkt))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("encrypted XMP is not well-formed: %v\n%s", err, pkt)
		}
	}
	orig := in[xs.Offset+xs.XMP.PacketOffset : xs.Offset+xs.Length]
	for _, v := range []string{"48,51,30.13N", "2,17.668833E", "3512/100", "2024-05-01T10:11:12.50Z", "Paris", "Île-de-France", "東京", "35,41.1N", "Tour Eiffel"} {
		if !bytes.Contains(orig, []byte(v)) {
			t.Fatalf("test packet lacks %q", v)
		}
		if bytes.Contains(pkt, []byte(v)) {
			t.Errorf("XMP still holds %q", v)
		}
	}
	for _, v := range []string{"&amp;", `xml:lang="x-default"`, "<exif:GPSLatitude>", "photoshop:City=", "rdf:parseType=\"Resource\""} {
		if !bytes.Contains(pkt, []byte(v)) {
			t.Errorf("markup %q was changed", v)
		}
	}
	// The typed values keep their syntax and ranges.
	xp := planXMP(enc[xs.Offset:xs.Offset+xs.Length], xs.XMP.PacketOffset)
	if len(xp.problems) != 0 {
		t.Errorf("problems in the ciphertext: %v", xp.problems)
	}
	t.Logf("encrypted XMP:\n%s", pkt)
}

func TestMPFBuiltSeveralImages(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	for _, o := range orders {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			secs := [][]byte{
				testJPEG(48, 32, 3),
				withSegments(testJPEG(64, 40, 4), segment(0xE1, testExif(exifOptions{order: o, thumbnail: testJPEG(16, 16, 6), pad: 1, gps: true}))),
				testJPEG(24, 24, 5),
			}
			trailing := []byte("not an MPF image: left alone")
			in := testMPF(o, testJPEG(80, 60, 1), testExif(exifOptions{order: o, gps: true}), secs, 3, trailing)
			// Data after EOI that no MPF entry declares cannot be
			// encrypted: it is left alone and reported as a problem.
			enc, res, err := encrypt(t, key, in, Options{})
			var me *MetadataError
			if !errors.As(err, &me) || me.Item != KindTrailing || me.Offset != int64(len(in)-len(trailing)) {
				t.Fatalf("undeclared trailing data: %v, want a %s problem at byte %d", err, KindTrailing, len(in)-len(trailing))
			}
			if len(enc) != len(in) || !bytes.HasSuffix(enc, trailing) {
				t.Fatal("size changed or trailing data touched")
			}
			dec, _, err := encrypt(t, key, enc, Options{})
			if !errors.As(err, &me) || !bytes.Equal(dec, in) {
				t.Fatalf("round trip failed (%v)", err)
			}
			// Under StopAtError (the proxy's block policy) nothing from the
			// undeclared data on is handed out.
			var stopped bytes.Buffer
			_, err = Transform(key, &stopped, bytes.NewReader(in), Options{StopAtError: true})
			if !errors.As(err, &me) || stopped.Len() != len(in)-len(trailing) {
				t.Fatalf("StopAtError: %v after %d bytes, want the trailing problem after %d", err, stopped.Len(), len(in)-len(trailing))
			}
			mp := items(res, KindMPFImage)
			if len(mp) != 3 {
				t.Fatalf("%d MPF images: %+v", len(mp), res.Metadata)
			}
			for i, m := range mp {
				if m.Label != fmt.Sprintf("mpf image %d", i+2) || m.Action != ActionTransformed || m.Problem != "" {
					t.Errorf("MPF image %d: %+v", i+2, m)
				}
				s, e := in[m.Offset:m.Offset+m.Length], enc[m.Offset:m.Offset+m.Length]
				if !bytes.Equal(s, secs[i]) {
					t.Fatalf("MPF image %d misplaced", i+2)
				}
				if psnr := psnrJPEG(t, m.Label, s, e); psnr >= 10 {
					t.Errorf("%s PSNR %.2f dB, want < 10", m.Label, psnr)
				}
			}
			// The second secondary image's own thumbnail and GPS.
			var nested int
			for _, m := range res.Metadata {
				if m.Label == "mpf image 3 exif thumbnail" && m.Action == ActionTransformed {
					nested++
				}
				if m.Kind == KindGPS && m.Offset > mp[0].Offset && m.Action == ActionTransformed {
					nested++
				}
			}
			if nested != 2 {
				t.Errorf("metadata of MPF image 3 not transformed: %+v", res.Metadata)
			}
		})
	}
}

// TestMPFStreamsInSmallReads reads the Reader a few bytes at a time, so
// that no read spans the start of an MPF image.
func TestMPFStreamsInSmallReads(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	in := testMPF(binary.BigEndian, testJPEG(80, 60, 1), nil, [][]byte{testJPEG(40, 40, 3), testJPEG(30, 20, 4)}, 0, []byte{1, 2, 3})
	want, _, _ := encrypt(t, key, in, Options{})
	for _, step := range []int{1, 7, 4096} {
		r := NewReader(key, bytes.NewReader(in), Options{})
		var out []byte
		buf := make([]byte, step)
		for {
			n, err := r.Read(buf)
			out = append(out, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("reads of %d bytes give a different ciphertext", step)
		}
	}
}

func TestKeepSwitches(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	photo, _ := builtPhoto(binary.LittleEndian)
	in := testMPF(binary.LittleEndian, photo, nil, [][]byte{testJPEG(40, 40, 3)}, 0, nil)
	md, _ := exif.Scan(in)
	exifSeg := func(f []byte) []byte { return f[md.Exif[0].Offset : md.Exif[0].Offset+md.Exif[0].Length] }
	xmpSeg := func(f []byte) []byte { return f[md.XMP[0].Offset : md.XMP[0].Offset+md.XMP[0].Length] }
	all, _, _ := encrypt(t, key, in, Options{})
	keep, res, err := encrypt(t, key, in, Options{KeepThumbnail: true, KeepGPS: true, KeepMPF: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(exifSeg(keep), exifSeg(in)) || !bytes.Equal(xmpSeg(keep), xmpSeg(in)) {
		t.Error("kept metadata changed")
	}
	if bytes.Equal(exifSeg(all), exifSeg(in)) || bytes.Equal(xmpSeg(all), xmpSeg(in)) {
		t.Error("metadata not encrypted by default")
	}
	eoi := len(photo) + bytes.Index(in[len(photo):], []byte{0xFF, 0xD8}) // nothing between
	if !bytes.Equal(keep[eoi:], in[eoi:]) || bytes.Equal(all[eoi:], in[eoi:]) {
		t.Error("KeepMPF did not keep the MPF image, or the default did not encrypt it")
	}
	if bytes.Equal(keep, in) {
		t.Error("the primary image was not encrypted")
	}
	for _, m := range res.Metadata {
		if m.Action != ActionKept || m.Transformed {
			t.Errorf("%s: action %s", m.Label, m.Action)
		}
	}
	// Each switch alone.
	thumbOnly, _, _ := encrypt(t, key, in, Options{KeepGPS: true, KeepMPF: true})
	if !bytes.Equal(xmpSeg(thumbOnly), xmpSeg(in)) || bytes.Equal(exifSeg(thumbOnly), exifSeg(in)) {
		t.Error("KeepGPS alone")
	}
}

// ledgerSet is a ledger in a map.
type ledgerSet map[Fingerprint]bool

func (l ledgerSet) upload() Options {
	return Options{
		Decide: func(fp Fingerprint) (bool, error) { return !l[fp], nil },
		Record: func(fp Fingerprint) error { l[fp] = true; return nil },
	}
}

func (l ledgerSet) download() Options {
	return Options{Decide: func(fp Fingerprint) (bool, error) { return l[fp], nil }}
}

// TestMetadataLedger checks the direction rule for metadata: every item is
// recorded on upload, a ciphertext uploaded again passes unchanged in every
// part, a download decrypts every part, and a stranger's photo passes.
func TestMetadataLedger(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	photo, _ := builtPhoto(binary.BigEndian)
	in := testMPF(binary.BigEndian, photo, nil, [][]byte{testJPEG(40, 40, 3), testJPEG(20, 20, 4)}, 1, nil)
	led := ledgerSet{}
	enc, res, err := encrypt(t, key, in, led.upload())
	if err != nil {
		t.Fatal(err)
	}
	// Primary, thumbnail, GPS, XMP and two MPF images.
	if len(led) != 6 || len(res.Metadata) != 5 {
		t.Fatalf("%d ledger entries, %d items", len(led), len(res.Metadata))
	}
	again, res2, err := encrypt(t, key, enc, led.upload())
	if err != nil || !bytes.Equal(again, enc) || res2.Transformed {
		t.Fatalf("a ciphertext uploaded again was changed (%v)", err)
	}
	for _, m := range res2.Metadata {
		if m.Action != ActionPassed {
			t.Errorf("re-upload: %s %s", m.Label, m.Action)
		}
	}
	dec, _, err := encrypt(t, key, enc, led.download())
	if err != nil || !bytes.Equal(dec, in) {
		t.Fatalf("download did not decrypt everything (%v)", err)
	}
	stranger, _ := builtPhoto(binary.LittleEndian)
	out, res3, _ := encrypt(t, key, stranger, led.download())
	if !bytes.Equal(out, stranger) || res3.Transformed {
		t.Fatal("a stranger's photo was changed on download")
	}
	// Uploaded with the thumbnail kept, the thumbnail is not in the
	// ledger: a download leaves it alone even when everything else is
	// decrypted.
	led2 := ledgerSet{}
	opts := led2.upload()
	opts.KeepThumbnail = true
	enc2, _, _ := encrypt(t, key, in, opts)
	dec2, _, _ := encrypt(t, key, enc2, led2.download())
	if !bytes.Equal(dec2, in) {
		t.Fatal("a file uploaded with the thumbnail kept does not come back exactly")
	}
}

// TestServiceRewroteMetadata: a service drops the thumbnail and strips GPS
// and XMP of a ciphertext; the primary image still decrypts exactly.
func TestServiceRewroteMetadata(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	in, _ := builtPhoto(binary.LittleEndian)
	enc, _, _ := encrypt(t, key, in, Options{})
	// The service's version: its own small Exif, no thumbnail, no GPS, no
	// XMP, and a comment.
	rewritten := withSegments(stripMetadata(t, enc), segment(0xE1, testExif(exifOptions{order: binary.BigEndian})), segment(0xFE, []byte("resaved")))
	dec, res, err := encrypt(t, key, rewritten, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stripMetadata(t, dec), stripMetadata(t, in)) {
		t.Fatal("the main image does not decrypt exactly after the service rewrote the metadata")
	}
	if len(res.Metadata) != 0 {
		t.Errorf("metadata items in the rewritten file: %+v", res.Metadata)
	}
}

func TestUnprotectableMetadata(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	// A latitude of exactly 90° is outside the encrypted range.
	ex := testExif(exifOptions{order: binary.LittleEndian, gps: true})
	needle := binary.LittleEndian.AppendUint32(nil, 48)
	at := bytes.Index(ex, needle)
	binary.LittleEndian.PutUint32(ex[at:], 90)
	in := withSegments(testJPEG(64, 64, 1), segment(0xE1, ex))
	out, res, err := encrypt(t, key, in, Options{})
	var me *MetadataError
	if !errors.As(err, &me) || me.Item != "gps" || !strings.Contains(me.Reason, "GPSLatitude") {
		t.Fatalf("got %v, want a MetadataError for GPSLatitude", err)
	}
	if !IsParseError(err) || len(out) != len(in) {
		t.Fatal("not a parse error, or the output is incomplete")
	}
	if g := items(res, KindGPS); len(g) != 1 || g[0].Action != ActionTransformed {
		t.Fatalf("the other GPS fields were not encrypted: %+v", g)
	}
	// With StopAtError, nothing from the Exif segment on is handed out.
	r := NewReader(key, bytes.NewReader(in), Options{StopAtError: true})
	got, err := io.ReadAll(r)
	if !errors.As(err, &me) {
		t.Fatalf("StopAtError: got %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("%d bytes handed out before the Exif segment, want 2 (SOI)", len(got))
	}
	// Kept GPS is no problem.
	if _, _, err := encrypt(t, key, in, Options{KeepGPS: true}); err != nil {
		t.Fatalf("KeepGPS: %v", err)
	}
}

// TestBrokenEmbeddedImages: a truncated thumbnail and a truncated MPF
// image are encrypted up to their error and reported.
func TestBrokenEmbeddedImages(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	thumb := testJPEG(40, 30, 2)
	thumb = thumb[:len(thumb)-100]
	in := withSegments(testJPEG(64, 48, 1), segment(0xE1, testExif(exifOptions{order: binary.BigEndian, thumbnail: thumb})))
	out, res, err := encrypt(t, key, in, Options{})
	var me *MetadataError
	if !errors.As(err, &me) || me.Item != "exif thumbnail" {
		t.Fatalf("got %v", err)
	}
	dec, _, _ := encrypt(t, key, out, Options{})
	if !bytes.Equal(dec, in) || !res.Metadata[0].Transformed {
		t.Fatal("a truncated thumbnail does not round-trip, or was left unencrypted")
	}
	sec := testJPEG(40, 40, 3)
	in = testMPF(binary.BigEndian, testJPEG(64, 48, 1), nil, [][]byte{sec}, 0, nil)
	in = in[:len(in)-50]
	out, _, err = encrypt(t, key, in, Options{})
	if !errors.As(err, &me) || me.Item != "mpf image 2" {
		t.Fatalf("truncated MPF image: got %v", err)
	}
	if dec, _, _ := encrypt(t, key, out, Options{}); !bytes.Equal(dec, in) {
		t.Fatal("a truncated MPF image does not round-trip")
	}
	r := NewReader(key, bytes.NewReader(in), Options{StopAtError: true})
	if _, err := io.ReadAll(r); !errors.As(err, &me) {
		t.Fatalf("StopAtError on a truncated MPF image: %v", err)
	}
}

// pendingFeed hands out its input in parts, saying ErrInputPending between
// them, as an upload split across requests does.
type pendingFeed struct {
	parts [][]byte
	cur   []byte
}

func (f *pendingFeed) Read(p []byte) (int, error) {
	if len(f.cur) > 0 {
		n := copy(p, f.cur)
		f.cur = f.cur[n:]
		return n, nil
	}
	if len(f.parts) == 0 {
		return 0, io.EOF
	}
	return 0, jpegbits.ErrInputPending
}

// readInParts transforms what f feeds, handing it the next part whenever
// the Reader says ErrInputPending.
func readInParts(t *testing.T, key *keystream.Key, f *pendingFeed) []byte {
	t.Helper()
	r := NewReader(key, f, Options{})
	var out []byte
	buf := make([]byte, 777)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		switch {
		case errors.Is(err, jpegbits.ErrInputPending):
			if len(f.parts) == 0 {
				t.Fatal("pending with no more input")
			}
			f.cur, f.parts = f.parts[0], f.parts[1:]
		case err == io.EOF:
			return out
		case err != nil:
			t.Fatal(err)
		}
	}
}

// TestMetadataInputPending feeds an MPF file with Exif and XMP in parts of
// several sizes and checks that the output equals the one-piece transform.
func TestMetadataInputPending(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	photo, _ := builtPhoto(binary.LittleEndian)
	in := testMPF(binary.LittleEndian, photo, nil, [][]byte{testJPEG(40, 40, 3), testJPEG(30, 20, 4)}, 2, []byte("tail"))
	want, _, _ := encrypt(t, key, in, Options{})
	for _, size := range []int{1, 13, 500, 4096, 1 << 20} {
		f := &pendingFeed{}
		for i := 0; i < len(in); i += size {
			f.parts = append(f.parts, in[i:min(i+size, len(in))])
		}
		if out := readInParts(t, key, f); !bytes.Equal(out, want) {
			t.Fatalf("parts of %d bytes: the output differs from the one-piece transform", size)
		}
	}
}
