package veil

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"jpegveil/keystream"
)

// TestClassifierFingerprints checks that the verdict's fingerprints are
// those a Reader with each key computes, for plaintexts and ciphertexts in
// both masking modes, so a ledger lookup with them finds what the proxy
// recorded.
func TestClassifierFingerprints(t *testing.T) {
	for _, mode := range []keystream.Mode{keystream.ModeExtended, keystream.ModeStrict} {
		a, b := classifyKeys(t, mode)
		ring := mustRing(t, a, b)
		for _, name := range []string{"photo.jpg", "photo.A.jpg", "progressive.jpg", "progressive.A.jpg"} {
			data, err := os.ReadFile(filepath.Join("..", "testdata", "classify", name))
			if err != nil {
				t.Fatal(err)
			}
			v := ClassifyBytes(ring, data)
			if len(v.Fingerprints) != 2 {
				t.Fatalf("%s %v: %d fingerprints, want 2", name, mode, len(v.Fingerprints))
			}
			for _, k := range []*keystream.Key{a, b} {
				r := NewReader(k, bytes.NewReader(data), Options{})
				if _, err := io.Copy(io.Discard, r); err != nil {
					t.Fatal(err)
				}
				got, ok := v.Fingerprint(k.ID())
				if want := r.Result().In; !ok || got != want {
					t.Errorf("%s %v key %s: fingerprint %x (%v), Reader's %x", name, mode, k.ID(), got[:6], ok, want[:6])
				}
			}
		}
	}
	if v := ClassifyBytes(mustRing(t, classifyKeysA(t)), []byte("not a jpeg")); len(v.Fingerprints) != 0 {
		t.Errorf("a body that is not a JPEG has fingerprints: %v", v.Fingerprints)
	}
}

func classifyKeysA(t *testing.T) *keystream.Key {
	a, _ := classifyKeys(t, keystream.ModeExtended)
	return a
}
