package proxy_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/proxy"
)

func upload(t *testing.T, c *http.Client, body []byte) (*http.Response, string) {
	t.Helper()
	resp, id := proxytest.MustDo(t, c, proxytest.NewReq(t, "POST", "https://photos.test/upload", bytes.NewReader(body)))
	return resp, string(id)
}

// TestUploadDownloadRoundTrip is the product in one test: an upload is
// stored encrypted with its size and Content-Length unchanged, a download
// through the proxy gives the original, a direct download the ciphertext.
func TestUploadDownloadRoundTrip(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	direct := proxytest.DirectClient(t, svc.Srv.Listener.Addr().String(), svc.CAFile)

	resp, id := upload(t, p.Client, photo)
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %s %s", resp.Status, id)
	}
	stored := svc.Objects[id]
	if len(stored) != len(photo) || bytes.Equal(stored, photo) {
		t.Fatalf("stored object: %d bytes, equal to the photo: %v", len(stored), bytes.Equal(stored, photo))
	}
	if svc.LastReq.ContentLength != int64(len(photo)) {
		t.Fatalf("service saw Content-Length %d, want %d", svc.LastReq.ContentLength, len(photo))
	}
	_, got := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", "https://photos.test/objects/"+id, nil))
	if !bytes.Equal(got, photo) {
		t.Fatal("download through the proxy is not the original photo")
	}
	_, raw := proxytest.MustDo(t, direct, proxytest.NewReq(t, "GET", "https://photos.test/objects/"+id, nil))
	if !bytes.Equal(raw, stored) {
		t.Fatal("direct download is not the stored ciphertext")
	}

	// A ciphertext uploaded again (say, after a direct download) is known
	// to the ledger and is not encrypted a second time.
	_, id2 := upload(t, p.Client, raw)
	if !bytes.Equal(svc.Objects[id2], raw) {
		t.Fatal("a re-uploaded ciphertext was transformed again")
	}
}

func TestChunkedUploadKeepsFraming(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/chelsea-q90-422.jpg")
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	req := proxytest.NewReq(t, "POST", "https://photos.test/upload", io.MultiReader(bytes.NewReader(photo))) // unknown length: chunked
	req.ContentLength = -1
	resp, id := proxytest.MustDo(t, p.Client, req)
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %s", resp.Status)
	}
	if te := svc.LastReq.TransferEncoding; len(te) != 1 || te[0] != "chunked" {
		t.Fatalf("service saw Transfer-Encoding %v, want chunked", te)
	}
	if stored := svc.Objects[string(id)]; len(stored) != len(photo) || bytes.Equal(stored, photo) {
		t.Fatal("chunked upload was not encrypted in place")
	}
}

func TestRefusesWhatItCannotEncrypt(t *testing.T) {
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), bytes.Repeat([]byte{7}, 5000)...)
	arith := fakes.CorpusFile(t, "photos/coffee-q85-arithmetic.jpg")
	for name, body := range map[string][]byte{"heic": heic, "arithmetic": arith} {
		t.Run(name, func(t *testing.T) {
			resp, msg := upload(t, p.Client, body)
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "jpegveil refused") {
				t.Fatalf("got %s %q, want 502 with a reason", resp.Status, msg)
			}
		})
	}
	if svc.Received != 0 {
		t.Fatalf("%d refused uploads reached the service", svc.Received)
	}
}

func TestPassPolicyForwardsUnchanged(t *testing.T) {
	svc := fakes.NewPhotos(t)
	yaml := strings.Replace(proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""),
		"    body: raw\n", "    body: raw\n    on_unsupported: pass\n", 1)
	p := proxytest.Start(t, yaml, nil)
	heic := append([]byte("\x00\x00\x00\x18ftypheic"), bytes.Repeat([]byte{7}, 5000)...)
	resp, id := upload(t, p.Client, heic)
	if resp.StatusCode != 200 || !bytes.Equal(svc.Objects[id], heic) {
		t.Fatalf("pass policy: %s, stored unchanged: %v", resp.Status, bytes.Equal(svc.Objects[id], heic))
	}
}

func TestServerMadeJPEGIsNotDecrypted(t *testing.T) {
	svc := fakes.NewPhotos(t)
	svc.Thumb = fakes.CorpusFile(t, "conformance/pillow-Tests-images-hopper.jpg")
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	_, got := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", "https://photos.test/thumb/1", nil))
	if !bytes.Equal(got, svc.Thumb) {
		t.Fatal("a JPEG the proxy never encrypted was changed on the way down")
	}
}

