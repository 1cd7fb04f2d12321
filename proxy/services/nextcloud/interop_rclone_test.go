//go:build interop

package nextcloud_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestInteropRclone copies photos to and from the fake Nextcloud through the
// proxy with rclone (the Debian package): its webdav backend with vendor
// nextcloud, as a user would run it with HTTPS_PROXY and jpegveil's CA.
// Run with `make interop`.
func TestInteropRclone(t *testing.T) {
	rclone, err := exec.LookPath("rclone")
	if err != nil {
		t.Skip("rclone is not installed (Debian: apt install rclone)")
	}
	f, p := startNextcloud(t)
	dir := t.TempDir()
	rc := rcloneRunner(t, rclone, dir, p)
	version, _ := exec.Command(rclone, "version").Output()
	flags, _ := exec.Command(rclone, "help", "flags").Output()
	canChunk := bytes.Contains(flags, []byte("webdav-nextcloud-chunk-size"))
	t.Logf("%s", bytes.SplitN(version, []byte("\n"), 2)[0])

	for _, tc := range []struct {
		name, file string
		chunked    bool
	}{
		{"small", "photos/retina-q92-optimized.jpg", false},
		{"large-one-put", "photos/phone-12mp-q92.jpg", false},
		{"large-chunked", "photos/phone-12mp-q92.jpg", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			photo := fakes.CorpusFile(t, tc.file)
			var extra []string
			if tc.chunked {
				if !canChunk {
					t.Skipf("this rclone (%s) has no --webdav-nextcloud-chunk-size: chunked uploads to Nextcloud came in a later release", bytes.TrimSpace(bytes.SplitN(version, []byte("\n"), 2)[0]))
				}
				extra = []string{"--webdav-nextcloud-chunk-size", "512Ki"}
			}
			want := proxytest.EncryptedWith(t, p, photo)
			f.Guard.Add(tc.name, photo)
			src := filepath.Join(dir, tc.name+".jpg")
			if err := os.WriteFile(src, photo, 0o644); err != nil {
				t.Fatal(err)
			}
			putsBefore := len(f.Puts())
			rc(append([]string{"copyto", src, ":webdav:Photos/" + tc.name + ".jpg"}, extra...)...)
			fl := f.File("alice/Photos/" + tc.name + ".jpg")
			if fl == nil {
				t.Fatal("rclone did not store the file")
			}
			proxytest.CheckStored(t, "rclone upload", fl.Data, photo, want)
			if chunks := len(f.Puts()) - putsBefore; tc.chunked && chunks < 2 {
				t.Fatalf("rclone sent %d chunks, want a chunked upload", chunks)
			}
			back := filepath.Join(dir, tc.name+"-back.jpg")
			rc("copyto", ":webdav:Photos/"+tc.name+".jpg", back)
			got, err := os.ReadFile(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, photo) {
				t.Fatal("the file rclone copied back is not the original")
			}
		})
	}
}

// rcloneRunner returns a function that runs rclone against the fake
// Nextcloud through the proxy p, with its configuration in dir, and fails
// the test when rclone does.
func rcloneRunner(t *testing.T, rclone, dir string, p *proxytest.Proxy) func(args ...string) string {
	bundle := filepath.Join(dir, "jpegveil-ca.pem")
	if err := os.WriteFile(bundle, p.CA.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "rclone.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"),
		"HTTPS_PROXY=" + p.URL.String(), "https_proxy=" + p.URL.String(), "NO_PROXY=", "no_proxy="}
	return func(args ...string) string {
		t.Helper()
		base := []string{"--config", conf, "--ca-cert", bundle,
			"--webdav-url", "https://cloud.test/remote.php/dav/files/alice", "--webdav-vendor", "nextcloud",
			// The server's checksum is the ciphertext's, the local file's
			// the plaintext's: rclone must not compare them.
			"--ignore-checksum",
			"--retries", "1", "--low-level-retries", "2", "-v"}
		cmd := exec.Command(rclone, append(base, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("rclone %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
}
