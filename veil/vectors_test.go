package veil

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jpegveil/keystream"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json and testdata/vectors/ from the current implementation")

const vectorsFile = "../testdata/vectors.json"

// vectorCorpus are the corpus files whose ciphertext hashes are vectors: all
// photos and a spread of conformance files (odd sizes, CMYK, restarts,
// non-interleaved, progressive edge cases, 16-bit tables, an MPO, an
// arithmetic-coded file that is refused).
var vectorCorpus = []string{
	"photos/*.jpg",
	"conformance/imagers-tests-reftest-images-mozilla-jpg-size-*.jpg",
	"conformance/imagers-tests-reftest-images-*cmyk*.jpg",
	"conformance/imagers-tests-reftest-images-restarts.jpg",
	"conformance/imagers-tests-reftest-images-non-interleaved-mcu.jpg",
	"conformance/imagers-tests-reftest-images-progressive*.jpg",
	"conformance/imagers-tests-reftest-images-16bit-qtables.jpg",
	"conformance/imagers-tests-reftest-images-ycck.jpg",
	"conformance/pillow-Tests-images-sugarshack.mpo",
	"conformance/ljt-testimages-testimgari.jpg",
	"conformance/imagers-fuzz-afl-in-window-q0.jpg",
}

// vectorWhole are small files given whole in testdata/vectors/.
var vectorWhole = []string{"mozilla-jpg-size-1x1", "restarts", "mozilla-jpg-progressive", "afl-4x4"}

// metadataWhole are files the tests build, given whole in testdata/vectors/
// (FORMAT.md §30): Exif with a thumbnail at an odd offset, every GPS
// location field and an XMP packet with locations, in both byte orders, and
// an MPF file with three secondary images (one with its own Exif), gap and
// trailing bytes. They are built only with -update; the stored inputs are
// the vectors.
var metadataWhole = []struct {
	name  string
	build func() []byte
}{
	{"metadata-exif-ii", func() []byte { f, _ := builtPhoto(binary.LittleEndian); return f }},
	{"metadata-exif-mm", func() []byte { f, _ := builtPhoto(binary.BigEndian); return f }},
	{"metadata-mpf", func() []byte {
		o := binary.BigEndian
		secs := [][]byte{
			testJPEG(48, 32, 3),
			withSegments(testJPEG(64, 40, 4), segment(0xE1, testExif(exifOptions{order: o, thumbnail: testJPEG(16, 16, 6), pad: 1, gps: true}))),
			testJPEG(24, 24, 5),
		}
		return testMPF(o, testJPEG(80, 60, 1), testExif(exifOptions{order: o, thumbnail: testJPEG(20, 15, 7), gps: true}), secs, 3, []byte("trailing bytes"))
	}},
	// Phone layouts (FORMAT.md §31.6), with testdata/motion.mp4.
	{"phone-pixel-motion", func() []byte { return pixelMotionPhoto("Container", "Item", 8, mustMP4()) }},
	{"phone-samsung-sef", func() []byte { return samsungMotionPhoto(mustMP4(), true) }},
	{"phone-ultrahdr-motion", func() []byte { f, _, _ := ultraHDR(mustMP4()); return f }},
}

// mustMP4 is testdata/motion.mp4, for builders without a testing.T.
func mustMP4() []byte {
	b, err := os.ReadFile("testdata/motion.mp4")
	if err != nil {
		panic(err)
	}
	return b
}

type fileVector struct {
	Path        string `json:"path"`
	InSHA256    string `json:"in_sha256"`
	Mode        string `json:"mode"`
	OutSHA256   string `json:"out_sha256"`
	Error       string `json:"error,omitempty"`
	InFingerpr  string `json:"in_fingerprint,omitempty"`
	OutFingerpr string `json:"out_fingerprint,omitempty"`
	// Metadata lists the metadata items (FORMAT.md part IV) with their
	// fingerprints; absent for files without any.
	Metadata []itemVector `json:"metadata,omitempty"`
}

type itemVector struct {
	Label       string `json:"label"`
	Offset      int64  `json:"offset"`
	Length      int64  `json:"length"`
	Action      string `json:"action"`
	Problem     string `json:"problem,omitempty"`
	InFingerpr  string `json:"in_fingerprint,omitempty"`
	OutFingerpr string `json:"out_fingerprint,omitempty"`
}

func (v fileVector) String() string { b, _ := json.Marshal(v); return string(b) }

