package veil

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"jpegveil/keystream"
)

// classifyVector is one entry of testdata/classify/vectors.json (FORMAT.md
// §34.4): a file, the keyring it is judged with (master keys as hex, the
// current first, all in mode extended) and the verdict.
type classifyVector struct {
	File    string   `json:"file"`
	Keys    []string `json:"keys"`
	Class   string   `json:"class"`
	KeyID   string   `json:"key_id,omitempty"`
	Margin  float64  `json:"margin"`
	Pairs   int      `json:"pairs"`
	ScanLen int      `json:"scan_bytes"`
}

const classifyVectorDir = "../testdata/classify"

func vectorKey(t *testing.T, name string) *keystream.Key {
	t.Helper()
	a, b := classifyKeys(t, keystream.ModeExtended)
	switch name {
	case "A":
		return a
	case "B":
		return b
	}
	t.Fatalf("unknown key %q", name)
	return nil
}

// TestClassifyVectors recomputes the classifier's vectors. With
// JPEGVEIL_UPDATE_VECTORS=1 it rewrites them (from the fixtures and their
// ciphertexts under key A).
func TestClassifyVectors(t *testing.T) {
	path := filepath.Join(classifyVectorDir, "vectors.json")
	if os.Getenv("JPEGVEIL_UPDATE_VECTORS") != "" {
		writeClassifyVectors(t, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vs []classifyVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		in, err := os.ReadFile(filepath.Join(classifyVectorDir, v.File))
		if err != nil {
			t.Fatal(err)
		}
		var keys []*keystream.Key
		for _, k := range v.Keys {
			keys = append(keys, vectorKey(t, k))
		}
		got := ClassifyBytes(mustRing(t, keys...), in)
		id := ""
		if got.Key != nil {
			id = got.Key.ID()
		}
		if got.Class.String() != v.Class || id != v.KeyID || math.Abs(got.Margin-v.Margin) > 0.005 || got.Pairs != v.Pairs || got.ScanBytes != v.ScanLen {
			t.Errorf("%s with %v: got %v (key %q, pairs %d, scan bytes %d), want %s (key %q, margin %.2f, pairs %d, scan bytes %d)",
				v.File, v.Keys, got, id, got.Pairs, got.ScanBytes, v.Class, v.KeyID, v.Margin, v.Pairs, v.ScanLen)
		}
	}
}

func writeClassifyVectors(t *testing.T, path string) {
	a := vectorKey(t, "A")
	var vs []classifyVector
	for _, name := range []string{"photo", "progressive"} {
		in, err := os.ReadFile(filepath.Join("../cmd/jpegveil/testdata/fixtures", name+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		enc, _, err := encrypt(t, a, in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{name + ".jpg": in, name + ".A.jpg": enc}
		for f, data := range files {
			if err := os.WriteFile(filepath.Join(classifyVectorDir, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{name + ".jpg", name + ".A.jpg"} {
			for _, ring := range [][]string{{"A"}, {"B", "A"}, {"B"}} {
				var keys []*keystream.Key
				for _, k := range ring {
					keys = append(keys, vectorKey(t, k))
				}
				v := ClassifyBytes(mustRing(t, keys...), files[f])
				cv := classifyVector{File: f, Keys: ring, Class: v.Class.String(), Margin: math.Round(v.Margin*100) / 100, Pairs: v.Pairs, ScanLen: v.ScanBytes}
				if v.Key != nil {
					cv.KeyID = v.Key.ID()
				}
				vs = append(vs, cv)
			}
		}
	}
	b, err := json.MarshalIndent(vs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
