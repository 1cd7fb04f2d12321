package google_test

import (
	"bytes"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestGoogleResumableReuploadThroughOtherProxy: a photo uploaded through
// one proxy, downloaded directly and uploaded again with the resumable
// protocol through a second proxy with the same key and its own ledger, is
// stored as the same ciphertext (the plaintext never reaches the service),
// and downloads decrypted through the second proxy. The first chunks are
// smaller than what the classifier reads, so the proxy holds them back
// until the direction is decided.
func TestGoogleResumableReuploadThroughOtherProxy(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/hubble-q85-progressive.jpg")
	f, home := startGoogle(t, "")
	f.Guard.Add("photo", photo)
	yaml := proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, fakes.GoogleHosts, googleRules, "")
	laptop := proxytest.StartWith(t, yaml, proxytest.Options{Keys: home.Keyring.Keys()})
	want := proxytest.EncryptedWith(t, home, photo)

	g := gClient{t: t, c: home.Client}
	loc := g.start("https://photoslibrary.googleapis.com/v1/uploads", len(photo), "")
	resp, token := g.chunk(loc, 0, photo, "upload, finalize", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("upload through the first proxy: %s %q", resp.Status, token)
	}
	base := g.mediaItem(token)
	direct := proxytest.DirectClient(t, f.Srv.Listener.Addr().String(), f.CA)
	_, raw := proxytest.MustDo(t, direct, proxytest.NewReq(t, "GET", base+"=d", nil))
	proxytest.CheckStored(t, "first upload", raw, photo, want)

	g = gClient{t: t, c: laptop.Client}
	loc = g.start("https://photoslibrary.googleapis.com/v1/uploads", len(raw), "")
	cuts := []int{0, 8 << 10, 24 << 10, 2 * fakes.GoogleGranularity / 4, len(raw)}
	for i := 0; i+1 < len(cuts); i++ {
		cmd := "upload"
		if i+2 == len(cuts) {
			cmd = "upload, finalize"
		}
		resp, msg := g.chunk(loc, cuts[i], raw[cuts[i]:cuts[i+1]], cmd, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("chunk %d through the second proxy: %s %q", i, resp.Status, msg)
		}
		token = msg
	}
	if got := f.Upload1(loc).Data; !bytes.Equal(got, raw) {
		t.Fatalf("the second proxy changed the ciphertext on its way up (stored the plaintext: %v)", bytes.Equal(got, photo))
	}
	checkGoogleDownloads(t, f, laptop, g.mediaItem(token), photo, want, true)
}
