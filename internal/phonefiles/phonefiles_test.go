package phonefiles_test

import (
	"bytes"
	"testing"

	"jpegveil/internal/phonefiles"
	"jpegveil/keystream"
	"jpegveil/veil"
)

// TestLayoutsRoundTrip checks that every layout is a file veil encrypts
// completely, in place, and decrypts to the original.
func TestLayoutsRoundTrip(t *testing.T) {
	key, err := keystream.GenerateKey(keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	parts := phonefiles.NewParts(160, 120, 40<<10, 7)
	for _, l := range phonefiles.Layouts() {
		t.Run(l.Name, func(t *testing.T) {
			f := l.Build(parts)
			var enc, dec bytes.Buffer
			res, err := veil.Encrypt(key, &enc, bytes.NewReader(f))
			if err != nil {
				t.Fatalf("encrypt: %v", err)
			}
			if enc.Len() != len(f) || bytes.Equal(enc.Bytes(), f) {
				t.Fatal("not encrypted in place")
			}
			for _, m := range res.Metadata {
				t.Logf("%s at %d (%d bytes): %s", m.Label, m.Offset, m.Length, m.Action)
				if !m.Transformed && m.Action != veil.ActionClear {
					t.Errorf("%s left as it is (%s)", m.Label, m.Action)
				}
			}
			if res.TrailerOffset < 0 && l.Name != "ultrahdr" {
				t.Error("no trailer found")
			}
			if _, err := veil.Decrypt(key, &dec, bytes.NewReader(enc.Bytes())); err != nil || !bytes.Equal(dec.Bytes(), f) {
				t.Fatalf("decrypt: %v, equal %v", err, bytes.Equal(dec.Bytes(), f))
			}
		})
	}
}
