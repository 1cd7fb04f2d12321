package immich_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// immichRules are the Immich presets of config.example.yaml for the host
// immich.test, with the thumbnail route added to the download rule: the
// server makes thumbnails from the ciphertext, and the ledger must let
// them pass unchanged even on a download route.
const immichRules = `  - name: immich-upload
    hosts: [immich.test]
    methods: [POST]
    paths: ["/api/assets"]
    body: multipart
    field: assetData
  - name: immich-download
    hosts: [immich.test]
    methods: [GET]
    paths: ["/api/assets/*/original", "/api/assets/*/thumbnail"]
    body: download
`

// immichForm builds the multipart body the Immich apps send; after puts a
// field after the file.
func immichForm(t *testing.T, photo []byte, after bool) ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, kv := range [][2]string{
		{"deviceAssetId", "IMG_0001.JPG-1700000000000"},
		{"deviceId", "WEB"},
		{"fileCreatedAt", "2024-05-01T10:00:00.000Z"},
		{"fileModifiedAt", "2024-05-01T10:00:00.000Z"},
		{"isFavorite", "false"},
	} {
		w.WriteField(kv[0], kv[1])
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="assetData"; filename="IMG_0001.JPG"`)
	h.Set("Content-Type", "image/jpeg")
	pw, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(photo)
	if after {
		w.WriteField("duration", "0:00:00.000000")
	}
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

func immichUpload(t *testing.T, c *http.Client, photo []byte, checksum string, withMD5, after bool) (int, string, string) {
	t.Helper()
	body, ctype := immichForm(t, photo, after)
	req := proxytest.NewReq(t, "POST", "https://immich.test/api/assets", bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("x-api-key", "test-key")
	if checksum != "" {
		req.Header.Set("x-immich-checksum", checksum)
	}
	if withMD5 {
		req.Header.Set("Content-MD5", proxytest.ContentMD5(body))
	}
	resp, out := proxytest.MustDo(t, c, req)
	var res struct{ ID, Status string }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("upload: %s %q", resp.Status, out)
	}
	return resp.StatusCode, res.ID, res.Status
}

// TestImmichUploadAndDownload uploads two photos as the Immich web and
// mobile apps do (checksum in hex and in base64, a Content-MD5 of the
// whole form, a field after the file), re-uploads one (the server finds
// the duplicate, because encryption is deterministic), and reads them back.
func TestImmichUploadAndDownload(t *testing.T) {
	t.Parallel()
	photoA := fakes.CorpusFile(t, "photos/astronaut-q85-progressive.jpg")
	photoB := fakes.CorpusFile(t, "photos/motorcycle-q80-restart8.jpg")
	f := fakes.NewImmich(t)
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"immich.test"}, immichRules, ""), nil)
	wantA, wantB := proxytest.EncryptedWith(t, p, photoA), proxytest.EncryptedWith(t, p, photoB)
	f.Guard.Add("photo A", photoA)
	f.Guard.Add("photo B", photoB)

	sumA, sumB := sha1.Sum(photoA), sha1.Sum(photoB)
	code, idA, status := immichUpload(t, p.Client, photoA, hex.EncodeToString(sumA[:]), true, true)
	if code != http.StatusCreated || status != "created" {
		t.Fatalf("upload A: %d %s", code, status)
	}
	code, idB, status := immichUpload(t, p.Client, photoB, base64.StdEncoding.EncodeToString(sumB[:]), false, false)
	if code != http.StatusCreated || status != "created" {
		t.Fatalf("upload B: %d %s", code, status)
	}
	storedA, hdrA := f.Asset(idA)
	storedB, hdrB := f.Asset(idB)
	proxytest.CheckStored(t, "asset A", storedA, photoA, wantA)
	proxytest.CheckStored(t, "asset B", storedB, photoB, wantB)
	cA, cB := sha1.Sum(wantA), sha1.Sum(wantB)
	if hdrA != hex.EncodeToString(cA[:]) || hdrB != base64.StdEncoding.EncodeToString(cB[:]) {
		t.Fatalf("x-immich-checksum as received: %q, %q; want the ciphertexts' SHA-1 in the clients' encodings", hdrA, hdrB)
	}
	code, idA2, status := immichUpload(t, p.Client, photoA, hex.EncodeToString(sumA[:]), false, false)
	if code != http.StatusOK || status != "duplicate" || idA2 != idA {
		t.Fatalf("re-upload of A: %d %s %s, want the duplicate %s", code, status, idA2, idA)
	}

	get := func(c *http.Client, path string, hdr http.Header) (*http.Response, []byte) {
		req := proxytest.NewReq(t, "GET", "https://immich.test"+path, nil)
		req.Header.Set("x-api-key", "test-key")
		for k, v := range hdr {
			req.Header[k] = v
		}
		return proxytest.MustDo(t, c, req)
	}
	key := http.Header{"X-Api-Key": {"test-key"}, "Accept-Encoding": {"gzip, deflate, br"}}
	for id, photo := range map[string][]byte{idA: photoA, idB: photoB} {
		resp, got := get(p.Client, "/api/assets/"+id+"/original", key)
		if resp.StatusCode != 200 || !bytes.Equal(got, photo) {
			t.Fatalf("original through the proxy: %s, equal: %v", resp.Status, bytes.Equal(got, photo))
		}
		proxytest.CheckRanges(t, p.Client, "https://immich.test/api/assets/"+id+"/original", photo, key)
	}
	for _, ae := range f.Encodings() {
		if ae != "identity" {
			t.Fatalf("the server was sent Accept-Encoding %q on a download route", ae)
		}
	}
	direct := proxytest.DirectClient(t, f.Srv.Listener.Addr().String(), f.CA)
	_, raw := get(direct, "/api/assets/"+idA+"/original", nil)
	proxytest.CheckStored(t, "direct download", raw, photoA, wantA)
	_, thumbProxy := get(p.Client, "/api/assets/"+idA+"/thumbnail", nil)
	_, thumbDirect := get(direct, "/api/assets/"+idA+"/thumbnail", nil)
	if len(thumbDirect) == 0 || !bytes.Equal(thumbProxy, thumbDirect) {
		t.Fatal("a server-made thumbnail was changed by the proxy")
	}
}
