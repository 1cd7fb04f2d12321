package veil

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"jpegveil/exif"
	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

func TestIFPEIsAnInvolutionInRange(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	shapes := [][]uint64{
		{2},
		{1},
		{90, 60, 6000},
		{2, 90, 60, 6000, 2, 180, 60, 6000, 2, 10000000, 24, 60, 6000, dateDays},
		{10, 26, 26, 1888, 53248, 95, 1, 1 << 32, 1_000_000_000_000_000_000},
	}
	for _, radices := range shapes {
		for trial := range 50 {
			vals := make([]uint64, len(radices))
			for i, r := range radices {
				vals[i] = (uint64(trial)*0x9E3779B97F4A7C15 + uint64(i)*1234567) % r
			}
			orig := append([]uint64(nil), vals...)
			ifpe(key, "test", radices, vals)
			for i, r := range radices {
				if vals[i] >= r {
					t.Fatalf("radices %v: value %d out of range", radices, vals[i])
				}
			}
			ifpe(key, "test", radices, vals)
			for i := range vals {
				if vals[i] != orig[i] {
					t.Fatalf("radices %v: not an involution: %v → %v", radices, orig, vals)
				}
			}
		}
	}
}

// TestIFPENoSharedDifference: tuples that differ in one element give
// ciphertexts whose differences are not that difference (an additive
// keystream would leak it), and a different label gives another output.
func TestIFPENoSharedDifference(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	radices := []uint64{2, 90, 60, 6000, 2, 180, 60, 6000}
	a := []uint64{0, 48, 51, 3013, 0, 2, 17, 4013}
	b := []uint64{0, 48, 51, 3014, 0, 2, 17, 4013}
	ca, cb := append([]uint64(nil), a...), append([]uint64(nil), b...)
	ifpe(key, "gps", radices, ca)
	ifpe(key, "gps", radices, cb)
	same := 0
	for i := range ca {
		if ca[i] == cb[i] {
			same++
		}
	}
	if same > 3 {
		t.Errorf("tuples one second apart share %d of 8 ciphertext elements: %v %v", same, ca, cb)
	}
	cx := append([]uint64(nil), a...)
	ifpe(key, "xmp location", radices, cx)
	if fmt.Sprint(cx) == fmt.Sprint(ca) {
		t.Error("the label does not separate transforms")
	}
}

// TestSexagesimalRangeProperty checks, for many denominators, that every
// numerator triple below the radices is below the limit.
func TestSexagesimalRangeProperty(t *testing.T) {
	dens := []uint64{1, 2, 3, 7, 10, 60, 100, 1000, 10000, 1000000, 1 << 31, math.MaxUint32}
	for _, limit := range []uint64{24, 90, 180} {
		for _, d0 := range dens {
			for _, d1 := range dens {
				for _, d2 := range dens {
					const c = math.MaxUint32 + 1
					r := sexagesimalRadices(limit, [3]uint64{d0, d1, d2}, [3]uint64{c, c, c})
					// The largest value, in exact rational arithmetic
					// scaled by 3600·d0·d1·d2 (big enough in float64 for
					// a strict comparison margin at these sizes? use
					// the integer form of the bound instead).
					max0, max1, max2 := r[0]-1, r[1]-1, r[2]-1
					if max0/d0 > limit-1 || max1 >= 60*d1 || max2 >= 60*d2 {
						t.Fatalf("limit %d dens %d %d %d: radices %v exceed a component", limit, d0, d1, d2, r)
					}
					// max2/(3600·d2) < 1/(60·d1) ⇔ max2·d1 < 60·d2
					if max2*d1 >= 60*d2 && !(max2 == 0) {
						t.Fatalf("limit %d dens %d %d %d: seconds can reach a minute's fraction", limit, d0, d1, d2)
					}
				}
			}
		}
	}
}

// TestTextElementsKeepTokenization: transforming text keeps every byte
// class, so a second pass finds the same elements.
func TestTextElementsKeepTokenization(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	for _, s := range []string{
		"Paris &amp; Île-de-France 75007", "東京タワー, 港区", "\xC3A\xE4\xB8\x41 bad \xE0\x80\x80 utf8 \xF0\x9F\x98\x80 emoji",
		"&unterminated entity; &#x41; &#65;", "", "plain ASCII 123",
	} {
		for _, xmlMode := range []bool{true, false} {
			p := []byte(s)
			els := textElements(nil, p, 0, len(p), xmlMode, !xmlMode)
			transformElements(key, "test", p, els)
			again := textElements(nil, p, 0, len(p), xmlMode, !xmlMode)
			if fmt.Sprint(els) != fmt.Sprint(again) {
				t.Fatalf("%q: elements changed after the transform", s)
			}
			transformElements(key, "test", p, again)
			if string(p) != s {
				t.Fatalf("%q: round trip gave %q", s, p)
			}
		}
	}
}

// TestMetadataDoesNotTouchOtherSegments: only thumbnails, GPS values and
// XMP values change in APPn segments.
func TestMetadataDoesNotTouchOtherSegments(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	icc := append([]byte("ICC_PROFILE\x00\x01\x01"), bytes.Repeat([]byte("GPSLatitude"), 20)...)
	in := withSegments(testJPEG(64, 64, 1), segment(0xE2, icc), segment(0xE1, []byte(exif.XMPExtendedHeader+"guid")), segment(0xED, []byte("Photoshop 3.0\x00")))
	out, res, err := encrypt(t, key, in, Options{})
	if err != nil || len(res.Metadata) != 0 {
		t.Fatalf("err %v, items %+v", err, res.Metadata)
	}
	if !bytes.Equal(stripScan(out), stripScan(in)) {
		t.Fatal("segments other than metadata changed")
	}
}

// stripScan returns the bytes up to the first SOS.
func stripScan(b []byte) []byte {
	return b[:bytes.Index(b, []byte{0xFF, 0xDA})]
}

// TestNoMetadataNoChange: files without metadata encrypt as before (the
// whole-file vectors check this on the corpus too).
func TestNoMetadataNoChange(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	in := testJPEG(64, 64, 9)
	var plain bytes.Buffer
	img := newImage(key, "image", nil, nil)
	if _, err := jpegbits.Transform(&plain, bytes.NewReader(in), jpegbits.Options{Mode: jpegbits.Extended, Keystream: img}); err != nil {
		t.Fatal(err)
	}
	out, _, _ := encrypt(t, key, in, Options{})
	if !bytes.Equal(out, plain.Bytes()) {
		t.Fatal("a file without metadata encrypts differently through the Reader")
	}
}

// TestIFPEVector recomputes the transform vector of FORMAT.md §30.1.
func TestIFPEVector(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	radices := []uint64{2, 90, 60, 6000, 2, 180, 60, 6000}
	vals := []uint64{0, 48, 51, 3013, 0, 2, 17, 4013}
	if got := fmt.Sprintf("%x", ifpeTweak(radices)); got != "00000008"+
		"0000000000000002000000000000005a000000000000003c0000000000001770"+
		"000000000000000200000000000000b4000000000000003c0000000000001770" {
		t.Errorf("tweak %s", got)
	}
	ifpe(key, "gps", radices, vals)
	if got := fmt.Sprint(vals); got != "[1 44 50 2809 0 126 51 168]" {
		t.Errorf("E(x) = %s", got)
	}
	p := []byte("Paris, 7e")
	transformElements(key, "gps", p, textElements(nil, p, 0, len(p), false, true))
	if string(p) != "YBC04I{GK" {
		t.Errorf("text: %q", p)
	}
}
