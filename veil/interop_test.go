//go:build interop

package veil

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"jpegveil/keystream"
)

const exiftoolPath = "/usr/bin/exiftool"

// exiftoolInfo runs exiftool on a file and returns its JSON object: every
// tag, GPS values as numbers, and its warnings and errors (with -validate).
func exiftoolInfo(t *testing.T, path string) map[string]any {
	t.Helper()
	out, err := exec.Command(exiftoolPath, "-j", "-a", "-G1", "-n", "-validate", "-warning", "-error",
		"-GPS:all", "-XMP:all", "-Validate", "-ThumbnailImage", "-MPImage2", path).Output()
	if err != nil {
		t.Fatalf("exiftool %s: %v", path, err)
	}
	var objs []map[string]any
	if err := json.Unmarshal(out, &objs); err != nil || len(objs) != 1 {
		t.Fatalf("exiftool output: %v", err)
	}
	return objs[0]
}

// complaints returns exiftool's warnings and errors.
func complaints(info map[string]any) []string {
	var out []string
	for k, v := range info {
		if b := filepath.Base(k); b == "ExifTool:Warning" || b == "ExifTool:Error" || b == "Warning" || b == "Error" {
			switch v := v.(type) {
			case string:
				out = append(out, v)
			case []any:
				for _, x := range v {
					out = append(out, x.(string))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestInteropExiftool encrypts the phone photo, the Exif, GPS and MPO files
// of the corpus and the built files, and checks that exiftool reads every
// ciphertext without a warning or error the original does not have, that
// its GPS position differs and is in range, and that the thumbnail and MPF
// images are still extracted.
func TestInteropExiftool(t *testing.T) {
	if _, err := os.Stat(exiftoolPath); err != nil {
		t.Skip("exiftool not installed (Debian package libimage-exiftool-perl)")
	}
	key := testKey(t, keystream.ModeExtended)
	dir := t.TempDir()
	type input struct {
		name string
		data []byte
	}
	var inputs []input
	for _, o := range orders {
		f, _ := builtPhoto(o)
		inputs = append(inputs, input{"built-" + o.String() + ".jpg", f})
	}
	inputs = append(inputs, input{"built-mpf.jpg", testMPF(binary.BigEndian, testJPEG(80, 60, 1),
		testExif(exifOptions{order: binary.BigEndian, thumbnail: testJPEG(20, 15, 7), gps: true}),
		[][]byte{testJPEG(48, 32, 3), testJPEG(24, 24, 5)}, 3, []byte("trailing"))})
	seen := map[string]bool{}
	for _, pat := range metadataCorpus {
		m, _ := filepath.Glob(filepath.Join(corpusDir, pat))
		for _, p := range m {
			if seen[p] {
				continue
			}
			seen[p] = true
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, input{filepath.Base(p), b})
		}
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			enc, res, _ := encrypt(t, key, in.data, Options{})
			orig, ct := filepath.Join(dir, "orig-"+in.name), filepath.Join(dir, "enc-"+in.name)
			if err := os.WriteFile(orig, in.data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(ct, enc, 0o644); err != nil {
				t.Fatal(err)
			}
			a, b := exiftoolInfo(t, orig), exiftoolInfo(t, ct)
			ca, cb := complaints(a), complaints(b)
			for _, c := range cb {
				if !slices.Contains(ca, c) {
					t.Errorf("exiftool complains about the ciphertext only: %q", c)
				}
			}
			checkLocationTags(t, res, a, b)
			for _, tag := range []string{"IFD1:ThumbnailImage", "MPImage2:MPImage2"} {
				if _, ok := a[tag]; ok {
					if _, ok := b[tag]; !ok {
						t.Errorf("exiftool no longer finds %s", tag)
					}
				}
			}
		})
	}
}

// checkLocationTags: every location exiftool reads in the original is
// read in the ciphertext too, in range, and changed where it was
// encrypted.
func checkLocationTags(t *testing.T, res Result, a, b map[string]any) {
	t.Helper()
	for _, tag := range []string{"GPS:GPSLatitude", "GPS:GPSLongitude", "XMP-exif:GPSLatitude", "XMP-exif:GPSLongitude"} {
		va, okA := a[tag].(float64)
		vb, okB := b[tag].(float64)
		if okA != okB {
			t.Errorf("%s readable in one file only", tag)
			continue
		}
		if !okA {
			continue
		}
		limit := 90.0
		if tag[len(tag)-9:] == "Longitude" {
			limit = 180
		}
		if math.Abs(va) > limit {
			// Garbage in the original (pillow's exif_gps.jpg): the
			// transform reports it and leaves it.
			continue
		}
		if math.Abs(vb) > limit {
			t.Errorf("%s = %v out of range", tag, vb)
		}
		if transformed(res, KindGPS, KindXMPLocation) && va == vb {
			t.Errorf("%s unchanged: %v", tag, va)
		}
		t.Logf("%s: %v → %v", tag, va, vb)
	}
}

func transformed(res Result, kinds ...string) bool {
	for _, m := range res.Metadata {
		if slices.Contains(kinds, m.Kind) && m.Transformed {
			return true
		}
	}
	return false
}

// TestInteropExiftoolThumbnailDecodes extracts the encrypted thumbnail with
// exiftool and checks it is a JPEG that decodes.
func TestInteropExiftoolThumbnailDecodes(t *testing.T) {
	if _, err := os.Stat(exiftoolPath); err != nil {
		t.Skip("exiftool not installed")
	}
	key := testKey(t, keystream.ModeExtended)
	in := readCorpus(t, "photos/phone-12mp-q92.jpg")
	enc, _, _ := encrypt(t, key, in, Options{})
	p := filepath.Join(t.TempDir(), "enc.jpg")
	if err := os.WriteFile(p, enc, 0o644); err != nil {
		t.Fatal(err)
	}
	thumb, err := exec.Command(exiftoolPath, "-b", "-ThumbnailImage", p).Output()
	if err != nil || !bytes.HasPrefix(thumb, []byte{0xFF, 0xD8}) {
		t.Fatalf("exiftool -b -ThumbnailImage: %v (%d bytes)", err, len(thumb))
	}
	orig, _ := exec.Command(exiftoolPath, "-b", "-ThumbnailImage", filepath.Join(corpusDir, "photos/phone-12mp-q92.jpg")).Output()
	if psnr := psnrJPEG(t, "thumbnail", orig, thumb); psnr >= 10 {
		t.Errorf("thumbnail PSNR %.2f dB", psnr)
	}
}
