package main

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"jpegveil/config"
	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/keeping"
	"jpegveil/keystream"
)

// verifyRules are the Immich rules of config.example.yaml for immich.test,
// with the upload rule's on_reencode policy.
func verifyRules(onReencode string) string {
	return `  - name: immich-upload
    hosts: [immich.test]
    methods: [POST]
    paths: ["/api/assets"]
    body: multipart
    field: assetData
    on_reencode: ` + onReencode + `
  - name: immich-download
    hosts: [immich.test]
    methods: [GET]
    paths: ["/api/assets/*/original"]
    body: download
`
}

// immichUpload uploads photo through the proxy as the Immich web app does
// and returns the answer and its asset ID, or its body when it has none.
func immichUpload(t *testing.T, c *http.Client, photo []byte) (*http.Response, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, k := range []string{"deviceAssetId", "deviceId", "fileCreatedAt", "fileModifiedAt"} {
		w.WriteField(k, "2024-05-01T10:00:00.000Z")
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="assetData"; filename="IMG_0001.JPG"`)
	pw, _ := w.CreatePart(h)
	pw.Write(photo)
	w.Close()
	req := proxytest.NewReq(t, "POST", "https://immich.test/api/assets", &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("x-api-key", "test-key")
	resp, body := proxytest.MustDo(t, c, req)
	var answer struct{ ID string }
	json.Unmarshal(body, &answer)
	if answer.ID == "" {
		answer.ID = string(body)
	}
	return resp, answer.ID
}

// TestVerifyServices: verify tells an Immich server that keeps bytes, one
// that rewrites Exif and one that recompresses apart; the recompressing
// one gets its upload rule refused with the reason and the fix, unless the
// rule opts out, and a verify that finds photos kept lifts the refusal.
func TestVerifyServices(t *testing.T) {
	photos := [][]byte{fakes.CorpusFile(t, "photos/coffee-q80-420.jpg"), fakes.CorpusFile(t, "photos/astronaut-q85-progressive.jpg")}
	for _, tc := range []struct {
		keeping fakes.Keeping
		want    keeping.Verdict
	}{
		{fakes.KeepsBytes, keeping.KeptExactly},
		{fakes.RewritesExif, keeping.MetadataRewritten},
		{fakes.Recompresses, keeping.Reencoded},
	} {
		t.Run(tc.keeping.String(), func(t *testing.T) {
			f := fakes.NewImmich(t)
			f.Keeping = tc.keeping
			stateDir := t.TempDir()
			addr := f.Srv.Listener.Addr().String()
			p := proxytest.Start(t, proxytest.ServicesConfigYAML(stateDir, addr, f.CA, []string{"immich.test"}, verifyRules("refuse"), ""), nil)
			for _, photo := range photos {
				if resp, _ := immichUpload(t, p.Client, photo); resp.StatusCode != http.StatusCreated {
					t.Fatalf("upload: %s", resp.Status)
				}
			}
			target := verifyTarget{service: "immich", base: &url.URL{Scheme: "https", Host: "immich.test"},
				header: http.Header{"X-Api-Key": {"test-key"}}, client: proxytest.DirectClient(t, addr, f.CA)}
			cfg := &config.Config{StateDir: stateDir}
			a := checkVerifyReport(t, p, target, cfg, len(photos), tc.want)

			resp, refused := immichUpload(t, p.Client, fakes.CorpusFile(t, "photos/motorcycle-q80-restart8.jpg"))
			if !tc.want.Lost() {
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("an upload after a good verify: %s", resp.Status)
				}
				return
			}
			if resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("an upload to a service that re-encodes: %s", resp.Status)
			}
			for _, s := range []string{"immich at immich.test re-encodes", "cannot be decrypted", keeping.Fix("immich"), "on_reencode: allow", `"immich-upload"`} {
				if !strings.Contains(refused, s) {
					t.Errorf("the refusal lacks %q:\n%s", s, refused)
				}
			}
			checkRefusalLifted(t, p, f, a, cfg, target, photos[0])
		})
	}
}

// TestVerifyNextcloud: verify fetches Nextcloud files by the WebDAV path
// the ledger recorded.
func TestVerifyNextcloud(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	for _, tc := range []struct {
		keeping fakes.Keeping
		want    keeping.Verdict
	}{
		{fakes.KeepsBytes, keeping.KeptExactly},
		{fakes.Recompresses, keeping.Reencoded},
	} {
		f := fakes.NewNextcloud(t)
		f.Keeping = tc.keeping
		addr := f.Srv.Listener.Addr().String()
		rules := `  - name: nextcloud-upload
    hosts: [cloud.test]
    methods: [PUT]
    paths: ["/remote.php/dav/files/**"]
    body: raw
`
		p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), addr, f.CA, []string{"cloud.test"}, rules, ""), nil)
		for _, req := range []*http.Request{
			proxytest.NewReq(t, "MKCOL", "https://cloud.test/remote.php/dav/files/alice/Photos", http.NoBody),
			proxytest.NewReq(t, "PUT", "https://cloud.test/remote.php/dav/files/alice/Photos/Caf%C3%A9%20au%20lait.jpg", bytes.NewReader(photo)),
		} {
			if resp, msg := proxytest.MustDo(t, p.Client, req); resp.StatusCode != http.StatusCreated {
				t.Fatalf("%s: %s %q", req.Method, resp.Status, msg)
			}
		}
		ring, _ := keystream.NewKeyring(p.Key)
		target := verifyTarget{service: "nextcloud", base: &url.URL{Scheme: "https", Host: "cloud.test"}, client: proxytest.DirectClient(t, addr, f.CA)}
		rows, err := verifyPhotos(context.Background(), p.Ledger.(recordLister), ring, target, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].err != nil || rows[0].verdict != tc.want || rows[0].id != "/remote.php/dav/files/alice/Photos/Caf%C3%A9%20au%20lait.jpg" {
			t.Errorf("%s: %+v, want one row %v", tc.keeping, rows, tc.want)
		}
	}
}

// checkVerifyReport verifies the n photos uploaded through p, expects each
// to get the verdict want, and reports them as `jpegveil verify` does: an
// error exactly for a verdict that loses photos, and the verdict in the
// table. It returns the app that reported.
func checkVerifyReport(t *testing.T, p *proxytest.Proxy, target verifyTarget, cfg *config.Config, n int, want keeping.Verdict) *app {
	t.Helper()
	ring, err := keystream.NewKeyring(p.Key)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := verifyPhotos(context.Background(), p.Ledger.(recordLister), ring, target, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("%d photos checked, want %d", len(rows), n)
	}
	for _, r := range rows {
		if r.err != nil || r.verdict != want {
			t.Errorf("photo %s: %v %v, want %v", r.id, r.verdict, r.err, want)
		}
	}
	var out, errb strings.Builder
	a := &app{stdout: &out, stderr: &errb}
	if err := a.reportVerify(cfg, target, rows); (err != nil) != want.Lost() {
		t.Errorf("reportVerify: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), want.String()) {
		t.Errorf("the table does not say %q:\n%s", want, out.String())
	}
	return a
}

// checkRefusalLifted: after a verify that found the service re-encoding,
// the proxy's page says uploads are refused; a rule with on_reencode:
// allow uploads anyway; a later verify that finds photos kept lifts the
// refusal.
func checkRefusalLifted(t *testing.T, p *proxytest.Proxy, f *fakes.Immich, a *app, cfg *config.Config, target verifyTarget, photo []byte) {
	t.Helper()
	_, page := proxytest.MustDo(t, &http.Client{}, proxytest.NewReq(t, "GET", p.URL.String()+"/", nil))
	if !strings.Contains(string(page), "Uploads are refused to immich.test") {
		t.Error("the proxy's page does not say that uploads are refused")
	}
	// Opting out: the same state under a rule with on_reencode: allow.
	allow := proxytest.Start(t, proxytest.ServicesConfigYAML(cfg.StateDir+"-allow", f.Srv.Listener.Addr().String(), f.CA, []string{"immich.test"}, verifyRules("allow"), ""), nil)
	marks, err := keeping.LoadMarks(cfg.StateDir)
	if err != nil || len(marks) != 1 {
		t.Fatalf("marks: %v %v", marks, err)
	}
	if err := keeping.SaveMarks(cfg.StateDir+"-allow", marks); err != nil {
		t.Fatal(err)
	}
	if resp, _ := immichUpload(t, allow.Client, photo); resp.StatusCode/100 != 2 {
		t.Errorf("on_reencode: allow: upload %s", resp.Status)
	}
	// The service fixed: a verify that finds photos kept lifts it.
	f.Keeping = fakes.KeepsBytes
	if resp, _ := immichUpload(t, p.Client, photo); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("still refused before verify: %s", resp.Status)
	}
	kept := []verifyRow{{id: "x", verdict: keeping.KeptExactly}}
	if err := a.reportVerify(cfg, target, kept); err != nil {
		t.Fatal(err)
	}
	if resp, _ := immichUpload(t, p.Client, fakes.CorpusFile(t, "photos/chelsea-q90-422.jpg")); resp.StatusCode != http.StatusCreated {
		t.Errorf("after a good verify: upload %s", resp.Status)
	}
}
