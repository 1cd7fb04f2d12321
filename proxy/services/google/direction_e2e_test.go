package google_test

import (
	"bytes"
	"strings"
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

// TestGoogleResumableUnsure: a resumable upload the classifier cannot
// place (an image too small) is encrypted under the default on_unsure,
// and refused under on_unsure: block.
func TestGoogleResumableUnsure(t *testing.T) {
	t.Parallel()
	tiny := fakes.TinyJPEG(t)
	for _, tc := range []struct {
		policy string
		status int
	}{{"", 200}, {"block", 502}} {
		f := fakes.NewGoogle(t)
		rules := googleRules
		if tc.policy != "" {
			rules = strings.Replace(rules, "    resumable: google\n", "    resumable: google\n    on_unsure: "+tc.policy+"\n", 1)
		}
		p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, fakes.GoogleHosts, rules, ""), nil)
		g := gClient{t: t, c: p.Client}
		loc := g.start("https://photoslibrary.googleapis.com/v1/uploads", len(tiny), "")
		resp, msg := g.chunk(loc, 0, tiny, "upload, finalize", nil)
		if resp.StatusCode != tc.status || tc.status == 502 && !strings.Contains(msg, "on_unsure") {
			t.Fatalf("on_unsure %q: %s %q", tc.policy, resp.Status, msg)
		}
		if tc.status == 200 {
			proxytest.CheckStored(t, "unsure upload", f.Upload1(loc).Data, tiny, proxytest.EncryptedWith(t, p, tiny))
		}
	}
}
