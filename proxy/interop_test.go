//go:build interop

package proxy_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestInteropCurl uploads and downloads a photo with curl through the proxy,
// trusting jpegveil's CA with --cacert.
func TestInteropCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	photo := fakes.CorpusFile(t, "photos/chelsea-q90-422.jpg")
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	dir := t.TempDir()
	in, out, ca := filepath.Join(dir, "in.jpg"), filepath.Join(dir, "out.jpg"), filepath.Join(dir, "ca.pem")
	os.WriteFile(in, photo, 0o644)
	os.WriteFile(ca, p.CA.CertPEM(), 0o644)
	id, err := exec.Command(curl, "-sS", "--fail", "-x", p.URL.String(), "--cacert", ca,
		"-H", "Content-Type: image/jpeg", "--data-binary", "@"+in, "https://photos.test/upload").Output()
	if err != nil {
		t.Fatalf("curl upload: %v", err)
	}
	if stored := svc.Objects[string(id)]; len(stored) != len(photo) || bytes.Equal(stored, photo) {
		t.Fatal("curl upload was not stored encrypted at the same size")
	}
	if err := exec.Command(curl, "-sS", "--fail", "-x", p.URL.String(), "--cacert", ca, "-o", out, "https://photos.test/objects/"+string(id)).Run(); err != nil {
		t.Fatalf("curl download: %v", err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, photo) {
		t.Fatal("curl download through the proxy is not the original")
	}
}
