package proxy_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// formUpstream is a fake service for multipart uploads: it keeps every
// body that reaches it and accepts any form.
type formUpstream struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (f *formUpstream) handler(inner http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/form") {
			inner.ServeHTTP(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, b)
		f.mu.Unlock()
		if _, err := r.MultipartReader(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		io.WriteString(w, "ok")
	})
}

// plaintextIn reports whether b holds a run of the photo's entropy-coded
// data as it is: the photo, or a part of it, went up unencrypted.
func plaintextIn(b, photo []byte) bool {
	mid := len(photo) / 2
	for _, at := range []int{mid, mid + 997, len(photo) - 300} {
		if bytes.Contains(b, photo[at:at+64]) {
			return true
		}
	}
	return false
}

const formRules = `  - name: test-form
    hosts: [photos.test]
    methods: [POST]
    paths: [/form]
    body: multipart
    field: assetData
  - name: test-form-pass
    hosts: [photos.test]
    methods: [POST]
    paths: [/form-pass]
    body: multipart
    field: assetData
    on_unsupported: pass
`

// TestMultipartPhotoAnywhereIsNeverPlain: whatever part of an intercepted
// multipart upload holds a JPEG, before the rule's field or after it, with
// or without a filename or a content type, under on_unsupported block or
// pass, it is encrypted or the upload is refused: no part of the photo
// reaches the service as it is. Before, a file part placed before the
// field went up unencrypted while the log said transformed.
func TestMultipartPhotoAnywhereIsNeverPlain(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	svc := fakes.NewPhotos(t)
	up := &formUpstream{}
	svc.Srv.Config.Handler = up.handler(svc.Srv.Config.Handler)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "")+formRules, nil)
	jpegPart := func(name, disposition, ctype string) string {
		h := `Content-Disposition: form-data; name="` + name + `"` + disposition
		if ctype != "" {
			h += "\r\nContent-Type: " + ctype
		}
		return "--b\r\n" + h + "\r\n\r\n" + string(photo) + "\r\n"
	}
	text := func(name, v string) string {
		return "--b\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + v + "\r\n"
	}
	field := jpegPart("assetData", `; filename="a.jpg"`, "image/jpeg")
	for _, tc := range []struct {
		name string
		body string
		// ok: the upload may succeed (then encrypted); otherwise 502.
		okBlock, okPass bool
	}{
		{"field only", text("deviceId", "x") + field, true, true},
		{"file part before", jpegPart("thumb", `; filename="t.jpg"`, "image/jpeg") + field, false, false},
		{"bare JPEG part before", jpegPart("thumb", "", "") + field, false, false},
		{"octet-stream JPEG before", jpegPart("blob", `; filename="x.bin"`, "application/octet-stream") + field, false, false},
		{"bare JPEG part after", field + jpegPart("thumb", "", ""), false, false},
		{"second field part", field + jpegPart("assetData", "", ""), false, false},
		{"no field, JPEG elsewhere", text("deviceId", "x") + jpegPart("file", `; filename="a.jpg"`, "image/jpeg"), false, false},
		{"padded delimiter", "--b \r\nContent-Disposition: form-data; name=\"assetData\"; filename=\"a.jpg\"\r\n\r\n" + string(photo) + "\r\n", true, true},
		{"sidecar before", "--b\r\nContent-Disposition: form-data; name=\"sidecar\"; filename=\"a.xmp\"\r\n\r\n<x:xmpmeta/>\r\n" + field, false, true},
	} {
		for _, pass := range []bool{false, true} {
			path, ok := "/form", tc.okBlock
			if pass {
				path, ok = "/form-pass", tc.okPass
			}
			t.Run(fmt.Sprintf("%s %s", tc.name, path), func(t *testing.T) {
				up.mu.Lock()
				up.bodies = nil
				up.mu.Unlock()
				req := proxytest.NewReq(t, "POST", "https://photos.test"+path, strings.NewReader(tc.body+"--b--\r\n"))
				req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
				resp, msg := proxytest.MustDo(t, p.Client, req)
				up.mu.Lock()
				defer up.mu.Unlock()
				for _, b := range up.bodies {
					if plaintextIn(b, photo) {
						t.Fatalf("%s %q: the photo reached the service unencrypted", resp.Status, msg)
					}
				}
				if ok && (resp.StatusCode != 200 || len(up.bodies) != 1) {
					t.Fatalf("%s %q, want the form encrypted and accepted", resp.Status, msg)
				}
				if !ok && resp.StatusCode != http.StatusBadGateway {
					t.Fatalf("%s %q, want 502", resp.Status, msg)
				}
			})
		}
	}
}

