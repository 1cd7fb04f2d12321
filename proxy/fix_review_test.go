package proxy

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestMatchPath(t *testing.T) {
	for in, want := range map[string]string{
		"/upload":          "/upload",
		"/upload/":         "/upload",
		"//upload":         "/upload",
		"/upload;jsid=1":   "/upload",
		"/a/./b/../upload": "/a/upload",
		"":                 "/",
		"/v1/uploads;x/":   "/v1/uploads",
	} {
		if got := matchPath(in); got != want {
			t.Errorf("matchPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPathVariantsAreEncrypted: "/upload/", "//upload" and "/upload;x" are
// the same route to the servers behind the rules, so they are encrypted too.
func TestPathVariantsAreEncrypted(t *testing.T) {
	photo := corpusFile(t, "photos/coffee-q80-420.jpg")
	svc := newFakePhotos(t)
	inner := svc.srv.Config.Handler
	svc.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = matchPath(r.URL.Path) // the service reads paths this way
		inner.ServeHTTP(w, r)
	})
	p := startProxy(t, testConfigYAML(t.TempDir(), svc.srv.Listener.Addr().String(), []string{svc.caFile}, ""), nil)
	for _, path := range []string{"/upload/", "//upload", "/upload;x=1"} {
		resp, id := mustDo(t, p.client, newReq(t, "POST", "https://photos.test"+path, bytes.NewReader(photo)))
		if resp.StatusCode != 200 || bytes.Equal(svc.objects[string(id)], photo) {
			t.Fatalf("%s: %s, stored unencrypted: %v", path, resp.Status, bytes.Equal(svc.objects[string(id)], photo))
		}
	}
}

// TestUncoveredJPEGUploadIsRefused: a JPEG posted to an intercepted host on
// a route no rule covers is refused, anything else goes through.
func TestUncoveredJPEGUploadIsRefused(t *testing.T) {
	svc := newFakePhotos(t)
	p := startProxy(t, testConfigYAML(t.TempDir(), svc.srv.Listener.Addr().String(), []string{svc.caFile}, ""), nil)
	resp, msg := mustDo(t, p.client, newReq(t, "POST", "https://photos.test/v2/new-upload-api", bytes.NewReader(corpusFile(t, "photos/coffee-q80-420.jpg"))))
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(msg), "no rule covers") {
		t.Fatalf("JPEG on an uncovered route: %s %q", resp.Status, msg)
	}
	resp, _ = mustDo(t, p.client, newReq(t, "POST", "https://photos.test/v2/new-upload-api", strings.NewReader(`{"json":true}`)))
	if resp.StatusCode == http.StatusBadGateway {
		t.Fatal("a non-JPEG body on an uncovered route was refused")
	}
	if svc.received != 0 {
		t.Fatal("the refused JPEG reached the service")
	}
}

func TestTrailersAreRefused(t *testing.T) {
	svc := newFakePhotos(t)
	p := startProxy(t, testConfigYAML(t.TempDir(), svc.srv.Listener.Addr().String(), []string{svc.caFile}, ""), nil)
	req := newReq(t, "POST", "https://photos.test/upload", bytes.NewReader(corpusFile(t, "photos/coffee-q80-420.jpg")))
	req.ContentLength = -1
	req.Trailer = http.Header{"Content-Md5": nil}
	resp, msg := mustDo(t, p.client, req)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(msg), "trailers") {
		t.Fatalf("upload with trailers: %s %q", resp.Status, msg)
	}
	if svc.received != 0 {
		t.Fatal("an upload with trailers reached the service")
	}
}

// TestMultipartSecondFileIsRefused: only the rule's field is encrypted, so a
// form carrying another file is refused rather than half encrypted.
func TestMultipartSecondFileIsRefused(t *testing.T) {
	photo := corpusFile(t, "photos/coffee-q80-420.jpg")
	svc := newFakePhotos(t)
	inner := svc.srv.Config.Handler
	var got [][]byte
	svc.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/form" {
			inner.ServeHTTP(w, r)
			return
		}
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		f, _, err := r.FormFile("assetData")
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var b bytes.Buffer
		b.ReadFrom(f)
		got = append(got, b.Bytes())
		fmt.Fprint(w, "ok")
	})
	extra := "  - name: test-form\n    hosts: [photos.test]\n    methods: [POST]\n    paths: [/form]\n    body: multipart\n    field: assetData\n"
	p := startProxy(t, testConfigYAML(t.TempDir(), svc.srv.Listener.Addr().String(), []string{svc.caFile}, "")+extra, nil)
	form := func(parts func(*multipart.Writer)) (*bytes.Buffer, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("deviceId", "phone")
		fw, _ := mw.CreateFormFile("assetData", "a.jpg")
		fw.Write(photo)
		parts(mw)
		mw.Close()
		return &b, mw.FormDataContentType()
	}
	send := func(body *bytes.Buffer, ct string) (*http.Response, string) {
		req := newReq(t, "POST", "https://photos.test/form", body)
		req.Header.Set("Content-Type", ct)
		resp, msg := mustDo(t, p.client, req)
		return resp, string(msg)
	}
	body, ct := form(func(mw *multipart.Writer) { mw.WriteField("isFavorite", "false") })
	if resp, msg := send(body, ct); resp.StatusCode != 200 || len(got) != 1 || bytes.Equal(got[0], photo) || len(got[0]) != len(photo) {
		t.Fatalf("plain form: %s %q", resp.Status, msg)
	}
	for name, add := range map[string]func(*multipart.Writer){
		"second photo": func(mw *multipart.Writer) { fw, _ := mw.CreateFormFile("assetData", "b.jpg"); fw.Write(photo) },
		"sidecar": func(mw *multipart.Writer) {
			fw, _ := mw.CreateFormFile("sidecarData", "a.xmp")
			fw.Write([]byte("<x:xmpmeta/>"))
		},
	} {
		body, ct := form(add)
		if resp, msg := send(body, ct); resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("%s: %s %q, want 502", name, resp.Status, msg)
		}
	}
	if len(got) != 1 {
		t.Fatalf("the service accepted %d forms, want only the plain one", len(got))
	}
}

// TestNetworkClientCannotReachLoopback: a client on the network may not
// use the proxy to reach the proxy host's own loopback services.
func TestNetworkClientCannotReachLoopback(t *testing.T) {
	svc := newFakePhotos(t)
	yaml := testConfigYAML(t.TempDir(), svc.srv.Listener.Addr().String(), []string{svc.caFile}, "clients:\n  allow: [192.0.2.0/24, 127.0.0.0/8]\n")
	p := startProxy(t, yaml, zap.NewNop())
	for _, target := range []string{"127.0.0.1:22", "localhost:6379", "[::1]:5432", "db.localhost:5432"} {
		req := httptest.NewRequest(http.MethodConnect, "http://"+target, nil)
		req.RemoteAddr = "192.0.2.10:40000"
		req.URL.Host, req.Host = target, target
		rec := httptest.NewRecorder()
		p.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Errorf("CONNECT %s from the network: %d, want 403", target, rec.Code)
		}
	}
	// A destination the config maps explicitly stays reachable.
	req := httptest.NewRequest(http.MethodConnect, "http://photos.test:443", nil)
	req.RemoteAddr = "192.0.2.10:40000"
	if p.srv.targetsLoopback(req) {
		t.Error("a destination mapped by upstream.resolve counts as loopback")
	}
}
