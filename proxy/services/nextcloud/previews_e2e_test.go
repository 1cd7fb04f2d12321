package nextcloud_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"jpegveil/imagemetrics"
	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/proxy/internal/preview"
)

// nextcloudPreviewRules are the Nextcloud presets of config.example.yaml
// with previews: uploads to Photos/ name their service (the proxy learns
// each file's ID), other uploads do not, and the api rule covers the
// preview endpoints and PROPFIND.
const nextcloudPreviewRules = `  - name: nextcloud-upload-photos
    hosts: [cloud.test]
    methods: [PUT]
    paths: ["/remote.php/dav/files/*/Photos/**"]
    body: raw
    service: nextcloud
  - name: nextcloud-upload
    hosts: [cloud.test]
    methods: [PUT]
    paths: ["/remote.php/dav/files/**"]
    body: raw
  - name: nextcloud-download
    hosts: [cloud.test]
    methods: [GET]
    paths: ["/remote.php/dav/files/**"]
    body: download
  - name: nextcloud-api
    hosts: [cloud.test]
    methods: [GET, PROPFIND]
    paths: ["/index.php/core/preview", "/index.php/core/preview.png", "/index.php/apps/photos/api/v1/preview/*", "/remote.php/dav/files/**"]
    body: api
    service: nextcloud
`

// TestNextcloudPreviews: the core and Photos app previews of a photo
// uploaded through the proxy are renditions of the photo, rendered from
// the WebDAV original with the request's credentials; PROPFIND reports
// the photo's SHA1 and teaches the proxy file IDs it did not see
// uploaded; a stranger's preview passes, and so does one whose original
// fails (logged).
func TestNextcloudPreviews(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/retina-q92-optimized.jpg")
	other := fakes.CorpusFile(t, "photos/motorcycle-q80-restart8.jpg")
	stranger := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	f := fakes.NewNextcloud(t)
	core, logs := observer.New(zap.InfoLevel)
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"cloud.test"}, nextcloudPreviewRules, "previews: {upload_sizes: []}\n"), zap.New(core))
	f.Guard.Add("photo", photo)
	davDo(t, p.Client, "MKCOL", "files/alice/Photos", nil, nil)
	davDo(t, p.Client, "MKCOL", "files/alice/Other", nil, nil)
	put := func(c *http.Client, rel string, b []byte) string {
		req := proxytest.NewReq(t, "PUT", ncBase+"files/alice/"+rel, bytes.NewReader(b))
		req.Header.Set("OC-Checksum", ocSHA1(b))
		resp, msg := proxytest.MustDo(t, c, req)
		if resp.StatusCode != 201 {
			t.Fatalf("PUT %s: %s %q", rel, resp.Status, msg)
		}
		return strings.TrimLeft(strings.TrimSuffix(resp.Header.Get("OC-FileId"), "ocfake"), "0")
	}
	id := put(p.Client, "Photos/r.jpg", photo)
	otherID := put(p.Client, "Other/m.jpg", other)
	direct := proxytest.DirectClient(t, f.Srv.Listener.Addr().String(), f.CA)
	strangerID := put(direct, "Photos/s.jpg", stranger)

	check := func(u string, b []byte, spec preview.Spec) {
		t.Helper()
		checkRenderedPreview(t, p.Client, u, b, spec)
	}
	check("/index.php/core/preview?fileId="+id+"&x=256&y=256&a=1&mode=fill", photo, preview.Side(256))
	check("/index.php/core/preview?fileId="+id+"&x=200&y=120&a=0", photo, preview.Spec{Width: 200, Height: 120, Crop: true})
	check("/index.php/core/preview?fileId="+id+"&x=300&y=200&a=1&mode=cover&forceIcon=0", photo, preview.Spec{Width: 300, Height: 200, Cover: true})
	check("/index.php/core/preview.png?file=/Photos/r.jpg&x=250&y=250&a=1", photo, preview.Side(250))
	check("/index.php/apps/photos/api/v1/preview/"+id+"?x=512&y=512", photo, preview.Side(512))

	// A file ID the proxy has not learnt: the server's preview, until a
	// PROPFIND lists it.
	if resp, _ := ncGet(t, p.Client, "/index.php/core/preview?fileId="+otherID+"&x=64&y=64&a=1"); resp.Header.Get("X-Jpegveil-Preview") != "" {
		t.Fatal("a preview by an unknown file ID was rendered")
	}
	checkPropfindListings(t, p.Client, photo, stranger)
	check("/index.php/core/preview?fileId="+otherID+"&x=256&y=256&a=1", other, preview.Side(256))

	_, viaProxy := ncGet(t, p.Client, "/index.php/core/preview?fileId="+strangerID+"&x=128&y=128&a=1")
	_, straight := ncGet(t, direct, "/index.php/core/preview?fileId="+strangerID+"&x=128&y=128&a=1")
	if len(straight) == 0 || !bytes.Equal(viaProxy, straight) {
		t.Fatal("a stranger's preview was changed")
	}
	f.Mu.Lock()
	f.FailOriginals = true
	f.Mu.Unlock()
	_, viaProxy = ncGet(t, p.Client, "/index.php/core/preview?fileId="+id+"&x=100&y=100&a=1")
	_, straight = ncGet(t, direct, "/index.php/core/preview?fileId="+id+"&x=100&y=100&a=1")
	if !bytes.Equal(viaProxy, straight) {
		t.Fatal("with the original failing, the server's own preview did not pass")
	}
	if n := logs.FilterField(zap.String("outcome", "preview-fallback")).Len(); n != 1 {
		t.Fatalf("%d preview-fallback log lines, want 1", n)
	}
}

