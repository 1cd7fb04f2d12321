package immich_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"image/jpeg"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"jpegveil/imagemetrics"
	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/proxy/internal/preview"
)

// immichAPIRules are the Immich presets of config.example.yaml with the
// api rule, for the host immich.test.
const immichAPIRules = `  - name: immich-upload
    hosts: [immich.test]
    methods: [POST]
    paths: ["/api/assets"]
    body: multipart
    field: assetData
    service: immich
  - name: immich-download
    hosts: [immich.test]
    methods: [GET]
    paths: ["/api/assets/*/original"]
    body: download
  - name: immich-api
    hosts: [immich.test]
    methods: [GET, POST, PUT]
    paths: ["/api/**"]
    body: api
    service: immich
`

type immichPreviewSetup struct {
	f    *fakes.Immich
	p    *proxytest.Proxy
	logs *observer.ObservedLogs
}

func startImmichPreviews(t *testing.T, previews string) immichPreviewSetup {
	t.Helper()
	f := fakes.NewImmich(t)
	core, logs := observer.New(zap.InfoLevel)
	yaml := proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"immich.test"}, immichAPIRules, previews)
	return immichPreviewSetup{f: f, p: proxytest.Start(t, yaml, zap.New(core)), logs: logs}
}

func immichGet(t *testing.T, c *http.Client, path string, auth func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	req := proxytest.NewReq(t, "GET", "https://immich.test"+path, nil)
	auth(req)
	return proxytest.MustDo(t, c, req)
}

func apiKey(r *http.Request) { r.Header.Set("x-api-key", "test-key") }

// psnrAgainst is the PSNR of a rendition against the same resize of the
// photo.
func psnrAgainst(t *testing.T, rendition, photo []byte, spec preview.Spec) float64 {
	t.Helper()
	got, err := preview.Decode(rendition)
	if err != nil {
		t.Fatalf("the rendition is no JPEG: %v", err)
	}
	img, err := preview.Decode(photo)
	if err != nil {
		t.Fatal(err)
	}
	ref := preview.Scale(img, spec)
	if ref.Bounds().Size() != got.Bounds().Size() {
		t.Fatalf("rendition %v, want %v", got.Bounds().Size(), ref.Bounds().Size())
	}
	psnr, err := imagemetrics.PSNRRGB(imagemetrics.FromImage(ref), imagemetrics.FromImage(got))
	if err != nil {
		t.Fatal(err)
	}
	return psnr
}

// TestImmichThumbnailsOfOurPhotos: the thumbnail, preview and fullsize
// renditions of a photo uploaded through the proxy are renditions of the
// photo, with each of the credentials Immich accepts; with upload_sizes
// empty they are rendered from the original fetched with the request's
// own credentials.
func TestImmichThumbnailsOfOurPhotos(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/astronaut-q85-progressive.jpg")
	s := startImmichPreviews(t, "previews: {upload_sizes: []}\n")
	s.f.Guard.Add("photo", photo)
	_, id, _ := immichUpload(t, s.p.Client, photo, "", false, false)
	auths := map[string]func(*http.Request){
		"x-api-key": apiKey,
		"bearer":    func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok") },
		"cookie":    func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "immich_access_token", Value: "tok"}) },
		"key query": func(r *http.Request) { r.URL.RawQuery += "&key=sharekey" },
	}
	for name, auth := range auths {
		for _, tc := range []struct {
			size string
			spec preview.Spec
		}{{"thumbnail", preview.Side(250)}, {"preview", preview.Side(1440)}, {"fullsize", preview.Spec{}}} {
			resp, body := immichGet(t, s.p.Client, "/api/assets/"+id+"/thumbnail?size="+tc.size+"&c=abc", auth)
			if resp.StatusCode != 200 || resp.Header.Get("X-Jpegveil-Preview") != "rendered" || resp.Header.Get("Cache-Control") == "" {
				t.Fatalf("%s %s: %s %v", name, tc.size, resp.Status, resp.Header)
			}
			psnr := psnrAgainst(t, body, photo, tc.spec)
			t.Logf("%s %s: %d bytes, PSNR %.1f dB", name, tc.size, len(body), psnr)
			if psnr < 30 {
				t.Errorf("%s %s: PSNR %.1f dB against the same resize of the photo, want >= 30", name, tc.size, psnr)
			}
		}
	}
}

