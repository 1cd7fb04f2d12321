package preview

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"jpegveil/imagemetrics"
)

func corpusPhoto(t *testing.T) []byte {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "..", "shared", "corpus", "photos")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("corpus missing (%v)", err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".jpg" {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Skip("no .jpg in the corpus")
	return nil
}

func TestScaleSpecs(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 400, 300))
	tests := []struct {
		spec Spec
		w, h int
	}{
		{Side(200), 200, 150},
		{Spec{Width: 100}, 100, 75},
		{Spec{Height: 60}, 80, 60},
		{Spec{Width: 100, Height: 100, Crop: true}, 100, 100},
		{Spec{Width: 200, Height: 50, Crop: true}, 200, 50},
		{Side(1000), 400, 300}, // never scaled up
		{Spec{Width: 100, Height: 100, Cover: true}, 133, 100},
	}
	for _, tc := range tests {
		got := Scale(src, tc.spec).Bounds()
		if got.Dx() != tc.w || got.Dy() != tc.h {
			t.Errorf("%v: %dx%d, want %dx%d", tc.spec, got.Dx(), got.Dy(), tc.w, tc.h)
		}
	}
}

func TestRenderPSNR(t *testing.T) {
	photo := corpusPhoto(t)
	out, err := Render(photo, Side(250), 85)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := Decode(photo)
	ref := Scale(img, Side(250))
	got, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	psnr, err := imagemetrics.PSNRRGB(imagemetrics.FromImage(ref), imagemetrics.FromImage(got))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("PSNR %.1f dB", psnr)
	if psnr < 30 {
		t.Errorf("PSNR of the rendered preview = %.1f dB, want >= 30", psnr)
	}
}

func TestThumbHashSolidColour(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := 0; i < len(img.Pix); i += 4 {
		copy(img.Pix[i:], []byte{255, 0, 0, 255})
	}
	h := ThumbHash(img)
	// l = 1/3, p = 1/2, q = 1, no variation: the header carries the DC
	// terms and zero scales; 27+5+5 AC terms of 0.5 each round to 8.
	header24 := uint32(h[0]) | uint32(h[1])<<8 | uint32(h[2])<<16
	if l, p, q := header24&63, header24>>6&63, header24>>12&63; l != 21 || p != 47 || q != 63 {
		t.Errorf("DC terms l=%d p=%d q=%d, want 21 47 63", l, p, q)
	}
	if len(h) != 5+19 {
		t.Errorf("len = %d, want 24", len(h))
	}
	if h[5] != 0x88 {
		t.Errorf("first AC byte %#x, want 0x88", h[5])
	}
}

func TestThumbHashTellsPhotosApart(t *testing.T) {
	photo := corpusPhoto(t)
	img, _ := Decode(photo)
	a := ThumbHash(img)
	b := ThumbHash(Scale(img, Spec{Width: 100, Height: 40, Crop: true}))
	if bytes.Equal(a, b) || len(a) < 20 {
		t.Errorf("hashes %x and %x", a, b)
	}
}

func TestCacheBoundsAndDisk(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{7}, 32)
	c, err := NewCache(10, dir, 1<<20, key)
	if err != nil {
		t.Fatal(err)
	}
	c.Put("a", []byte("12345678"))
	c.Put("b", []byte("abcdefgh"))
	// "a" left memory (10 bytes hold one entry) but is on disk.
	if got, ok := c.Get("a"); !ok || string(got) != "12345678" {
		t.Fatalf("Get(a) = %q, %v", got, ok)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.preview"))
	if len(files) != 2 {
		t.Fatalf("%d files on disk, want 2", len(files))
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte("12345678")) || bytes.Contains(b, []byte("abcdefgh")) {
			t.Fatalf("%s holds a preview in the clear", f)
		}
	}
	// A restart keeps them; another key cannot read them.
	again, err := NewCache(10, dir, 1<<20, key)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := again.Get("b"); !ok || string(got) != "abcdefgh" {
		t.Fatalf("after restart Get(b) = %q, %v", got, ok)
	}
	other, _ := NewCache(10, dir, 1<<20, bytes.Repeat([]byte{8}, 32))
	if _, ok := other.Get("b"); ok {
		t.Fatal("a cache under another key read a preview")
	}
	// The disk bound holds.
	small, _ := NewCache(10, t.TempDir(), 100, key)
	for i := 0; i < 10; i++ {
		small.Put(string(rune('a'+i)), bytes.Repeat([]byte{byte(i)}, 30))
	}
	if small.disk > 100 {
		t.Errorf("disk use %d, bound 100", small.disk)
	}
}

// TestThumbHashVectors compares with the reference implementation's
// hashes of the same pixels (testdata/thumbhash.json).
func TestThumbHashVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "thumbhash.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	delete(want, "comment")
	for name, hash := range want {
		f, err := os.Open(filepath.Join("testdata", "thumbhash-"+name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := ThumbHash(img)
		ref, _ := base64.StdEncoding.DecodeString(hash)
		if name == "gradient-30" {
			// A linear gradient puts many DCT terms at exactly zero,
			// which quantizes to 7.5: the last bit of cos (V8's and
			// Go's differ in it) decides 7 or 8. The header must agree,
			// each term within one step.
			if !nibblesClose(got, ref) {
				t.Errorf("%s: %x, want %x within one step per term", name, got, ref)
			}
			continue
		}
		if !bytes.Equal(got, ref) {
			t.Errorf("%s: %s, want %s", name, base64.StdEncoding.EncodeToString(got), hash)
		}
	}
}

func nibblesClose(a, b []byte) bool {
	if len(a) != len(b) || !bytes.Equal(a[:5], b[:5]) {
		return false
	}
	for i := 5; i < len(a); i++ {
		for _, sh := range []uint{0, 4} {
			d := int(a[i]>>sh&15) - int(b[i]>>sh&15)
			if d < -1 || d > 1 {
				return false
			}
		}
	}
	return true
}
