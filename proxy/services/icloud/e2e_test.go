package icloud_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// icloudRules are the iCloud presets of config.example.yaml.
const icloudRules = `  - name: icloud-upload
    hosts: ["*.icloud-content.com"]
    methods: [POST]
    paths: ["/**"]
    body: raw
  - name: icloud-download
    hosts: ["*.icloud-content.com"]
    methods: [GET]
    paths: ["/**"]
    body: download
`

// TestICloudUploadAndRangeDownloads follows the iCloud web app: the upload
// is declared in CloudKit (JSON, not intercepted), the file goes raw to
// icloud-content.com, the record is saved with the receipt; then the file
// is downloaded as icloudpd does, whole and with Range at several offsets,
// by a client that accepts gzip.
func TestICloudUploadAndRangeDownloads(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/rocket-original.jpg")
	f := fakes.NewICloud(t)
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, fakes.ICloudHosts, icloudRules, ""), nil, f.CA)
	want := proxytest.EncryptedWith(t, p, photo)
	f.Guard.Add("photo", photo)

	post := func(u, ctype string, body []byte) []byte {
		t.Helper()
		req := proxytest.NewReq(t, "POST", u, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		resp, out := proxytest.MustDo(t, p.Client, req)
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %s %q", u, resp.Status, out)
		}
		return out
	}
	ck := "https://p42-ckdatabasews.icloud.com" + fakes.CKPrefix
	var declared struct {
		Tokens []struct{ URL string }
	}
	out := post(ck+"/assets/upload", "application/json", fmt.Appendf(nil,
		`{"zoneID":{"zoneName":"PrimarySync"},"tokens":[{"recordName":"r1","recordType":"CPLMaster","fieldName":"resOriginalRes","size":%d}]}`, len(photo)))
	if err := json.Unmarshal(out, &declared); err != nil || len(declared.Tokens) != 1 {
		t.Fatalf("declare: %q", out)
	}
	var single struct {
		SingleFile struct {
			Size    int
			Receipt string
		}
	}
	out = post(declared.Tokens[0].URL, "application/octet-stream", photo)
	if err := json.Unmarshal(out, &single); err != nil || single.SingleFile.Size != len(photo) {
		t.Fatalf("upload: %q", out)
	}
	proxytest.CheckStored(t, "iCloud upload", f.ReceivedFile(single.SingleFile.Receipt), photo, want)
	var saved struct {
		Records []struct {
			Fields struct {
				ResOriginalRes struct {
					Value struct{ DownloadURL string }
				}
			}
		}
	}
	out = post(ck+"/records/modify", "application/json", fmt.Appendf(nil,
		`{"operations":[{"operationType":"create","record":{"recordName":"r1","recordType":"CPLMaster","fields":{"resOriginalRes":{"value":{"receipt":%q}}}}}]}`, single.SingleFile.Receipt))
	if err := json.Unmarshal(out, &saved); err != nil || len(saved.Records) != 1 {
		t.Fatalf("modify: %q", out)
	}
	dl := strings.ReplaceAll(saved.Records[0].Fields.ResOriginalRes.Value.DownloadURL, "${f}", "IMG_0001.JPG")

	gzipOK := http.Header{"Accept-Encoding": {"gzip, deflate, br"}}
	req := proxytest.NewReq(t, "GET", dl, nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	resp, got := proxytest.MustDo(t, p.Client, req)
	if resp.StatusCode != 200 || !bytes.Equal(got, photo) {
		t.Fatalf("download through the proxy: %s, original: %v (Content-Encoding %q)", resp.Status, bytes.Equal(got, photo), resp.Header.Get("Content-Encoding"))
	}
	if resp.Header.Get("Accept-Ranges") != "bytes" || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("download headers: %v", resp.Header)
	}
	proxytest.CheckRanges(t, p.Client, dl, photo, gzipOK)
	for _, ae := range f.Encodings() {
		if ae != "identity" {
			t.Fatalf("the service was sent Accept-Encoding %q on a download route", ae)
		}
	}
	direct := proxytest.DirectClient(t, f.Srv.Listener.Addr().String(), f.CA)
	_, raw := proxytest.MustDo(t, direct, proxytest.NewReq(t, "GET", dl, nil))
	proxytest.CheckStored(t, "direct download", raw, photo, want)
}
