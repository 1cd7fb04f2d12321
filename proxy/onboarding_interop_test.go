//go:build interop

package proxy_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jpegveil/certs"
	"jpegveil/proxy"
)

// chromium runs headless Chromium with args and returns its standard
// output; env is added to the environment.
func chromium(t *testing.T, env []string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (Debian: apt-get install chromium)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(flags, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// nssHome returns a home directory whose NSS store (what Chromium on
// Linux trusts) holds pemFile, set up with certutil as the page says.
func nssHome(t *testing.T, pemFile string) string {
	t.Helper()
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		t.Skip("certutil not installed (Debian: libnss3-tools)")
	}
	home := t.TempDir()
	db := "sql:" + filepath.Join(home, ".pki", "nssdb")
	os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700)
	for _, args := range [][]string{{"-N", "-d", db, "--empty-password"}, {"-d", db, "-A", "-t", "C,,", "-n", "jpegveil-ca-1", "-i", pemFile}} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	return home
}

// TestInteropOnboardingPageInChromium screenshots the set-up page at phone
// and desktop width (kept in the temporary directory for a look), decodes
// the QR code from the phone screenshot, and checks the certificate probe
// in a Chromium that trusts generation 1 through NSS and uses the PAC file.
func TestInteropOnboardingPageInChromium(t *testing.T) {
	addrs, _ := proxy.ReachableAddrs(&net.TCPAddr{IP: net.IPv6unspecified, Port: 1})
	if len(addrs) == 0 {
		t.Skip("this machine has no network address besides loopback")
	}
	lan, _, _ := net.SplitHostPort(addrs[0])
	dir := t.TempDir()
	auth, _, err := certs.EnsureAuthorities(dir, certs.Want{Domains: []string{"photos.test"}}, certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if auth, _, err = auth.Add("immich.test"); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`listen: 0.0.0.0:0
state_dir: %s
clients: {allow: [127.0.0.0/8, %q]}
rules:
  - name: photos
    hosts: [photos.test]
    body: download
  - name: immich
    hosts: [immich.test]
    body: download
`, dir, lan)
	addr, _ := startWithDeps(t, yaml, proxy.Deps{Authorities: auth, CA: auth.Newest().CA}, "0.0.0.0:0")
	_, port, _ := net.SplitHostPort(addr)
	pageURL := "http://" + net.JoinHostPort(lan, port) + "/"

	shots := filepath.Join(os.TempDir(), "jpegveil-onboarding")
	os.MkdirAll(shots, 0o755)
	phone, desktop := filepath.Join(shots, "phone-390.png"), filepath.Join(shots, "desktop-1280.png")
	home := nssHome(t, auth.Generations()[0].CertPath)
	withProxy := []string{"--proxy-pac-url=" + pageURL + "proxy.pac", "--virtual-time-budget=10000"}
	chromium(t, []string{"HOME=" + home}, append(withProxy, "--window-size=390,5600", "--screenshot="+phone, pageURL)...)
	chromium(t, nil, "--window-size=1280,3200", "--screenshot="+desktop, pageURL)
	t.Logf("screenshots: %s, %s", phone, desktop)

	img := readPNG(t, phone)
	if got := decodeQRImage(t, img); got != pageURL {
		t.Fatalf("the QR code on the phone screenshot holds %q, want %q", got, pageURL)
	}
	resp, err := http.Get(pageURL + "jpegveil-ca-2.cer")
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if cert, err := x509.ParseCertificate(der); err != nil || !cert.IsCA {
		t.Fatalf("the DER download does not parse as a CA: %v", err)
	}
	dom := chromium(t, []string{"HOME=" + home}, append(withProxy, "--dump-dom", pageURL)...)
	gen1 := strings.Index(dom, "CA generation 1:")
	gen2 := strings.Index(dom, "CA generation 2:")
	if gen1 < 0 || gen2 < 0 {
		t.Fatalf("no probe lines on the page:\n%s", dom)
	}
	if !strings.Contains(dom[gen1:gen2], "✓ trusted by this device") || !strings.Contains(dom[gen2:], "✗ not trusted yet") {
		t.Fatalf("probe results wrong (generation 1 is trusted through NSS, 2 is not):\n%s", dom[gen1:min(len(dom), gen2+400)])
	}
}

// TestInteropPACInChromium has Chromium evaluate the proxy's PAC file:
// a rule host goes through the proxy, another host goes direct.
func TestInteropPACInChromium(t *testing.T) {
	viaProxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<p>reached through jpegveil</p>")
	}))
	defer viaProxy.Close()
	directHits := 0
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		directHits++
		fmt.Fprint(w, "<p>reached directly</p>")
	}))
	defer direct.Close()
	dir := t.TempDir()
	auth, _, err := certs.EnsureAuthorities(dir, certs.Want{Domains: []string{"photos.test"}}, certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The proxy can reach photos.test only; direct.test through the proxy
	// would hit a closed port.
	yaml := fmt.Sprintf(`listen: 127.0.0.1:0
state_dir: %s
upstream:
  resolve: {"photos.test:80": %q, "direct.test:80": "127.0.0.1:1"}
rules:
  - name: photos
    hosts: [photos.test]
    body: download
`, dir, viaProxy.Listener.Addr().String())
	addr, _ := startWithDeps(t, yaml, proxy.Deps{Authorities: auth, CA: auth.Newest().CA}, "127.0.0.1:0")
	_, directPort, _ := net.SplitHostPort(direct.Listener.Addr().String())
	// Chromium itself can resolve direct.test only, and only to the direct
	// server: photos.test loads only through the proxy.
	flags := []string{"--proxy-pac-url=http://" + addr + "/proxy.pac",
		"--host-resolver-rules=MAP direct.test 127.0.0.1, EXCLUDE 127.0.0.1, MAP * ~NOTFOUND", "--dump-dom"}
	if dom := chromium(t, nil, append(flags, "http://photos.test/x")...); !strings.Contains(dom, "reached through jpegveil") {
		t.Fatalf("photos.test did not go through the proxy:\n%s", dom)
	}
	if dom := chromium(t, nil, append(flags, "http://direct.test:"+directPort+"/y")...); !strings.Contains(dom, "reached directly") || directHits == 0 {
		t.Fatalf("direct.test did not go direct:\n%s", dom)
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