// TestNextcloudChunkedPreviews: a photo uploaded in chunks on a rule that
// names its service has its previews rendered by file ID and its SHA1 in
// PROPFIND answers.
func TestNextcloudChunkedPreviews(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/hubble-q85-progressive.jpg")
	f := fakes.NewNextcloud(t)
	rules := nextcloudPreviewRules + `  - name: nextcloud-chunked-upload
    hosts: [cloud.test]
    methods: [MKCOL, PUT, MOVE, DELETE, PROPFIND]
    paths: ["/remote.php/dav/uploads/**"]
    body: resumable
    resumable: nextcloud
    service: nextcloud
`
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"cloud.test"}, rules, ""), nil)
	f.Guard.Add("photo", photo)
	davDo(t, p.Client, "MKCOL", "files/alice/Photos", nil, nil)
	dest := ncBase + "files/alice/Photos/hubble.jpg"
	folder := "uploads/alice/web-file-upload-77"
	hdr := map[string]string{"Destination": dest, "OC-Total-Length": strconv.Itoa(len(photo))}
	davDo(t, p.Client, "MKCOL", folder, nil, hdr)
	half := len(photo) / 2
	for i, c := range [][]byte{photo[:half], photo[half:]} {
		f.Guard.Add("chunk", c)
		if resp, msg := davDo(t, p.Client, "PUT", folder+"/"+strconv.Itoa(i+1), c, hdr); resp.StatusCode != 201 {
			t.Fatalf("chunk %d: %s %q", i+1, resp.Status, msg)
		}
	}
	resp, msg := davDo(t, p.Client, "MOVE", folder+"/.file", nil, map[string]string{"Destination": dest, "OC-Total-Length": strconv.Itoa(len(photo)), "OC-Checksum": ocSHA1(photo)})
	if resp.StatusCode != 201 {
		t.Fatalf("MOVE: %s %q", resp.Status, msg)
	}
	id := strings.TrimLeft(strings.TrimSuffix(resp.Header.Get("OC-FileId"), "ocfake"), "0")
	req := proxytest.NewReq(t, "GET", "https://cloud.test/index.php/core/preview?fileId="+id+"&x=300&y=300&a=1", nil)
	req.Header.Set("Authorization", fakes.NextcloudBasic("alice"))
	resp, body := proxytest.MustDo(t, p.Client, req)
	if resp.Header.Get("X-Jpegveil-Preview") != "rendered" {
		t.Fatalf("preview by file ID: %s %v", resp.Status, resp.Header)
	}
	got, _ := preview.Decode(body)
	img, _ := preview.Decode(photo)
	want := preview.Scale(img, preview.Side(300))
	if psnr, err := imagemetrics.PSNRRGB(imagemetrics.FromImage(want), imagemetrics.FromImage(got)); err != nil || psnr < 30 {
		t.Fatalf("PSNR %.1f dB (%v)", psnr, err)
	}
	_, listing := davDo(t, p.Client, "PROPFIND", "files/alice/Photos", nil, map[string]string{"Depth": "1", "Content-Type": "application/xml"})
	if !strings.Contains(listing, "<oc:checksum>"+ocSHA1(photo)+"</oc:checksum>") {
		t.Fatalf("PROPFIND does not report the photo's SHA1:\n%s", listing)
	}
}