func TestRangeDownloads(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/hubble-q85-progressive.jpg")
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	_, id := upload(t, p.Client, photo)
	n := len(photo)
	for _, tc := range []struct {
		rng        string
		start, end int
	}{
		{"bytes=0-99", 0, 99},
		{"bytes=1000-", 1000, n - 1},
		{fmt.Sprintf("bytes=%d-%d", n/2, n/2+70000), n / 2, n/2 + 70000},
		{"bytes=-500", n - 500, n - 1},
		{fmt.Sprintf("bytes=%d-%d", n-10, n+100), n - 10, n - 1},
	} {
		req := proxytest.NewReq(t, "GET", "https://photos.test/objects/"+id, nil)
		req.Header.Set("Range", tc.rng)
		resp, got := proxytest.MustDo(t, p.Client, req)
		want := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, n)
		if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != want {
			t.Fatalf("%s: %s Content-Range %q, want 206 %q", tc.rng, resp.Status, resp.Header.Get("Content-Range"), want)
		}
		if !bytes.Equal(got, photo[tc.start:tc.end+1]) || resp.ContentLength != int64(len(got)) {
			t.Fatalf("%s: wrong slice (%d bytes, Content-Length %d)", tc.rng, len(got), resp.ContentLength)
		}
	}
}

func TestUnrelatedHostIsTunnelled(t *testing.T) {
	svc := fakes.NewPhotos(t)
	other, otherCA := fakes.NewTLSServer(t, "other.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	yaml := proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "")
	yaml = strings.Replace(yaml, `resolve: {`, `resolve: {"other.test:443": "`+other.Listener.Addr().String()+`", `, 1)
	p := proxytest.Start(t, yaml, nil, otherCA)
	resp, body := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", "https://other.test/", nil))
	if string(body) != "hello" {
		t.Fatalf("got %q", body)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if err := leaf.CheckSignatureFrom(p.CA.Certificate()); err == nil {
		t.Fatalf("an unrelated host was intercepted (issuer %q)", leaf.Issuer.CommonName)
	}
	if !bytes.Equal(leaf.Raw, other.TLS.Certificates[0].Leaf.Raw) {
		t.Fatal("the client did not see the server's own certificate")
	}
}

func TestWrongUpstreamCertificateIsRefused(t *testing.T) {
	svc := fakes.NewPhotos(t)
	// The proxy is not told the service's CA.
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), nil, ""), nil)
	resp, err := p.Client.Post("https://photos.test/upload", "image/jpeg", bytes.NewReader(fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 500 {
			t.Fatalf("upload over an unverified upstream connection succeeded: %s", resp.Status)
		}
	}
	if svc.Received != 0 {
		t.Fatal("the service received an upload over an unverified connection")
	}
}

func TestOnboardingPage(t *testing.T) {
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	plain := &http.Client{}
	resp, page := proxytest.MustDo(t, plain, proxytest.NewReq(t, "GET", p.URL.String()+"/", nil))
	if resp.StatusCode != 200 || !strings.Contains(string(page), p.Key.ID()) || !strings.Contains(string(page), p.CA.Fingerprint()) {
		t.Fatalf("onboarding page: %s, missing key ID or fingerprint", resp.Status)
	}
	_, der := proxytest.MustDo(t, plain, proxytest.NewReq(t, "GET", p.URL.String()+"/jpegveil-ca-1.cer", nil))
	if !bytes.Equal(der, p.CA.CertDER()) {
		t.Fatal("DER download is not the CA")
	}
	// update-ca-certificates only reads PEM files named *.crt.
	_, crt := proxytest.MustDo(t, plain, proxytest.NewReq(t, "GET", p.URL.String()+"/jpegveil-ca-1.crt", nil))
	if !bytes.Equal(crt, p.CA.CertPEM()) {
		t.Fatal("the .crt download is not the CA in PEM")
	}
	// Through the proxy, as a phone would open it.
	_, viaProxy := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", "http://jpegveil/jpegveil-ca.pem", nil))
	if !bytes.Equal(viaProxy, p.CA.CertPEM()) {
		t.Fatal("http://jpegveil/ does not serve the CA")
	}
}

// TestOnboardingPageSaysNoBackup: until a backup of the key is made, the
// page says so, once, and then no more.
func TestOnboardingPageSaysNoBackup(t *testing.T) {
	svc := fakes.NewPhotos(t)
	var backedUp atomic.Bool
	p := proxytest.StartWith(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), proxytest.Options{
		EditDeps: func(d *proxy.Deps) {
			d.BackupMissing = func() []string {
				if backedUp.Load() {
					return nil
				}
				return []string{"0123456789abcdef"}
			}
		},
	})
	const notice = "No backup of your key has been made yet"
	_, page := proxytest.MustDo(t, &http.Client{}, proxytest.NewReq(t, "GET", p.URL.String()+"/", nil))
	if strings.Count(string(page), notice) != 1 || !strings.Contains(string(page), "jpegveil key backup") {
		t.Fatalf("the page does not say once that no backup was made:\n%s", page)
	}
	backedUp.Store(true)
	_, page = proxytest.MustDo(t, &http.Client{}, proxytest.NewReq(t, "GET", p.URL.String()+"/", nil))
	if strings.Contains(string(page), notice) || strings.Contains(string(page), "jpegveil-status") {
		t.Fatal("the page still says no backup was made, or shows its placeholder")
	}
}
