package veil

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jpegveil/keystream"
)

// metadataCorpus are the corpus files of the acceptance tests: the phone
// photo, the Exif, GPS and MPO files of the conformance set.
var metadataCorpus = []string{
	"photos/phone-12mp-q92.jpg",
	"conformance/pillow-*exif*",
	"conformance/pillow-*gps*",
	"conformance/*.mpo",
	"conformance/pillow-Tests-images-sugarshack_bad_mpo_header.jpg",
	"conformance/imagers-benches-tower.jpg",
}

// TestMetadataCorpus: on real files, the size is unchanged, the round trip
// exact, every transformed thumbnail and MPF image still decodes and is
// under 10 dB PSNR against the original, and GPS values changed and stay
// valid.
func TestMetadataCorpus(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	var files []string
	for _, pat := range metadataCorpus {
		m, _ := filepath.Glob(filepath.Join(corpusDir, pat))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("shared corpus not found")
	}
	seen := map[string]bool{}
	var thumbs, mpfs, gps int
	for _, p := range files {
		if seen[p] {
			continue
		}
		seen[p] = true
		name := filepath.Base(p)
		in, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		enc, res, _ := encrypt(t, key, in, Options{})
		if len(enc) != len(in) {
			t.Errorf("%s: size changed", name)
			continue
		}
		if dec, _, _ := encrypt(t, key, enc, Options{}); !bytes.Equal(dec, in) {
			t.Errorf("%s: round trip failed", name)
			continue
		}
		for _, m := range res.Metadata {
			switch {
			case (m.Kind == KindThumbnail || m.Kind == KindMPFImage) && m.Transformed:
				psnr := psnrJPEG(t, name+": "+m.Label, in[m.Offset:m.Offset+m.Length], enc[m.Offset:m.Offset+m.Length])
				if psnr >= 10 {
					t.Errorf("%s: %s PSNR %.2f dB, want < 10", name, m.Label, psnr)
				}
				t.Logf("%s: %s PSNR %.2f dB", name, m.Label, psnr)
				if m.Kind == KindThumbnail {
					thumbs++
				} else {
					mpfs++
				}
			case m.Kind == KindGPS && m.Transformed:
				gps++
				before, after := checkGPSValid(t, in), checkGPSValid(t, enc)
				changed := 0
				for f, v := range before {
					if after[f] != v {
						changed++
					}
				}
				if changed == 0 {
					t.Errorf("%s: no GPS value changed", name)
				}
				if name == "phone-12mp-q92.jpg" {
					for _, f := range []string{"GPSLatitude", "GPSLongitude", "GPSAltitude"} {
						if before[f] == after[f] {
							t.Errorf("%s: %s unchanged", name, f)
						}
					}
				}
			case m.Problem != "":
				t.Logf("%s: %s: %s", name, m.Label, m.Problem)
			}
		}
		if strings.HasSuffix(name, ".mpo") && len(items(res, KindMPFImage)) == 0 {
			t.Errorf("%s: no MPF image", name)
		}
	}
	if thumbs < 5 || mpfs < 1 || gps < 2 {
		t.Errorf("only %d thumbnails, %d MPF images, %d GPS IFDs transformed", thumbs, mpfs, gps)
	}
}

// TestAllCorpusThumbnailsScrambled checks every thumbnail and MPF image of
// the whole corpus: all round-trip, and all are scrambled. The bound is
// looser than 10 dB here: a thumbnail with restart intervals of a mostly
// grey picture (pillow's xmp_test.jpg) keeps 12.6 dB, since DC drift stops
// at every restart marker.
func TestAllCorpusThumbnailsScrambled(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*", "*"))
	if len(files) == 0 {
		t.Skip("shared corpus not found")
	}
	for _, p := range files {
		in, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		enc, res, _ := encrypt(t, key, in, Options{})
		if len(enc) != len(in) {
			t.Fatalf("%s: size changed", p)
		}
		if dec, _, _ := encrypt(t, key, enc, Options{}); !bytes.Equal(dec, in) {
			t.Fatalf("%s: round trip failed", p)
		}
		for _, m := range res.Metadata {
			if (m.Kind == KindThumbnail || m.Kind == KindMPFImage) && m.Transformed && m.Err == nil {
				if psnr := psnrJPEG(t, filepath.Base(p)+": "+m.Label, in[m.Offset:m.Offset+m.Length], enc[m.Offset:m.Offset+m.Length]); psnr >= 15 {
					t.Errorf("%s: %s PSNR %.2f dB, want < 15", filepath.Base(p), m.Label, psnr)
				}
			}
		}
	}
}
