package proxy_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// household is one fake Photos service with a direct client, for proxies
// that share keys but not ledgers.
type household struct {
	svc    *fakes.Photos
	direct *http.Client
}

func newHousehold(t *testing.T) *household {
	svc := fakes.NewPhotos(t)
	return &household{svc: svc, direct: proxytest.DirectClient(t, svc.Srv.Listener.Addr().String(), svc.CAFile)}
}

// proxy starts a proxy in front of the service with the given keyring (the
// current key first) and options.
func (h *household) proxy(t *testing.T, o proxytest.Options, keys ...*keystream.Key) *proxytest.Proxy {
	o.Keys = keys
	return proxytest.StartWith(t, proxytest.ConfigYAML(t.TempDir(), h.svc.Srv.Listener.Addr().String(), []string{h.svc.CAFile}, ""), o)
}

func (h *household) stored(id string) []byte {
	h.svc.Mu.Lock()
	defer h.svc.Mu.Unlock()
	return h.svc.Objects[id]
}

// uploadThrough uploads photo through p and checks that the service stored
// its ciphertext under key; it returns the object's ID and the ciphertext.
func (h *household) uploadThrough(t *testing.T, p *proxytest.Proxy, key *keystream.Key, photo []byte) (string, []byte) {
	t.Helper()
	resp, id := upload(t, p.Client, photo)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %s %s", resp.Status, id)
	}
	proxytest.CheckStored(t, "upload", h.stored(id), photo, encrypt(t, key, photo))
	return id, h.stored(id)
}

// checkOtherProxy is what a second proxy with the key must do for a photo
// another one uploaded (id, stored as cipher): download it decrypted,
// ranges included, and store a re-upload of the ciphertext a direct
// download returned unchanged, never the plaintext.
func (h *household) checkOtherProxy(t *testing.T, p *proxytest.Proxy, id string, photo, cipher []byte) {
	t.Helper()
	u := "https://photos.test/objects/" + id
	if _, got := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", u, nil)); !bytes.Equal(got, photo) {
		t.Fatalf("a download through the other proxy is not the photo (ciphertext: %v)", bytes.Equal(got, cipher))
	}
	proxytest.CheckRanges(t, p.Client, u, photo, nil)
	_, raw := proxytest.MustDo(t, h.direct, proxytest.NewReq(t, "GET", u, nil))
	if !bytes.Equal(raw, cipher) {
		t.Fatal("the direct download is not the stored ciphertext")
	}
	resp, id2 := upload(t, p.Client, raw)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("re-upload: %s %s", resp.Status, id2)
	}
	switch again := h.stored(id2); {
	case bytes.Equal(again, photo):
		t.Fatal("a re-upload of the ciphertext through the other proxy stored the plaintext")
	case !bytes.Equal(again, cipher):
		t.Fatal("a re-upload of the ciphertext through the other proxy was transformed")
	}
	if _, got := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", "https://photos.test/objects/"+id2, nil)); !bytes.Equal(got, photo) {
		t.Fatal("the re-uploaded copy does not download decrypted")
	}
}

