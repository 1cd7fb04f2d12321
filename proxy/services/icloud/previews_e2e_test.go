package icloud_test

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// icloudPreviewRules are the iCloud presets with previews: the download
// rule names its service, and an api rule reads CloudKit's listings.
const icloudPreviewRules = `  - name: icloud-upload
    hosts: ["*.icloud-content.com"]
    methods: [POST]
    paths: ["/**"]
    body: raw
  - name: icloud-download
    hosts: ["*.icloud-content.com"]
    methods: [GET]
    paths: ["/**"]
    body: download
    service: icloud
  - name: icloud-api
    hosts: ["*.icloud.com"]
    methods: [POST]
    paths: ["/database/1/com.apple.photos.cloud/production/private/records/query"]
    body: api
    service: icloud
`

// icloudSave uploads photo as the web app does, with client c, and
// returns nothing: the record is listed by records/query.
func icloudSave(t *testing.T, c *http.Client, photo []byte) {
	t.Helper()
	post := func(u string, body []byte) []byte {
		req := proxytest.NewReq(t, "POST", u, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, out := proxytest.MustDo(t, c, req)
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %s %q", u, resp.Status, out)
		}
		return out
	}
	ck := "https://p42-ckdatabasews.icloud.com" + fakes.CKPrefix
	var declared struct{ Tokens []struct{ URL string } }
	json.Unmarshal(post(ck+"/assets/upload", fmt.Appendf(nil, `{"tokens":[{"recordName":"r","fieldName":"resOriginalRes","size":%d}]}`, len(photo))), &declared)
	var single struct{ SingleFile struct{ Receipt string } }
	json.Unmarshal(post(declared.Tokens[0].URL, photo), &single)
	post(ck+"/records/modify", fmt.Appendf(nil, `{"operations":[{"record":{"recordName":"r","fields":{"resOriginalRes":{"value":{"receipt":%q}}}}}]}`, single.SingleFile.Receipt))
}

// TestICloudDerivatives: once the proxy has seen CloudKit list a photo it
// uploaded, the derivatives Apple made from the ciphertext come back as
// renditions of the photo; a stranger's pass, and so does one whose
// original fails (logged).
func TestICloudDerivatives(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/retina-q92-optimized.jpg")
	stranger := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	f := fakes.NewICloud(t)
	core, logs := observer.New(zap.InfoLevel)
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, fakes.ICloudHosts, icloudPreviewRules, ""), zap.New(core), f.CA)
	direct := proxytest.DirectClient(t, f.Srv.Listener.Addr().String(), f.CA)
	icloudSave(t, p.Client, photo)
	icloudSave(t, direct, stranger)

	req := proxytest.NewReq(t, "POST", "https://p42-ckdatabasews.icloud.com"+fakes.CKPrefix+"/records/query", strings.NewReader(`{"query":{"recordType":"CPLAssetAndMasterByAddedDate"}}`))
	req.Header.Set("Content-Type", "application/json")
	_, listing := proxytest.MustDo(t, p.Client, req)
	type res struct{ Value struct{ DownloadURL string } }
	type size struct{ Value int }
	var q struct {
		Records []struct {
			Fields struct {
				ResJPEGThumbRes, ResJPEGMedRes        res
				ResJPEGThumbWidth, ResJPEGThumbHeight size
				ResJPEGMedWidth, ResJPEGMedHeight     size
			}
		}
	}
	if err := json.Unmarshal(listing, &q); err != nil || len(q.Records) != 2 {
		t.Fatalf("records/query: %v %s", err, listing)
	}
	img, _ := preview.Decode(photo)
	mine := q.Records[0].Fields
	theirs := strings.ReplaceAll(q.Records[1].Fields.ResJPEGThumbRes.Value.DownloadURL, "${f}", "x.jpg")
	_, viaProxy := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", theirs, nil))
	_, straight := proxytest.MustDo(t, direct, proxytest.NewReq(t, "GET", theirs, nil))
	if len(straight) == 0 || !bytes.Equal(viaProxy, straight) {
		t.Fatal("a stranger's derivative was changed")
	}
	thumb := strings.ReplaceAll(mine.ResJPEGThumbRes.Value.DownloadURL, "${f}", "IMG_0001.JPG")
	resp, body := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", thumb, nil))
	got, err := preview.Decode(body)
	if resp.StatusCode != 200 || err != nil || resp.Header.Get("X-Jpegveil-Preview") != "rendered" {
		t.Fatalf("%s: %s %v", thumb, resp.Status, err)
	}
	want := preview.Scale(img, preview.Spec{Width: mine.ResJPEGThumbWidth.Value, Height: mine.ResJPEGThumbHeight.Value})
	psnr, err := imagemetrics.PSNRRGB(imagemetrics.FromImage(want), imagemetrics.FromImage(got))
	t.Logf("thumbnail %v: PSNR %.1f dB", got.Bounds().Size(), psnr)
	if err != nil || psnr < 30 {
		t.Errorf("PSNR %.1f dB (%v), want >= 30", psnr, err)
	}
	// Another file name is the same derivative, from the cache.
	if resp, _ := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", strings.ReplaceAll(thumb, "IMG_0001.JPG", "b.jpg"), nil)); resp.Header.Get("X-Jpegveil-Preview") != "rendered" {
		t.Fatal("the same derivative under another file name was not rendered")
	}
	f.Mu.Lock()
	f.FailOriginals = true
	f.Mu.Unlock()
	med := strings.ReplaceAll(mine.ResJPEGMedRes.Value.DownloadURL, "${f}", "IMG_0001.JPG")
	_, viaProxy = proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", med, nil))
	_, straight = proxytest.MustDo(t, direct, proxytest.NewReq(t, "GET", med, nil))
	if len(straight) == 0 || !bytes.Equal(viaProxy, straight) {
		t.Fatal("with the original failing, Apple's derivative did not pass")
	}
	if n := logs.FilterField(zap.String("outcome", "preview-fallback")).Len(); n != 1 {
		t.Fatalf("%d preview-fallback log lines, want 1", n)
	}
}
