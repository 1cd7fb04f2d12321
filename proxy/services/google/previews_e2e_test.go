package google_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"jpegveil/imagemetrics"
	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/proxy/internal/preview"
)

// TestGoogleFIFEPreviews: size options on the base URL of a photo
// uploaded through the proxy give a rendition of the photo, rendered from
// =d with the request's credentials; Google's own copy of a stranger's
// photo passes unchanged, and so does one of the proxy's photo whose
// original fails (logged).
func TestGoogleFIFEPreviews(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/hubble-q85-progressive.jpg")
	stranger := fakes.CorpusFile(t, "photos/rocket-original.jpg")
	f := fakes.NewGoogle(t)
	core, logs := observer.New(zap.InfoLevel)
	rules := strings.Replace(googleRules, "    body: download\n", "    body: download\n    service: google\n", 1)
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, fakes.GoogleHosts, rules, ""), zap.New(core))
	g := gClient{t: t, c: p.Client}
	upload := func(c *http.Client, b []byte) string {
		g := gClient{t: t, c: c}
		resp, token := proxytest.MustDo(t, c, g.req("POST", "https://photoslibrary.googleapis.com/v1/uploads", bytes.NewReader(b), map[string]string{
			"X-Goog-Upload-Protocol": "raw", "X-Goog-Upload-Content-Type": "image/jpeg", "Content-Type": "application/octet-stream"}))
		if resp.StatusCode != 200 {
			t.Fatalf("upload: %s", resp.Status)
		}
		return g.mediaItem(string(token))
	}
	base := upload(p.Client, photo)
	direct := proxytest.DirectClient(t, f.Srv.Listener.Addr().String(), f.CA)
	strangerBase := upload(direct, stranger)
	img, _ := preview.Decode(photo)
	for _, tc := range []struct {
		opts string
		spec preview.Spec
	}{
		{"w400-h300", preview.Spec{Width: 400, Height: 300}},
		{"w256-h256-c", preview.Spec{Width: 256, Height: 256, Crop: true}},
		{"s512-no-k", preview.Side(512)},
		{"w640-p", preview.Spec{Width: 640, Height: 640, Crop: true}},
	} {
		resp, body := proxytest.MustDo(t, p.Client, g.req("GET", base+"="+tc.opts, nil, nil))
		got, err := preview.Decode(body)
		if resp.StatusCode != 200 || err != nil {
			t.Fatalf("=%s: %s %v", tc.opts, resp.Status, err)
		}
		want := preview.Scale(img, tc.spec)
		if got.Bounds().Size() != want.Bounds().Size() {
			t.Fatalf("=%s: %v, want %v", tc.opts, got.Bounds().Size(), want.Bounds().Size())
		}
		psnr, _ := imagemetrics.PSNRRGB(imagemetrics.FromImage(want), imagemetrics.FromImage(got))
		t.Logf("=%s: %v, PSNR %.1f dB", tc.opts, got.Bounds().Size(), psnr)
		if psnr < 30 {
			t.Errorf("=%s: PSNR %.1f dB, want >= 30", tc.opts, psnr)
		}
	}
	if full, body := proxytest.MustDo(t, p.Client, g.req("GET", base+"=d", nil, nil)); full.StatusCode != 200 || !bytes.Equal(body, photo) {
		t.Fatal("=d through the proxy is not the photo")
	}
	_, viaProxy := proxytest.MustDo(t, p.Client, g.req("GET", strangerBase+"=w300-h200", nil, nil))
	_, straight := proxytest.MustDo(t, direct, g.req("GET", strangerBase+"=w300-h200", nil, nil))
	if len(straight) == 0 || !bytes.Equal(viaProxy, straight) {
		t.Fatal("Google's copy of a stranger's photo was changed")
	}
	f.Mu.Lock()
	f.FailOriginals = true
	f.Mu.Unlock()
	_, viaProxy = proxytest.MustDo(t, p.Client, g.req("GET", base+"=w100-h100", nil, nil))
	_, straight = proxytest.MustDo(t, direct, g.req("GET", base+"=w100-h100", nil, nil))
	if !bytes.Equal(viaProxy, straight) {
		t.Fatal("with =d failing, Google's own copy did not pass")
	}
	if n := logs.FilterField(zap.String("outcome", "preview-fallback")).Len(); n != 1 {
		t.Fatalf("%d preview-fallback log lines, want 1", n)
	}
}
