package exif

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// seedBlobs are the Exif payloads kept in testdata/ as fuzz seeds, so the
// seed corpus is never empty: le-gps-thumb.exif is fullExif in II order
// (GPS position and thumbnail), be-pillow-gps.exif is the APP1 payload of
// Pillow's exif_gps.jpg test image (MM order, many types).
func seedBlobs(t testing.TB) [][]byte {
	files, err := filepath.Glob("testdata/*.exif")
	if err != nil {
		t.Fatal(err)
	}
	var blobs [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	return blobs
}

func TestSeedBlobs(t *testing.T) {
	blobs := seedBlobs(t)
	if len(blobs) < 2 {
		t.Fatalf("only %d seed blobs in testdata/", len(blobs))
	}
	for i, b := range blobs {
		x, err := Parse(b)
		if err != nil || x.GPS == nil {
			t.Errorf("seed %d: GPS IFD %v, error %v", i, x != nil && x.GPS != nil, err)
		}
	}
	if le, err := os.ReadFile("testdata/le-gps-thumb.exif"); err != nil || string(le) != string(fullExif(binary.LittleEndian)) {
		t.Errorf("testdata/le-gps-thumb.exif differs from fullExif(LittleEndian) (%v)", err)
	}
}

// FuzzParse checks that no payload makes Parse, ParseMPF or ParseXMP panic
// or report anything outside the payload.
func FuzzParse(f *testing.F) {
	for _, b := range seedBlobs(f) {
		f.Add(b)
	}
	f.Add(fullExif(binary.BigEndian))
	f.Add(minimalExif(binary.LittleEndian))
	f.Add(mpfPayload(binary.BigEndian, 2, MPEntry{Size: 1}, MPEntry{Size: 2, Offset: 3}))
	f.Fuzz(func(t *testing.T, p []byte) {
		x, err := Parse(p)
		if x == nil && err == nil {
			t.Fatal("no result and no error")
		}
		checkExifBounds(t, "input", p, x)
		// The same bytes as an MPF payload and as a JPEG file.
		if len(p) >= 6 {
			mp := append([]byte(MPFHeader), p[6:]...)
			if m, err := ParseMPF(mp); m == nil && err == nil {
				t.Fatal("MPF: no result and no error")
			} else if m != nil && len(m.Entries) > MaxEntries {
				t.Fatalf("%d MP entries", len(m.Entries))
			}
		}
		_, _ = ParseXMP(p)
		_, _ = Scan(append([]byte{0xFF, 0xD8}, p...))
	})
}
