package main

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A PNG renamed .jpg is refused even with --allow-partial: writing it
// unchanged under an encrypted-looking name would look like success.
func TestPNGNamedJPGIsNeverWrittenUnchanged(t *testing.T) {
	dir := t.TempDir()
	key, in, out := filepath.Join(dir, "key"), filepath.Join(dir, "IMG.jpg"), filepath.Join(dir, "IMG.enc.jpg")
	mustRun(t, 0, "keygen", "-o", key)
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, image.NewGray(image.Rect(0, 0, 8, 8)))
	f.Close()
	for _, args := range [][]string{{}, {"--allow-partial"}} {
		stderr := mustRun(t, 1, append([]string{"encrypt", "-k", key, in, "-o", out}, args...)...)
		if !strings.Contains(stderr, "PNG") || !strings.Contains(stderr, "nothing written") || strings.Contains(stderr, "see --allow-partial") {
			t.Errorf("%v: %s", args, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: %s was written", args, out)
		}
	}
}

// A photo given as the key file is named as such, whatever its mode.
func TestPhotoAsKeyFile(t *testing.T) {
	dir := t.TempDir()
	photo := filepath.Join(dir, "a.jpg")
	b, err := os.ReadFile("testdata/fixtures/photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o600} {
		os.WriteFile(photo, b, mode)
		os.Chmod(photo, mode)
		stderr := mustRun(t, 1, "encrypt", "-k", photo, photo, "-o", filepath.Join(dir, "out.jpg"))
		if !strings.Contains(stderr, "a.jpg: this is a JPEG photo, not a key file") || strings.Contains(stderr, "chmod") {
			t.Errorf("mode %o: %s", mode, stderr)
		}
	}
}
