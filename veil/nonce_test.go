package veil

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

// recordingImage records the start of every chunk keystream it hands out.
type recordingImage struct {
	*image
	seen map[[16]byte]string
	name string
	t    *testing.T
	n    int
}

func (r *recordingImage) Chunk(c jpegbits.Chunk, dst []byte) {
	r.image.Chunk(c, dst)
	if len(dst) < 16 {
		return // too short to tell apart reliably; covered by longer chunks
	}
	var k [16]byte
	copy(k[:], dst)
	if prev, ok := r.seen[k]; ok {
		r.t.Errorf("%s chunk %d shares its keystream (nonce) with %s", r.name, r.n, prev)
	}
	r.seen[k] = r.name
	r.n++
}

// TestNoNonceSharedAcrossCorpus encrypts every photo and conformance file
// and checks that no two chunks anywhere — in one photo or in two different
// ones — get the same keystream, i.e. the same nonce.
func TestNoNonceSharedAcrossCorpus(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	seen := map[[16]byte]string{}
	files, _ := filepath.Glob(filepath.Join(corpusDir, "photos", "*"))
	more, _ := filepath.Glob(filepath.Join(corpusDir, "conformance", "*"))
	files = append(files, more...)
	if len(files) == 0 {
		t.Skip("shared corpus not found")
	}
	contents := map[string]string{}
	chunks := 0
	for _, p := range files {
		in, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Files that differ only in APPn/COM metadata hold the same photo,
		// which shares its keystream by design (FORMAT.md §14.3, §17).
		photo := string(stripMetadata(t, in))
		if prev, dup := contents[photo]; dup {
			t.Logf("%s holds the same photo as %s (only metadata differs); skipped", filepath.Base(p), prev)
			continue
		}
		contents[photo] = filepath.Base(p)
		img := &recordingImage{image: newImage(key, "image", nil, nil), seen: seen, name: filepath.Base(p), t: t}
		tr := jpegbits.NewReader(bytes.NewReader(in), jpegbits.Options{Mode: jpegbits.Extended, Keystream: img})
		if _, err := io.Copy(io.Discard, tr); err != nil {
			t.Fatal(err)
		}
		chunks += img.n
	}
	t.Logf("%d chunks of %d files, all with distinct nonces", chunks, len(contents))
}
