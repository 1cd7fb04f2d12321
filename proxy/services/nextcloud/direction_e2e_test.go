package nextcloud_test

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestNextcloudChunkedReuploadThroughOtherProxy: a photo uploaded through
// one proxy, downloaded directly and uploaded again in chunks through a
// second proxy with the same key and its own ledger, is stored as the same
// ciphertext (the plaintext never reaches the service), and downloads
// decrypted through the second proxy. The chunks are smaller than what the
// classifier reads, so the first ones are held back until the direction
// is decided.
func TestNextcloudChunkedReuploadThroughOtherProxy(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/astronaut-q95-444.jpg")
	f, home := startNextcloud(t)
	f.Guard.Add("photo", photo)
	laptop := proxytest.StartWith(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"cloud.test"}, nextcloudRules, ""),
		proxytest.Options{Keys: home.Keyring.Keys()})
	want := proxytest.EncryptedWith(t, home, photo)
	davDo(t, home.Client, "MKCOL", "files/alice/Photos", nil, nil)
	if resp, msg := davDo(t, home.Client, "PUT", "files/alice/Photos/a.jpg", photo, nil); resp.StatusCode != 201 {
		t.Fatalf("PUT through the first proxy: %s %q", resp.Status, msg)
	}
	direct := proxytest.DirectClient(t, f.Srv.Listener.Addr().String(), f.CA)
	_, raw := proxytest.MustDo(t, direct, proxytest.NewReq(t, "GET", ncBase+"files/alice/Photos/a.jpg", nil))
	proxytest.CheckStored(t, "first upload", raw, photo, want)

	dest := ncBase + "files/alice/Photos/again.jpg"
	folder := "uploads/alice/web-file-upload-77c1"
	hdr := map[string]string{"Destination": dest, "OC-Total-Length": strconv.Itoa(len(raw))}
	if resp, msg := davDo(t, laptop.Client, "MKCOL", folder, nil, hdr); resp.StatusCode != 201 {
		t.Fatalf("MKCOL: %s %q", resp.Status, msg)
	}
	const cs = 10000
	for i, off := 0, 0; off < len(raw); i, off = i+1, off+cs {
		resp, msg := davDo(t, laptop.Client, "PUT", fmt.Sprintf("%s/%05d", folder, i+1), raw[off:min(off+cs, len(raw))], hdr)
		if resp.StatusCode != 201 {
			t.Fatalf("chunk %d: %s %q", i+1, resp.Status, msg)
		}
	}
	if resp, msg := davDo(t, laptop.Client, "MOVE", folder+"/.file", nil, hdr); resp.StatusCode != 201 {
		t.Fatalf("MOVE: %s %q", resp.Status, msg)
	}
	if got := f.File("alice/Photos/again.jpg").Data; !bytes.Equal(got, raw) {
		t.Fatalf("the second proxy changed the ciphertext on its way up (stored the plaintext: %v)", bytes.Equal(got, photo))
	}
	checkNextcloudDownloads(t, f, laptop, "alice/Photos/again.jpg", photo, want)
}