type vectors struct {
	Comment string       `json:"comment"`
	Key     string       `json:"master_key"`
	Files   []fileVector `json:"files"`
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func computeVector(t *testing.T, path string, in []byte, mode keystream.Mode) (fileVector, []byte) {
	out, res, err := encrypt(t, testKey(t, mode), in, Options{})
	v := fileVector{Path: path, InSHA256: sum(in), Mode: string(mode), OutSHA256: sum(out)}
	if err != nil {
		v.Error = err.Error()
	}
	if res.HasFingerprint {
		v.InFingerpr, v.OutFingerpr = hex.EncodeToString(res.In[:]), hex.EncodeToString(res.Out[:])
	}
	for _, m := range res.Metadata {
		iv := itemVector{Label: m.Label, Offset: m.Offset, Length: m.Length, Action: m.Action, Problem: m.Problem}
		if m.HasFingerprint {
			iv.InFingerpr, iv.OutFingerpr = hex.EncodeToString(m.In[:]), hex.EncodeToString(m.Out[:])
		}
		v.Metadata = append(v.Metadata, iv)
	}
	return v, out
}

// TestFormatVectors recomputes the whole-file vectors of FORMAT.md §19: any
// change to which bits change, to the keystream or to the fingerprints
// fails here.
func TestFormatVectors(t *testing.T) {
	modes := []keystream.Mode{keystream.ModeExtended, keystream.ModeStrict}
	var got vectors
	got.Comment = "jpegveil format v1 whole-file vectors (FORMAT.md §19). master_key is hex; paths are relative to the shared corpus or to testdata/vectors."
	got.Key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	var corpusPresent bool
	got.Files, corpusPresent = corpusVectors(t, modes)
	for _, w := range wholeVectorInputs(t) {
		for _, m := range modes {
			got.Files = append(got.Files, checkWholeVector(t, w, m))
		}
	}
	if *update {
		if !corpusPresent {
			t.Fatal("refusing to update vectors without the shared corpus")
		}
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(vectorsFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	compareVectors(t, got, corpusPresent)
}

// corpusVectors computes the vectors of the corpus files vectorCorpus
// names; present is false when any pattern matched nothing.
func corpusVectors(t *testing.T, modes []keystream.Mode) (files []fileVector, present bool) {
	present = true
	for _, pattern := range vectorCorpus {
		matches, _ := filepath.Glob(filepath.Join(corpusDir, pattern))
		if len(matches) == 0 {
			present = false
		}
		for _, p := range matches {
			in, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(corpusDir, p)
			for _, m := range modes {
				v, _ := computeVector(t, rel, in, m)
				files = append(files, v)
			}
		}
	}
	return files, present
}

// wholeVector is a small file whose ciphertext is kept whole.
type wholeVector struct {
	name string
	in   []byte
}

func wholeVectorInputs(t *testing.T) []wholeVector {
	var wholes []wholeVector
	for _, name := range vectorWhole {
		src := filepath.Join("../jpegbits/testdata/seed", name+".jpg")
		if !*update {
			src = filepath.Join("../testdata/vectors", name+".jpg")
		}
		in, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		wholes = append(wholes, wholeVector{name, in})
	}
	for _, mw := range metadataWhole {
		if *update {
			wholes = append(wholes, wholeVector{mw.name, mw.build()})
			continue
		}
		in, err := os.ReadFile(filepath.Join("../testdata/vectors", mw.name+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		wholes = append(wholes, wholeVector{mw.name, in})
	}
	return wholes
}

// checkWholeVector computes w's vector in mode m and compares its
// ciphertext with the one kept in testdata/vectors (or writes it, with
// -update).
func checkWholeVector(t *testing.T, w wholeVector, m keystream.Mode) fileVector {
	v, out := computeVector(t, "vectors/"+w.name+".jpg", w.in, m)
	whole := filepath.Join("../testdata/vectors", w.name+"."+string(m)+".jpg")
	if *update {
		os.MkdirAll("../testdata/vectors", 0o755)
		os.WriteFile(filepath.Join("../testdata/vectors", w.name+".jpg"), w.in, 0o644)
		os.WriteFile(whole, out, 0o644)
		return v
	}
	want, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("%s (%s): ciphertext differs from %s: the format changed", w.name, m, whole)
	}
	return v
}

// compareVectors checks the computed vectors against vectorsFile.
func compareVectors(t *testing.T, got vectors, corpusPresent bool) {
	raw, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var want vectors
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	byKey := map[string]fileVector{}
	for _, v := range got.Files {
		byKey[v.Path+"|"+v.Mode] = v
	}
	checked := 0
	for _, w := range want.Files {
		g, ok := byKey[w.Path+"|"+w.Mode]
		if !ok {
			if strings.HasPrefix(w.Path, "vectors/") || corpusPresent {
				t.Errorf("%s (%s): no longer computed", w.Path, w.Mode)
			}
			continue
		}
		if g.InSHA256 != w.InSHA256 {
			t.Errorf("%s: the input changed (corpus file replaced?)", w.Path)
			continue
		}
		if g.String() != w.String() {
			t.Errorf("%s (%s): format changed:\n got %v\nwant %v", w.Path, w.Mode, g, w)
		}
		checked++
	}
	if checked < 2*(len(vectorWhole)+len(metadataWhole)) {
		t.Fatalf("only %d vectors checked", checked)
	}
	t.Logf("%d vectors checked (corpus present: %v)", checked, corpusPresent)
}
