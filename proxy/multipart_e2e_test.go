package proxy_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestMultipartSecondFileIsRefused: only the rule's field is encrypted, so a
// form carrying another file is refused rather than half encrypted.
func TestMultipartSecondFileIsRefused(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	svc := fakes.NewPhotos(t)
	inner := svc.Srv.Config.Handler
	var got [][]byte
	svc.Srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "")+extra, nil)
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
		req := proxytest.NewReq(t, "POST", "https://photos.test/form", body)
		req.Header.Set("Content-Type", ct)
		resp, msg := proxytest.MustDo(t, p.Client, req)
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
