package keeping_test

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/keeping"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// TestJudge: a copy kept exactly, one whose Exif the service rewrote and
// one it recompressed are told apart, with and without a recorded hash;
// so is a copy cut short.
func TestJudge(t *testing.T) {
	key, err := keystream.GenerateKey(keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"photos/coffee-q80-420.jpg", "photos/astronaut-q85-progressive.jpg", "photos/motorcycle-q80-restart8.jpg"} {
		photo := fakes.CorpusFile(t, name)
		var ct bytes.Buffer
		res, err := veil.Encrypt(key, &ct, bytes.NewReader(photo))
		if err != nil {
			t.Fatal(err)
		}
		rec := ledger.Record{Fingerprint: ledger.Fingerprint(res.Out), Entry: ledger.Entry{KeyID: key.ID()},
			CiphertextSHA256: sha256.Sum256(ct.Bytes()), HasHash: true}
		noHash := rec
		noHash.HasHash = false
		for _, tc := range []struct {
			copy           []byte
			withHash, none keeping.Verdict
		}{
			{fakes.KeepsBytes.Apply(ct.Bytes()), keeping.KeptExactly, keeping.ImageKept},
			{fakes.RewritesExif.Apply(ct.Bytes()), keeping.MetadataRewritten, keeping.ImageKept},
			{fakes.Recompresses.Apply(ct.Bytes()), keeping.Reencoded, keeping.Reencoded},
			{ct.Bytes()[:ct.Len()*2/3], keeping.Reencoded, keeping.Reencoded},
			{photo, keeping.Reencoded, keeping.Reencoded},
		} {
			if got := keeping.Judge(key, rec, tc.copy); got != tc.withHash {
				t.Errorf("%s: %d-byte copy judged %q, want %q", name, len(tc.copy), got, tc.withHash)
			}
			if got := keeping.Judge(key, noHash, tc.copy); got != tc.none {
				t.Errorf("%s: %d-byte copy without a recorded hash judged %q, want %q", name, len(tc.copy), got, tc.none)
			}
		}
	}
}

func TestMarksRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if m, err := keeping.LoadMarks(dir); err != nil || len(m) != 0 {
		t.Fatalf("no file: %v %v", m, err)
	}
	want := map[string]keeping.Mark{"immich.test": {Host: "immich.test", Service: "immich", Photo: "abc", Lost: 1, Checked: 3}}
	if err := keeping.SaveMarks(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := keeping.LoadMarks(dir)
	if err != nil || len(got) != 1 || got["immich.test"].Photo != "abc" || got["immich.test"].Lost != 1 {
		t.Fatalf("LoadMarks = %v, %v", got, err)
	}
}
