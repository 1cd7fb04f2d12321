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
	"slices"
	"strings"
	"testing"
	"time"

	"jpegveil/certs"
	"jpegveil/proxy"
)

// chromium runs headless Chromium with args and returns its standard
// output; env is added to the environment. Chromium resolves 127.0.0.1,
// and the names and addresses that maps ("MAP photos.test 127.0.0.1")
// lead to 127.0.0.1; every other name or address, IP literals included,
// fails to resolve, so it sends nothing beyond loopback, not even a DNS
// query.
func chromium(t *testing.T, env, maps []string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (Debian: apt-get install chromium)")
	}
	for _, m := range maps {
		if !strings.HasPrefix(m, "MAP ") || !strings.HasSuffix(m, " 127.0.0.1") {
			t.Fatalf("host rule %q does not lead to 127.0.0.1", m)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(),
		"--host-resolver-rules=" + strings.Join(append(slices.Clone(maps), "EXCLUDE 127.0.0.1", "MAP * ~NOTFOUND"), ", ")}
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
// The proxy has a wildcard listen address on a machine whose network
// address is 192.0.2.10 (docMachine) but listens on 127.0.0.1 only; the
// phone's Chromium opens the page at 192.0.2.10, as after scanning the QR
// code, and the PAC file names that address, which Chromium resolves to
// 127.0.0.1.
func TestInteropOnboardingPageInChromium(t *testing.T) {
	dir := t.TempDir()
	auth, _, err := certs.EnsureAuthorities(dir, certs.Want{Domains: []string{"photos.test"}}, certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if auth, _, err = auth.Add("immich.test"); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`listen: 127.0.0.1:0
state_dir: %s
rules:
  - name: photos
    hosts: [photos.test]
    body: download
  - name: immich
    hosts: [immich.test]
    body: download
`, dir)
	port := startWildcard(t, yaml, proxy.Deps{Authorities: auth, CA: auth.Newest().CA})
	pageURL := "http://192.0.2.10:" + port + "/" // what the page advertises
	local := "http://127.0.0.1:" + port + "/"
	lan := []string{"MAP 192.0.2.10 127.0.0.1"}

	shots := filepath.Join(os.TempDir(), "jpegveil-onboarding")
	os.MkdirAll(shots, 0o755)
	phone, desktop := filepath.Join(shots, "phone-390.png"), filepath.Join(shots, "desktop-1280.png")
	home := nssHome(t, auth.Generations()[0].CertPath)
	withProxy := []string{"--proxy-pac-url=" + pageURL + "proxy.pac", "--virtual-time-budget=10000"}
	chromium(t, []string{"HOME=" + home}, lan, append(withProxy, "--window-size=390,5600", "--screenshot="+phone, pageURL)...)
	chromium(t, nil, nil, "--window-size=1280,3200", "--screenshot="+desktop, local)
	t.Logf("screenshots: %s, %s", phone, desktop)

	img := readPNG(t, phone)
	if got := decodeQRImage(t, img); got != pageURL {
		t.Fatalf("the QR code on the phone screenshot holds %q, want %q", got, pageURL)
	}
	resp, err := http.Get(local + "jpegveil-ca-2.cer")
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if cert, err := x509.ParseCertificate(der); err != nil || !cert.IsCA {
		t.Fatalf("the DER download does not parse as a CA: %v", err)
	}
	dom := chromium(t, []string{"HOME=" + home}, lan, append(withProxy, "--dump-dom", pageURL)...)
	if !strings.Contains(dom, "<code>"+pageURL+"</code>") {
		t.Fatalf("the page does not advertise %s:\n%s", pageURL, dom)
	}
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
	maps := []string{"MAP direct.test 127.0.0.1"}
	flags := []string{"--proxy-pac-url=http://" + addr + "/proxy.pac", "--dump-dom"}
	if dom := chromium(t, nil, maps, append(flags, "http://photos.test/x")...); !strings.Contains(dom, "reached through jpegveil") {
		t.Fatalf("photos.test did not go through the proxy:\n%s", dom)
	}
	if dom := chromium(t, nil, maps, append(flags, "http://direct.test:"+directPort+"/y")...); !strings.Contains(dom, "reached directly") || directHits == 0 {
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
