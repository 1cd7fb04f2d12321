package immich_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestImmichReuploadThroughOtherProxy: a photo uploaded through one proxy
// downloads decrypted through a second proxy with the same key and its own
// ledger, and the ciphertext (what a direct download returns) uploaded
// again through the second proxy goes up as it is: the server finds it a
// duplicate of the first upload, and never sees the plaintext.
func TestImmichReuploadThroughOtherProxy(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/astronaut-q85-progressive.jpg")
	f := fakes.NewImmich(t)
	yaml := func() string {
		return proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"immich.test"}, immichRules, "")
	}
	home := proxytest.Start(t, yaml(), nil)
	laptop := proxytest.StartWith(t, yaml(), proxytest.Options{Keys: home.Keyring.Keys()})
	want := proxytest.EncryptedWith(t, home, photo)
	f.Guard.Add("photo", photo)

	sum := sha1.Sum(photo)
	code, id, status := immichUpload(t, home.Client, photo, hex.EncodeToString(sum[:]), false, false)
	if code != http.StatusCreated || status != "created" {
		t.Fatalf("upload through the first proxy: %d %s", code, status)
	}
	stored, _ := f.Asset(id)
	proxytest.CheckStored(t, "asset", stored, photo, want)

	req := proxytest.NewReq(t, "GET", "https://immich.test/api/assets/"+id+"/original", nil)
	req.Header.Set("x-api-key", "test-key")
	if resp, got := proxytest.MustDo(t, laptop.Client, req); resp.StatusCode != 200 || !bytes.Equal(got, photo) {
		t.Fatalf("original through the second proxy: %s, the photo: %v", resp.Status, bytes.Equal(got, photo))
	}
	cs := sha1.Sum(want)
	code, id2, status := immichUpload(t, laptop.Client, want, hex.EncodeToString(cs[:]), false, false)
	if code != http.StatusOK || status != "duplicate" || id2 != id {
		t.Fatalf("re-upload of the ciphertext through the second proxy: %d %s %s, want the duplicate %s", code, status, id2, id)
	}
}
