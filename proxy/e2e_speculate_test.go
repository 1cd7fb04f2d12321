package proxy_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/phonefiles"
	"jpegveil/internal/proxytest"
)

// TestTwoProxiesSameKeyPhoneFiles: a phone file uploaded through one proxy
// (a gain map, a motion photo's video after the image) downloads decrypted
// through another proxy with the key that does not know it, which decides
// its direction with the classifier alone.
func TestTwoProxiesSameKeyPhoneFiles(t *testing.T) {
	t.Parallel()
	for _, l := range phonefiles.Layouts() {
		t.Run(l.Name, func(t *testing.T) {
			photo := l.Build(phonefiles.NewParts(640, 480, 20<<10, 3))
			h, key := newHousehold(t), newKey(t)
			a := h.proxy(t, proxytest.Options{}, key)
			b := h.proxy(t, proxytest.Options{}, key)
			id, cipher := h.uploadThrough(t, a, key, photo)
			h.checkOtherProxy(t, b, id, photo, cipher)
		})
	}
}

// TestPassPolicyHashedTruncatedUpload: under on_unsupported pass, a photo
// cut short inside its image data (the body ends before the classifier
// is done) goes up encrypted as far as it parses, with its Content-MD5
// recomputed over what goes up, as the same upload without the header.
func TestPassPolicyHashedTruncatedUpload(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")[:5000]
	svc := fakes.NewPhotos(t)
	yaml := strings.Replace(proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""),
		"    body: raw\n", "    body: raw\n    on_unsupported: pass\n", 1)
	p := proxytest.Start(t, yaml, nil)
	resp, plainID := upload(t, p.Client, photo)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload without a hash: %s %s", resp.Status, plainID)
	}
	req := proxytest.NewReq(t, "POST", "https://photos.test/upload", bytes.NewReader(photo))
	req.Header.Set("Content-MD5", proxytest.ContentMD5(photo))
	resp, id := proxytest.MustDo(t, p.Client, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload with Content-MD5: %s %s", resp.Status, id)
	}
	svc.Mu.Lock()
	defer svc.Mu.Unlock()
	stored, want := svc.Objects[string(id)], svc.Objects[plainID]
	if !bytes.Equal(stored, want) || bytes.Equal(stored, photo) {
		t.Fatalf("stored %d bytes: the upload without a hash's: %v, the plaintext: %v", len(stored), bytes.Equal(stored, want), bytes.Equal(stored, photo))
	}
	if got := svc.LastReq.Header.Get("Content-MD5"); got != proxytest.ContentMD5(stored) {
		t.Fatalf("the service saw Content-MD5 %q, not the stored bytes' %q", got, proxytest.ContentMD5(stored))
	}
}
