package proxy_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/proxy"
)

// TestPathVariantsAreEncrypted: "/upload/", "//upload" and "/upload;x" are
// the same route to the servers behind the rules, so they are encrypted too.
func TestPathVariantsAreEncrypted(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	svc := fakes.NewPhotos(t)
	inner := svc.Srv.Config.Handler
	svc.Srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = proxy.MatchPath(r.URL.Path) // the service reads paths this way
		inner.ServeHTTP(w, r)
	})
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	for _, path := range []string{"/upload/", "//upload", "/upload;x=1"} {
		resp, id := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "POST", "https://photos.test"+path, bytes.NewReader(photo)))
		if resp.StatusCode != 200 || bytes.Equal(svc.Objects[string(id)], photo) {
			t.Fatalf("%s: %s, stored unencrypted: %v", path, resp.Status, bytes.Equal(svc.Objects[string(id)], photo))
		}
	}
}

// TestUncoveredJPEGUploadIsRefused: a JPEG posted to an intercepted host on
// a route no rule covers is refused, anything else goes through.
func TestUncoveredJPEGUploadIsRefused(t *testing.T) {
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	resp, msg := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "POST", "https://photos.test/v2/new-upload-api", bytes.NewReader(fakes.CorpusFile(t, "photos/coffee-q80-420.jpg"))))
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(msg), "no rule covers") {
		t.Fatalf("JPEG on an uncovered route: %s %q", resp.Status, msg)
	}
	resp, _ = proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "POST", "https://photos.test/v2/new-upload-api", strings.NewReader(`{"json":true}`)))
	if resp.StatusCode == http.StatusBadGateway {
		t.Fatal("a non-JPEG body on an uncovered route was refused")
	}
	if svc.Received != 0 {
		t.Fatal("the refused JPEG reached the service")
	}
}

// TestUncoveredCompressedBodyIsRefused: a compressed body on an
// intercepted host cannot be checked for a photo, so it is refused even on
// a route no rule covers.
func TestUncoveredCompressedBodyIsRefused(t *testing.T) {
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(fakes.CorpusFile(t, "photos/coffee-q80-420.jpg"))
	zw.Close()
	req := proxytest.NewReq(t, "POST", "https://photos.test/v2/new-upload-api", bytes.NewReader(gz.Bytes()))
	req.Header.Set("Content-Encoding", "gzip")
	resp, msg := proxytest.MustDo(t, p.Client, req)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(msg), "compressed with gzip") {
		t.Fatalf("gzip body on an uncovered route: %s %q", resp.Status, msg)
	}
	if svc.Received != 0 {
		t.Fatal("the compressed photo reached the service")
	}
}

// TestUncoveredFormWithJPEGIsRefused: a form carrying a JPEG, posted to an
// intercepted host on a route no rule covers, is refused like a bare JPEG,
// also when the photo comes after more than the proxy reads ahead.
func TestUncoveredFormWithJPEGIsRefused(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	svc := fakes.NewPhotos(t)
	up := &formUpstream{} // an upload API the rules do not know
	svc.Srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/form" + r.URL.Path
		up.handler(nil).ServeHTTP(w, r)
	})
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	for name, before := range map[string]string{"small": "phone", "large": strings.Repeat("x", 400<<10)} {
		form := "--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n" + before +
			"\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n" + string(photo) + "\r\n--b--\r\n"
		req := proxytest.NewReq(t, "POST", "https://photos.test/v2/new-upload-api", strings.NewReader(form))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		resp, msg := proxytest.MustDo(t, p.Client, req)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(msg), "no rule covers") {
			t.Fatalf("%s form with a JPEG on an uncovered route: %s %q", name, resp.Status, msg)
		}
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	for _, b := range up.bodies {
		if plaintextIn(b, photo) {
			t.Fatal("the photo reached the service unencrypted")
		}
	}
}

func TestTrailersAreRefused(t *testing.T) {
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	req := proxytest.NewReq(t, "POST", "https://photos.test/upload", bytes.NewReader(fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")))
	req.ContentLength = -1
	req.Trailer = http.Header{"Content-Md5": nil}
	resp, msg := proxytest.MustDo(t, p.Client, req)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(msg), "trailers") {
		t.Fatalf("upload with trailers: %s %q", resp.Status, msg)
	}
	if svc.Received != 0 {
		t.Fatal("an upload with trailers reached the service")
	}
}
