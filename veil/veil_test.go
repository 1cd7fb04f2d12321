package veil

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

const corpusDir = "../../shared/corpus"

func testKey(t testing.TB, mode keystream.Mode) *keystream.Key {
	t.Helper()
	master := make([]byte, 32)
	for i := range master {
		master[i] = byte(i)
	}
	k, err := keystream.NewKeyFromBytes(master, mode)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func readCorpus(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, rel))
	if os.IsNotExist(err) {
		t.Skipf("shared corpus not found (%v)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encrypt(t testing.TB, key *keystream.Key, in []byte, opts Options) ([]byte, Result, error) {
	t.Helper()
	var out bytes.Buffer
	res, err := Transform(key, &out, bytes.NewReader(in), opts)
	if err != nil && !IsParseError(err) {
		t.Fatal(err)
	}
	return out.Bytes(), res, err
}

func TestRoundTripAndFingerprints(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	in := readCorpus(t, "photos/coffee-q80-420.jpg")
	enc, res, err := encrypt(t, key, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != len(in) || bytes.Equal(enc, in) || !res.Transformed {
		t.Fatalf("encryption did nothing useful (len %d/%d)", len(enc), len(in))
	}
	dec, res2, err := encrypt(t, key, enc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec, in) {
		t.Fatal("decrypt(encrypt(x)) != x")
	}
	if !res.HasFingerprint || res.In == res.Out || res2.In != res.Out || res2.Out != res.In {
		t.Fatalf("fingerprints inconsistent: enc in=%x out=%x, dec in=%x out=%x", res.In[:4], res.Out[:4], res2.In[:4], res2.Out[:4])
	}
}

func TestDecideAndRecord(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	in := readCorpus(t, "photos/coffee-q80-420.jpg")
	var recorded Fingerprint
	enc, _, err := encrypt(t, key, in, Options{Record: func(fp Fingerprint) error { recorded = fp; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	// An upload of the ciphertext: its fingerprint is the recorded one, so
	// a proxy passes it unchanged.
	out, res, err := encrypt(t, key, enc, Options{Decide: func(fp Fingerprint) (bool, error) { return fp != recorded, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, enc) || res.Transformed {
		t.Fatal("an image the ledger knows was transformed again")
	}
	// A failing ledger stops the stream.
	boom := errors.New("ledger down")
	var buf bytes.Buffer
	if _, err := Transform(key, &buf, bytes.NewReader(in), Options{Record: func(Fingerprint) error { return boom }}); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the Record error", err)
	}
	if bytes.Contains(in, buf.Bytes()[:0]) && buf.Len() > 0 && !bytes.Equal(buf.Bytes(), in[:buf.Len()]) {
		t.Fatal("ciphertext escaped although Record failed")
	}
}

// TestMetadataRewriteStillDecrypts removes and rewrites APPn/COM segments of
// a ciphertext, as photo services do, and checks that the image data still
// decrypts exactly.
func TestMetadataRewriteStillDecrypts(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	in := readCorpus(t, "photos/phone-12mp-q92.jpg")
	enc, _, err := encrypt(t, key, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stripped := stripMetadata(t, enc)
	stripped = append(stripped[:2:2], append([]byte("\xff\xfe\x00\x0bservice!\x00"), stripped[2:]...)...)
	dec, _, err := encrypt(t, key, stripped, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := stripMetadata(t, in); !bytes.Equal(stripMetadata(t, dec), want) {
		t.Fatal("image data did not decrypt exactly after metadata was rewritten")
	}
}

// stripMetadata removes every APPn and COM segment before the first scan.
func stripMetadata(t *testing.T, b []byte) []byte {
	out := append([]byte(nil), b[:2]...)
	i := 2
	for i+4 <= len(b) && b[i] == 0xFF {
		m := b[i+1]
		l := int(b[i+2])<<8 | int(b[i+3])
		if m == 0xDA || i+2+l > len(b) {
			break
		}
		if !isMetadata(m) {
			out = append(out, b[i:i+2+l]...)
		}
		i += 2 + l
	}
	return append(out, b[i:]...)
}

func TestKeyBitAndModeChangeCiphertext(t *testing.T) {
	in := readCorpus(t, "photos/chelsea-q90-422.jpg")
	base, _, _ := encrypt(t, testKey(t, keystream.ModeExtended), in, Options{})
	master := make([]byte, 32)
	for i := range master {
		master[i] = byte(i)
	}
	master[31] ^= 1
	k2, _ := keystream.NewKeyFromBytes(master, keystream.ModeExtended)
	flipped, _, _ := encrypt(t, k2, in, Options{})
	strict, _, _ := encrypt(t, testKey(t, keystream.ModeStrict), in, Options{})
	if bytes.Equal(base, flipped) || bytes.Equal(base, strict) {
		t.Fatal("a different key or mode gave the same ciphertext")
	}
	again, _, _ := encrypt(t, testKey(t, keystream.ModeExtended), in, Options{})
	if !bytes.Equal(base, again) {
		t.Fatal("encryption is not deterministic")
	}
}

func TestUnsupportedInputIsReported(t *testing.T) {
	key := testKey(t, keystream.ModeExtended)
	in := readCorpus(t, "photos/coffee-q85-arithmetic.jpg")
	out, res, err := encrypt(t, key, in, Options{})
	var ue *jpegbits.UnsupportedError
	if !errors.As(err, &ue) || !bytes.Equal(out, in) || res.Transformed {
		t.Fatalf("arithmetic-coded file: err %v, changed %v", err, !bytes.Equal(out, in))
	}
}

// BenchmarkEncrypt is the full encryption of the 12-megapixel phone photo:
// parse, masks, nonce chain and XChaCha20 keystream.
func BenchmarkEncrypt(b *testing.B) {
	in := readCorpus(b, "photos/phone-12mp-q92.jpg")
	key := testKey(b, keystream.ModeExtended)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(key, io.Discard, bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}