// TestCompressedUploadIsRefused: a compressed upload body is refused under
// on_unsupported pass too, raw or multipart: the proxy cannot see whether
// it holds a photo, and a service that decodes it, or ignores the header,
// stores the photo unencrypted.
func TestCompressedUploadIsRefused(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	svc := fakes.NewPhotos(t)
	up := &formUpstream{}
	svc.Srv.Config.Handler = up.handler(svc.Srv.Config.Handler)
	extra := formRules + "  - name: test-raw-pass\n    hosts: [photos.test]\n    methods: [POST]\n    paths: [/raw-pass]\n    body: raw\n    on_unsupported: pass\n"
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "")+extra, nil)
	form := "--b\r\nContent-Disposition: form-data; name=\"assetData\"; filename=\"a.jpg\"\r\n\r\n" + string(photo) + "\r\n--b--\r\n"
	for path, body := range map[string]string{"/form-pass": form, "/form": form, "/raw-pass": string(photo), "/upload": string(photo)} {
		req := proxytest.NewReq(t, "POST", "https://photos.test"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		req.Header.Set("Content-Encoding", "gzip") // a claim the service may ignore
		resp, msg := proxytest.MustDo(t, p.Client, req)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(msg), "compressed") {
			t.Errorf("%s: %s %q, want 502", path, resp.Status, msg)
		}
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	svc.Mu.Lock()
	defer svc.Mu.Unlock()
	if len(up.bodies) != 0 || svc.Received != 0 {
		t.Fatal("a compressed upload reached the service")
	}
}

// TestPassNeverSendsAJPEG: what on_unsupported pass sends on unchanged
// because the transform could not start on it (a body that is not the
// form the rule expects, an upload with trailers) still never carries a
// JPEG; a body without one goes through.
func TestPassNeverSendsAJPEG(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	svc := fakes.NewPhotos(t)
	up := &formUpstream{}
	svc.Srv.Config.Handler = up.handler(svc.Srv.Config.Handler)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "")+formRules, nil)
	form := "--b\r\nContent-Disposition: form-data; name=\"thumb\"; filename=\"a.jpg\"\r\n\r\n" + string(photo) + "\r\n--b--\r\n"
	for _, tc := range []struct {
		name, ctype, body string
		trailer           bool
		ok                bool
	}{
		{"a photo as the body of a form rule", "image/jpeg", string(photo), false, false},
		{"a photo in a form with trailers", "multipart/form-data; boundary=b", form, true, false},
		{"a photo after a large text body", "text/plain", strings.Repeat("x", 300<<10) + "\r\n\r\n" + string(photo), false, false},
		{"a form without the field or a photo", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"deviceId\"\r\n\r\nphone\r\n--b--\r\n", false, true},
	} {
		up.mu.Lock()
		up.bodies = nil
		up.mu.Unlock()
		req := proxytest.NewReq(t, "POST", "https://photos.test/form-pass", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ctype)
		if tc.trailer {
			req.ContentLength = -1
			req.Trailer = http.Header{"Content-Md5": nil}
		}
		resp, msg := proxytest.MustDo(t, p.Client, req)
		up.mu.Lock()
		for _, b := range up.bodies {
			if plaintextIn(b, photo) {
				t.Errorf("%s: %s %q: the photo reached the service unencrypted", tc.name, resp.Status, msg)
			}
		}
		up.mu.Unlock()
		if ok := resp.StatusCode != http.StatusBadGateway; ok != tc.ok {
			t.Errorf("%s: %s %q", tc.name, resp.Status, msg)
		}
	}
}