// ncGet sends a GET for the path u to cloud.test as alice through c.
func ncGet(t *testing.T, c *http.Client, u string) (*http.Response, []byte) {
	t.Helper()
	req := proxytest.NewReq(t, "GET", "https://cloud.test"+u, nil)
	req.Header.Set("Authorization", fakes.NextcloudBasic("alice"))
	return proxytest.MustDo(t, c, req)
}

// checkRenderedPreview expects the preview at u, fetched through c, to be
// rendered by the proxy from the photo b at spec's size, close to it.
func checkRenderedPreview(t *testing.T, c *http.Client, u string, b []byte, spec preview.Spec) {
	t.Helper()
	resp, body := ncGet(t, c, u)
	got, err := preview.Decode(body)
	if resp.StatusCode != 200 || err != nil || resp.Header.Get("X-Jpegveil-Preview") != "rendered" {
		t.Fatalf("%s: %s %v", u, resp.Status, err)
	}
	img, _ := preview.Decode(b)
	want := preview.Scale(img, spec)
	if got.Bounds().Size() != want.Bounds().Size() {
		t.Fatalf("%s: %v, want %v", u, got.Bounds().Size(), want.Bounds().Size())
	}
	psnr, _ := imagemetrics.PSNRRGB(imagemetrics.FromImage(want), imagemetrics.FromImage(got))
	t.Logf("%s: %v, PSNR %.1f dB", u, got.Bounds().Size(), psnr)
	if psnr < 30 {
		t.Errorf("%s: PSNR %.1f dB, want >= 30", u, psnr)
	}
}

// checkPropfindListings lists Other and Photos through c, which teaches
// the proxy their file IDs, and expects the listing of Photos to report
// the photo's own SHA1 and a stranger's checksum unchanged.
func checkPropfindListings(t *testing.T, c *http.Client, photo, stranger []byte) {
	t.Helper()
	for _, dir := range []string{"Other", "Photos"} {
		resp, listing := davDo(t, c, "PROPFIND", "files/alice/"+dir, []byte(`<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:allprop/></d:propfind>`), map[string]string{"Depth": "1", "Content-Type": "application/xml"})
		if resp.StatusCode != 207 {
			t.Fatalf("PROPFIND %s: %s", dir, resp.Status)
		}
		if dir == "Photos" {
			plain := sha1.Sum(photo)
			if !strings.Contains(listing, "<oc:checksum>SHA1:"+hex.EncodeToString(plain[:])+"</oc:checksum>") {
				t.Fatalf("PROPFIND does not report the photo's SHA1:\n%s", listing)
			}
			if !strings.Contains(listing, ocSHA1(stranger)) {
				t.Fatalf("PROPFIND changed a stranger's checksum:\n%s", listing)
			}
		}
	}
}