// TestImmichPreviewsRenderedAtUpload: with the default upload sizes the
// thumbnail of a photo uploaded through the proxy costs no download.
func TestImmichPreviewsRenderedAtUpload(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/chelsea-q90-422.jpg")
	s := startImmichPreviews(t, "")
	_, id, _ := immichUpload(t, s.p.Client, photo, "", false, false)
	resp, body := immichGet(t, s.p.Client, "/api/assets/"+id+"/thumbnail?size=thumbnail", apiKey)
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	if psnr := psnrAgainst(t, body, photo, preview.Side(250)); psnr < 30 {
		t.Errorf("PSNR %.1f dB, want >= 30", psnr)
	}
	if s.f.ServedOriginal != 0 || s.f.ServedRendition != 0 {
		t.Errorf("the service served %d bytes of originals and %d of renditions, want none", s.f.ServedOriginal, s.f.ServedRendition)
	}
	if n := s.logs.FilterField(zap.String("outcome", "preview-cached")).Len(); n != 1 {
		t.Errorf("%d preview-cached log lines, want 1", n)
	}
	// Without credentials the service says no, and so does the cache.
	resp, _ = immichGet(t, s.p.Client, "/api/assets/"+id+"/thumbnail?size=thumbnail", func(*http.Request) {})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a cached thumbnail without credentials: %s, want 401", resp.Status)
	}
}

// TestImmichStrangersThumbnailPasses: a rendition of a photo the proxy did
// not encrypt is the service's own, byte for byte; so is one of the
// proxy's photo whose original cannot be fetched, and that is logged.
func TestImmichStrangersThumbnailPasses(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	ours := fakes.CorpusFile(t, "photos/hubble-q85-progressive.jpg")
	s := startImmichPreviews(t, "previews: {upload_sizes: []}\n")
	direct := proxytest.DirectClient(t, s.f.Srv.Listener.Addr().String(), s.f.CA)
	_, stranger, _ := immichUpload(t, direct, photo, "", false, false)
	_, mine, _ := immichUpload(t, s.p.Client, ours, "", false, false)
	_, viaProxy := immichGet(t, s.p.Client, "/api/assets/"+stranger+"/thumbnail?size=preview", apiKey)
	_, straight := immichGet(t, direct, "/api/assets/"+stranger+"/thumbnail?size=preview", apiKey)
	if len(straight) == 0 || !bytes.Equal(viaProxy, straight) {
		t.Fatal("a stranger's rendition was changed")
	}
	s.f.Mu.Lock()
	s.f.FailOriginals = true
	s.f.Mu.Unlock()
	resp, viaProxy := immichGet(t, s.p.Client, "/api/assets/"+mine+"/thumbnail?size=thumbnail", apiKey)
	_, straight = immichGet(t, direct, "/api/assets/"+mine+"/thumbnail?size=thumbnail", apiKey)
	if resp.StatusCode != 200 || !bytes.Equal(viaProxy, straight) {
		t.Fatalf("with the original failing: %s, service's own rendition: %v", resp.Status, bytes.Equal(viaProxy, straight))
	}
	logged := s.logs.FilterField(zap.String("outcome", "preview-fallback")).All()
	if len(logged) != 1 || !strings.Contains(logged[0].ContextMap()["reason"].(string), "503") {
		t.Fatalf("fallback log lines: %v", logged)
	}
}

// TestImmichChecksumsInStep: asset JSON reports the photo's checksum and a
// placeholder of the photo; bulk-upload-check finds the photo uploaded
// through the proxy and learns nothing of the others (the guard fails the
// test if a plaintext checksum reaches the server).
func TestImmichChecksumsInStep(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/astronaut-q75-420.jpg")
	other := fakes.CorpusFile(t, "photos/coffee-q95-420-optimized.jpg")
	s := startImmichPreviews(t, "")
	s.f.Guard.Add("photo", photo)
	s.f.Guard.Add("other", other)
	_, id, _ := immichUpload(t, s.p.Client, photo, "", false, false)
	plainSum, otherSum := sha1.Sum(photo), sha1.Sum(other)
	img, _ := preview.Decode(photo)
	wantHash := base64.StdEncoding.EncodeToString(preview.ThumbHash(img))

	var asset struct{ ID, Checksum, Thumbhash string }
	_, body := immichGet(t, s.p.Client, "/api/assets/"+id, apiKey)
	if err := json.Unmarshal(body, &asset); err != nil {
		t.Fatal(err)
	}
	if asset.Checksum != base64.StdEncoding.EncodeToString(plainSum[:]) || asset.Thumbhash != wantHash {
		t.Fatalf("asset JSON through the proxy: %s", body)
	}
	req := proxytest.NewReq(t, "POST", "https://immich.test/api/sync/full-sync", strings.NewReader(`{"limit":100,"updatedUntil":"2030-01-01T00:00:00Z"}`))
	req.Header.Set("Content-Type", "application/json")
	apiKey(req)
	_, body = proxytest.MustDo(t, s.p.Client, req)
	if !strings.Contains(string(body), base64.StdEncoding.EncodeToString(plainSum[:])) || !strings.Contains(string(body), wantHash) {
		t.Fatalf("full-sync through the proxy: %s", body)
	}

	check := `{"assets":[{"id":"a.jpg","checksum":"` + hex.EncodeToString(plainSum[:]) + `"},{"id":"b.jpg","checksum":"` + base64.StdEncoding.EncodeToString(otherSum[:]) + `"}]}`
	req = proxytest.NewReq(t, "POST", "https://immich.test/api/assets/bulk-upload-check", strings.NewReader(check))
	req.Header.Set("Content-Type", "application/json")
	apiKey(req)
	_, body = proxytest.MustDo(t, s.p.Client, req)
	var res struct {
		Results []struct{ ID, Action, Reason, AssetID string }
	}
	if err := json.Unmarshal(body, &res); err != nil || len(res.Results) != 2 {
		t.Fatalf("bulk-upload-check: %s", body)
	}
	if r := res.Results[0]; r.Action != "reject" || r.Reason != "duplicate" || r.AssetID != id {
		t.Errorf("our photo: %+v, want a duplicate of %s", r, id)
	}
	if r := res.Results[1]; r.Action != "accept" {
		t.Errorf("another photo: %+v, want accept", r)
	}
}