func encrypt(t *testing.T, key *keystream.Key, photo []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := veil.Encrypt(key, &out, bytes.NewReader(photo)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func newKey(t *testing.T) *keystream.Key {
	t.Helper()
	k, err := keystream.GenerateKey(keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestTwoProxiesSameKey: a household's home proxy and laptop proxy share
// the key, not the ledger. A photo uploaded through one downloads
// decrypted through the other, and a re-upload through the other of what
// a direct download returned stores the same ciphertext.
func TestTwoProxiesSameKey(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	h, key := newHousehold(t), newKey(t)
	a := h.proxy(t, proxytest.Options{}, key)
	b := h.proxy(t, proxytest.Options{}, key)
	id, cipher := h.uploadThrough(t, a, key, photo)
	h.checkOtherProxy(t, b, id, photo, cipher)
}

// TestLostLedger: the ledger is deleted. Started again with the recovery
// path (a new empty ledger, asked for explicitly), the proxy shows the
// photos it uploaded before decrypted and stores re-uploads of their
// ciphertexts unchanged.
func TestLostLedger(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/chelsea-q90-422.jpg")
	h, key := newHousehold(t), newKey(t)
	path := filepath.Join(t.TempDir(), "ledger.db")
	led, err := ledger.OpenGuarded(path, ledger.GuardOptions{KeyID: key.ID()})
	if err != nil {
		t.Fatal(err)
	}
	before := h.proxy(t, proxytest.Options{Ledger: led}, key)
	id, cipher := h.uploadThrough(t, before, key, photo)
	led.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	var re *ledger.RecoveryError
	if _, err := ledger.OpenGuarded(path, ledger.GuardOptions{KeyID: key.ID()}); !errors.As(err, &re) {
		t.Fatalf("a deleted ledger opened without the recovery path: %v", err)
	}
	fresh, err := ledger.OpenGuarded(path, ledger.GuardOptions{KeyID: key.ID(), StartNew: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fresh.Close() })
	after := h.proxy(t, proxytest.Options{Ledger: fresh}, key)
	h.checkOtherProxy(t, after, id, photo, cipher)
}

// TestKeyRotation: after rotation the proxy's keyring holds the new key
// (current) and the old one. Photos encrypted under the old key still
// download decrypted, known to the ledger or not; new uploads use the new
// key; a re-upload of an old ciphertext passes unchanged.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	old, photo := fakes.CorpusFile(t, "photos/astronaut-q75-420.jpg"), fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	h, oldKey, newK := newHousehold(t), newKey(t), newKey(t)
	led := ledger.NewMemory()
	before := h.proxy(t, proxytest.Options{Ledger: led}, oldKey)
	oldID, oldCipher := h.uploadThrough(t, before, oldKey, old)

	rotated := h.proxy(t, proxytest.Options{Ledger: led}, newK, oldKey)
	if _, got := proxytest.MustDo(t, rotated.Client, proxytest.NewReq(t, "GET", "https://photos.test/objects/"+oldID, nil)); !bytes.Equal(got, old) {
		t.Fatal("after rotation, a photo the ledger knows under the old key does not download decrypted")
	}
	h.checkOtherProxy(t, h.proxy(t, proxytest.Options{}, newK, oldKey), oldID, old, oldCipher)

	id, cipher := h.uploadThrough(t, rotated, newK, photo)
	if _, got := proxytest.MustDo(t, rotated.Client, proxytest.NewReq(t, "GET", "https://photos.test/objects/"+id, nil)); !bytes.Equal(got, photo) {
		t.Fatal("a photo uploaded after rotation does not download decrypted")
	}
	h.checkOtherProxy(t, h.proxy(t, proxytest.Options{}, newK, oldKey), id, photo, cipher)
}

// TestCommandLineCiphertextUpload: a file encrypted with `jpegveil
// encrypt` (veil.Encrypt with the key, as the command does) and then
// uploaded through the proxy is stored as it is, never decrypted, and
// downloads decrypted.
func TestCommandLineCiphertextUpload(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/motorcycle-q80-restart8.jpg")
	h, key := newHousehold(t), newKey(t)
	p := h.proxy(t, proxytest.Options{}, key)
	cipher := encrypt(t, key, photo)
	resp, id := upload(t, p.Client, cipher)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %s %s", resp.Status, id)
	}
	if got := h.stored(id); !bytes.Equal(got, cipher) {
		t.Fatalf("the ciphertext was not stored as it is (stored the plaintext: %v)", bytes.Equal(got, photo))
	}
	if _, got := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", "https://photos.test/objects/"+id, nil)); !bytes.Equal(got, photo) {
		t.Fatal("the uploaded ciphertext does not download decrypted")
	}
}

// TestUnsureUpload: an upload neither the ledger nor the classifier can
// place is encrypted by default and logged as unsure; with on_unsure:
// block it is refused and nothing reaches the service.
func TestUnsureUpload(t *testing.T) {
	t.Parallel()
	tiny := fakes.TinyJPEG(t)
	h, key := newHousehold(t), newKey(t)
	core, logs := observer.New(zapcore.InfoLevel)
	p := h.proxy(t, proxytest.Options{Log: zap.New(core)}, key)
	resp, id := upload(t, p.Client, tiny)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %s %s", resp.Status, id)
	}
	proxytest.CheckStored(t, "unsure upload", h.stored(id), tiny, encrypt(t, key, tiny))
	found := false
	for _, e := range logs.FilterMessage("intercepted").All() {
		if s, ok := e.ContextMap()["decided_by"].(string); ok && strings.HasPrefix(s, "unsure") && e.Level == zapcore.WarnLevel {
			found = true
		}
	}
	if !found {
		t.Errorf("the unsure upload was not logged as such: %v", logs.All())
	}

	yaml := proxytest.ConfigYAML(t.TempDir(), h.svc.Srv.Listener.Addr().String(), []string{h.svc.CAFile}, "")
	yaml = strings.Replace(yaml, "    body: raw\n", "    body: raw\n    on_unsure: block\n", 1)
	strict := proxytest.StartWith(t, yaml, proxytest.Options{Keys: []*keystream.Key{key}})
	h.svc.Mu.Lock()
	n := len(h.svc.Objects)
	h.svc.Mu.Unlock()
	resp, body := upload(t, strict.Client, tiny)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "on_unsure") {
		t.Fatalf("on_unsure block: %s %q", resp.Status, body)
	}
	h.svc.Mu.Lock()
	defer h.svc.Mu.Unlock()
	if len(h.svc.Objects) != n {
		t.Fatal("a refused unsure upload reached the service")
	}
}

// TestRangeThroughOtherProxy: a range within the Exif segment (its GPS
// values are encrypted) of a photo whose image data starts late (large
// comment segments after the Exif one) is served decrypted by a proxy
// whose ledger does not know the photo: the prefix fetched for the range
// ends before the classifier is done, so the proxy decides on the whole
// file, as for a download of all of it.
func TestRangeThroughOtherProxy(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/phone-12mp-q92.jpg")
	app1End := 2 // after the APP0 and APP1 segments at the start
	for photo[app1End] == 0xFF && (photo[app1End+1] == 0xE0 || photo[app1End+1] == 0xE1) {
		app1End += 2 + (int(photo[app1End+2])<<8 | int(photo[app1End+3]))
	}
	// Two comment segments of 60,000 bytes after the Exif segment.
	com := append([]byte{0xFF, 0xFE, 0xEA, 0x62}, bytes.Repeat([]byte{'x'}, 0xEA62-2)...)
	photo = slices.Concat(photo[:app1End], com, com, photo[app1End:])
	h, key := newHousehold(t), newKey(t)
	a := h.proxy(t, proxytest.Options{}, key)
	b := h.proxy(t, proxytest.Options{}, key)
	id, cipher := h.uploadThrough(t, a, key, photo)
	if bytes.Equal(cipher[:app1End], photo[:app1End]) {
		t.Fatal("the Exif segment was not encrypted")
	}
	req := proxytest.NewReq(t, "GET", "https://photos.test/objects/"+id, nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", app1End-1))
	resp, got := proxytest.MustDo(t, b.Client, req)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, photo[:app1End]) {
		t.Fatalf("%s: the Exif segment is not the photo's (the ciphertext's: %v)", resp.Status, bytes.Equal(got, cipher[:app1End]))
	}
}
