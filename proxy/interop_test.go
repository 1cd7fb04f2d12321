//go:build interop

package proxy_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

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

// TestInteropOnboardingInChromium loads the onboarding page in headless
// Chromium and checks the screenshot, and that the CA it offers parses.
func TestInteropOnboardingInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	shot := filepath.Join(os.TempDir(), "jpegveil-onboarding.png")
	os.Remove(shot)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--window-size=900,1600", "--screenshot="+shot, p.URL.String()+"/")
	if outb, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, outb)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	colors := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	if len(colors) < 10 {
		t.Fatalf("the screenshot is nearly blank (%d colours)", len(colors))
	}
	t.Logf("onboarding screenshot: %s (%dx%d, %d colours)", shot, b.Dx(), b.Dy(), len(colors))
	resp, err := http.Get(p.URL.String() + "/jpegveil-ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var der bytes.Buffer
	der.ReadFrom(resp.Body)
	cert, err := x509.ParseCertificate(der.Bytes())
	if err != nil || !cert.IsCA {
		t.Fatalf("downloaded CA does not parse as a CA: %v", err)
	}
}