// TestImmichPreviewCacheOnDisk: previews rendered at upload are kept in
// state_dir/previews sealed (no JPEG in the clear) and serve the
// thumbnails of a proxy started again, without a download.
func TestImmichPreviewCacheOnDisk(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/rocket-original.jpg")
	f := fakes.NewImmich(t)
	state := t.TempDir()
	yaml := proxytest.ServicesConfigYAML(state, f.Srv.Listener.Addr().String(), f.CA, []string{"immich.test"}, immichAPIRules, "previews: {disk_cache: 8MiB}\n")
	var id string
	t.Run("upload", func(t *testing.T) {
		p := proxytest.Start(t, yaml, nil)
		_, id, _ = immichUpload(t, p.Client, photo, "", false, false)
	})
	files, _ := filepath.Glob(filepath.Join(state, "previews", "*.preview"))
	if len(files) != 3 { // 250, 1440 and the placeholder
		t.Fatalf("%d previews on disk, want 3", len(files))
	}
	for _, fn := range files {
		b, _ := os.ReadFile(fn)
		if clearJPEGIn(b) {
			t.Fatalf("%s holds a JPEG in the clear", fn)
		}
	}
	t.Run("after a restart", func(t *testing.T) {
		p := proxytest.Start(t, yaml, nil)
		resp, body := immichGet(t, p.Client, "/api/assets/"+id+"/thumbnail?size=thumbnail", apiKey)
		if resp.StatusCode != 200 || resp.Header.Get("X-Jpegveil-Preview") != "rendered" {
			t.Fatalf("%s %v", resp.Status, resp.Header)
		}
		if psnr := psnrAgainst(t, body, photo, preview.Side(250)); psnr < 30 {
			t.Errorf("PSNR %.1f dB", psnr)
		}
		if f.ServedOriginal != 0 {
			t.Errorf("the service sent %d bytes of the original", f.ServedOriginal)
		}
	})
}

// TestImmichAPIRuleRefusesPhotos: a JPEG body on a route of the api rule
// is an upload no rule covers, refused as on any other route.
func TestImmichAPIRuleRefusesPhotos(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/chelsea-q90-422.jpg")
	s := startImmichPreviews(t, "")
	req := proxytest.NewReq(t, "PUT", "https://immich.test/api/assets/abc/original", bytes.NewReader(photo))
	req.Header.Set("Content-Type", "image/jpeg")
	apiKey(req)
	resp, body := proxytest.MustDo(t, s.p.Client, req)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "no rule covers") {
		t.Fatalf("%s %q", resp.Status, body)
	}
}

// clearJPEGIn reports whether b holds a JPEG in the clear: an SOI whose
// headers decode. (FF D8 FF alone turns up in about one sealed file in
// six thousand by chance.)
func clearJPEGIn(b []byte) bool {
	for i := 0; ; i++ {
		k := bytes.Index(b[i:], []byte{0xFF, 0xD8, 0xFF})
		if k < 0 {
			return false
		}
		i += k
		if _, err := jpeg.DecodeConfig(bytes.NewReader(b[i:])); err == nil {
			return true
		}
	}
}
