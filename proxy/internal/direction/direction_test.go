package direction

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"jpegveil/config"
	"jpegveil/internal/fakes"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// fixtureKey returns the key whose master key is first, first+1, …
func fixtureKey(t *testing.T, first byte) *keystream.Key {
	t.Helper()
	m := make([]byte, 32)
	for i := range m {
		m[i] = first + byte(i)
	}
	k, err := keystream.NewKeyFromBytes(m, keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// photoAndCipher returns a natural photo of the corpus and its ciphertext
// under key.
func photoAndCipher(t *testing.T, key *keystream.Key) (plain, cipher []byte) {
	t.Helper()
	plain = fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	var out bytes.Buffer
	if _, err := veil.Encrypt(key, &out, bytes.NewReader(plain)); err != nil {
		t.Fatal(err)
	}
	return plain, out.Bytes()
}

func ring(t *testing.T, keys ...*keystream.Key) *keystream.Keyring {
	r, err := keystream.NewKeyring(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func verdict(t *testing.T, r *keystream.Keyring, body []byte) veil.Verdict {
	p := NewPrefix(r, 0)
	if eof, err := p.Fill(bytes.NewReader(body)); err != nil {
		t.Fatal(eof, err)
	}
	return p.Verdict()
}

// TestDecide is the decision table: the ledger first (under any key of the
// keyring), then the classifier, then on_unsure.
func TestDecide(t *testing.T) {
	a, b := fixtureKey(t, 0), fixtureKey(t, 0xA0)
	plain, cipherA := photoAndCipher(t, a)
	tiny := fakes.TinyJPEG(t)
	ctx := context.Background()
	type want struct {
		key              *keystream.Key
		transform, known bool
		unsure, refused  bool
	}
	for _, tc := range []struct {
		name     string
		ring     []*keystream.Key
		body     []byte
		recorded *keystream.Key // the ledger knows body under this key
		way      Way
		onUnsure config.UnsureAction
		want     want
	}{
		{"plaintext upload", []*keystream.Key{a}, plain, nil, Upload, "", want{key: a, transform: true}},
		{"plaintext download", []*keystream.Key{a}, plain, nil, Download, "", want{key: a}},
		{"ciphertext upload passes", []*keystream.Key{a}, cipherA, nil, Upload, "", want{key: a}},
		{"ciphertext download decrypts", []*keystream.Key{a}, cipherA, nil, Download, "", want{key: a, transform: true}},
		{"older key's ciphertext decrypts with it", []*keystream.Key{b, a}, cipherA, nil, Download, "", want{key: a, transform: true}},
		{"older key's ciphertext passes on upload", []*keystream.Key{b, a}, cipherA, nil, Upload, "", want{key: a}},
		{"another key's ciphertext passes on download", []*keystream.Key{b}, cipherA, nil, Download, "", want{key: b, unsure: true}},
		{"unsure upload encrypts by default", []*keystream.Key{a}, tiny, nil, Upload, "", want{key: a, transform: true, unsure: true}},
		{"unsure upload under block", []*keystream.Key{a}, tiny, nil, Upload, config.UnsureBlock, want{key: a, unsure: true, refused: true}},
		{"unsure download passes", []*keystream.Key{a}, tiny, nil, Download, "", want{key: a, unsure: true}},
		{"ledger first: tiny ciphertext passes", []*keystream.Key{a}, tiny, a, Upload, config.UnsureBlock, want{key: a, known: true}},
		{"ledger first: tiny ciphertext decrypts", []*keystream.Key{a}, tiny, a, Download, "", want{key: a, known: true, transform: true}},
		{"ledger first under an older key", []*keystream.Key{b, a}, tiny, a, Download, "", want{key: a, known: true, transform: true}},
		{"not a JPEG: the transform decides", []*keystream.Key{a}, []byte("GIF89a and so on"), nil, Upload, config.UnsureBlock, want{key: a, transform: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ring(t, tc.ring...)
			led := ledger.NewMemory()
			v := verdict(t, r, tc.body)
			if tc.recorded != nil {
				fp, ok := v.Fingerprint(tc.recorded.ID())
				if !ok {
					t.Fatal("no fingerprint")
				}
				if err := led.Add(ctx, ledger.Fingerprint(fp), ledger.Entry{KeyID: tc.recorded.ID(), Added: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			d := &Decider{Ring: r, Ledger: led}
			dec, err := d.Decide(ctx, tc.way, v, tc.onUnsure)
			var ue *UnsureError
			if refused := errors.As(err, &ue); refused != tc.want.refused || err != nil && !refused {
				t.Fatalf("error %v, want refused %v", err, tc.want.refused)
			}
			got := want{dec.Key, dec.Transform, dec.Known, dec.Unsure, err != nil}
			if got != tc.want {
				t.Errorf("decision %+v (%s), want %+v", got, dec, tc.want)
			}
		})
	}
}

// TestPrefixBounded: the prefix holds no more than the classifier needs
// (the segments before the first scan and 80 KiB of scan data), however
// large the file, and gives the whole body back.
func TestPrefixBounded(t *testing.T) {
	a := fixtureKey(t, 0)
	plain, _ := photoAndCipher(t, a)
	p := NewPrefix(ring(t, a), 0)
	body := append(append([]byte(nil), plain...), make([]byte, 1<<20)...) // a long tail the classifier never needs
	eof, err := p.Fill(bytes.NewReader(body))
	if err != nil || eof {
		t.Fatalf("Fill: eof %v, %v", eof, err)
	}
	if n := len(p.Bytes()); n > veil.MaxClassifyScanBytes+veil.ClassifyLookahead+64<<10 {
		t.Errorf("held %d bytes", n)
	}
	if v := p.Verdict(); v.Class != veil.Plaintext || p.Cut() {
		t.Errorf("verdict %v, cut %v", v, p.Cut())
	}
	var whole bytes.Buffer
	whole.ReadFrom(p.Replay(bytes.NewReader(body[len(p.Bytes()):])))
	if !bytes.Equal(whole.Bytes(), body) {
		t.Error("Replay does not give the body back")
	}
	small := NewPrefix(ring(t, a), 4096)
	small.Fill(bytes.NewReader(plain))
	if v := small.Verdict(); v.Class != veil.Unsure || len(small.Bytes()) != 4096 {
		t.Errorf("limit 4096: held %d, verdict %v", len(small.Bytes()), v)
	}
}

// countingLedger counts what is added to a memory ledger.
type countingLedger struct {
	*ledger.Memory
	added int
}

func (c *countingLedger) Add(ctx context.Context, fp ledger.Fingerprint, e ledger.Entry) error {
	c.added++
	return c.Memory.Add(ctx, fp, e)
}

func transform(t *testing.T, d *Decider, way Way, body []byte, base veil.Options) []byte {
	t.Helper()
	ctx := context.Background()
	dec, err := d.Decide(ctx, way, verdict(t, d.Ring, body), "")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(veil.NewReader(dec.Key, bytes.NewReader(body), dec.Options(ctx, d, base))); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestOptionsMetadata: a ciphertext the classifier recognises passes on
// upload with its image and every metadata item recorded, so the ledger
// then decides its download alone; without the ledger a download decrypts
// the metadata with the proxy's switches.
func TestOptionsMetadata(t *testing.T) {
	a := fixtureKey(t, 0)
	photo := fakes.CorpusFile(t, "photos/phone-12mp-q92.jpg")
	var enc bytes.Buffer
	res, err := veil.Encrypt(a, &enc, bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Metadata) == 0 {
		t.Fatal("the photo has no metadata items")
	}
	cipher := enc.Bytes()
	led := &countingLedger{Memory: ledger.NewMemory()}
	d := &Decider{Ring: ring(t, a), Ledger: led}
	if got := transform(t, d, Upload, cipher, veil.Options{}); !bytes.Equal(got, cipher) {
		t.Fatal("an upload of our ciphertext was changed")
	}
	if led.added < 1+len(res.Metadata) {
		t.Fatalf("%d ledger entries for the image and %d metadata items", led.added, len(res.Metadata))
	}
	if got := transform(t, d, Download, cipher, veil.Options{}); !bytes.Equal(got, photo) {
		t.Fatal("a download the ledger knows is not the photo")
	}
	fresh := &Decider{Ring: ring(t, a), Ledger: ledger.NewMemory()}
	if got := transform(t, fresh, Download, cipher, veil.Options{}); !bytes.Equal(got, photo) {
		t.Fatal("a download the classifier recognises is not the photo")
	}
	fresh.Keep = veil.Options{KeepGPS: true, KeepThumbnail: true, KeepMPF: true}
	if got := transform(t, fresh, Download, cipher, veil.Options{}); bytes.Equal(got, photo) || bytes.Equal(got, cipher) {
		t.Fatal("the proxy's metadata switches were not applied to a download the ledger does not know")
	}
}

// TestPrefixAsksLedgerFirst checks that a body the ledger knows is decided
// without a class (the classifier stopped a step past the first chunk) and
// that Decide then finds it in the ledger; a body it does not know is
// classified as without the ledger.
func TestPrefixAsksLedgerFirst(t *testing.T) {
	a := fixtureKey(t, 0)
	plain, cipherA := photoAndCipher(t, a)
	r := ring(t, a)
	ctx := context.Background()
	led := ledger.NewMemory()
	fp, ok := verdict(t, r, cipherA).Fingerprint(a.ID())
	if !ok {
		t.Fatal("no fingerprint in the verdict")
	}
	if err := led.Add(ctx, ledger.Fingerprint(fp), ledger.Entry{KeyID: a.ID(), Added: time.Now()}); err != nil {
		t.Fatal(err)
	}
	d := &Decider{Ring: r, Ledger: led}
	for _, tc := range []struct {
		name  string
		body  []byte
		known bool
	}{{"known ciphertext", cipherA, true}, {"plaintext", plain, false}} {
		p := NewPrefix(r, 0)
		p.AskLedger(d.Knows(ctx))
		if _, err := p.Fill(bytes.NewReader(tc.body)); err != nil {
			t.Fatal(err)
		}
		v := p.Verdict()
		dec, err := d.Decide(ctx, Download, v, "")
		if err != nil {
			t.Fatal(err)
		}
		if dec.Known != tc.known || dec.Transform != tc.known || p.Cut() {
			t.Errorf("%s: decision %+v (cut %v), want known %v", tc.name, dec, p.Cut(), tc.known)
		}
		want := verdict(t, r, tc.body)
		if !tc.known && v.Class != want.Class {
			t.Errorf("%s: verdict %v, without the ledger %v", tc.name, v, want)
		}
		if tc.known && v.Class != veil.Unsure {
			t.Errorf("%s: verdict %v, want no class", tc.name, v)
		}
	}
}
