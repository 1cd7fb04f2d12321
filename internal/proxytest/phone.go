package proxytest

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"jpegveil/internal/phonefiles"
	"jpegveil/veil"
)

// PhoneFile is a file a phone camera writes, named by its layout.
type PhoneFile struct {
	Name string
	Data []byte
}

// PhoneFiles returns a file of every layout phonefiles builds, from a
// w×h primary image and a clip of about video bytes, then the phone test
// vectors of testdata/vectors and the CLI's phone fixtures.
func PhoneFiles(t testing.TB, w, h, video int) []PhoneFile {
	t.Helper()
	parts := phonefiles.NewParts(w, h, video, uint64(w*h+video))
	var out []PhoneFile
	for _, l := range phonefiles.Layouts() {
		out = append(out, PhoneFile{l.Name, l.Build(parts)})
	}
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	for _, rel := range []string{
		"testdata/vectors/phone-pixel-motion.jpg",
		"testdata/vectors/phone-samsung-sef.jpg",
		"testdata/vectors/phone-ultrahdr-motion.jpg",
		"cmd/jpegveil/testdata/fixtures/samsung.jpg",
		"cmd/jpegveil/testdata/fixtures/ultrahdr.jpg",
	} {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(out, func(f PhoneFile) bool { return bytes.Equal(f.Data, b) }) {
			// (The CLI's fixtures are copies of vectors: a service would
			// find the second upload a duplicate.)
			out = append(out, PhoneFile{rel, b})
		}
	}
	return out
}

// EncryptedPhone returns the ciphertext jpegveil must produce for a phone
// file and veil's result, which says where the data after the image
// starts (TrailerOffset).
func EncryptedPhone(t testing.TB, p *Proxy, photo []byte) ([]byte, veil.Result) {
	t.Helper()
	var out bytes.Buffer
	res, err := veil.Encrypt(p.Key, &out, bytes.NewReader(photo))
	if err != nil {
		t.Fatalf("veil.Encrypt: %v", err)
	}
	if out.Len() != len(photo) || bytes.Equal(out.Bytes(), photo) {
		t.Fatal("veil.Encrypt did not encrypt the photo in place")
	}
	return out.Bytes(), res
}
