//go:build interop

package proxy_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// procCPU returns the CPU time (user+system) used so far by process pid.
func procCPU(t testing.TB, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may contain spaces).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

func waitPort(t testing.TB, addr string) {
	for i := 0; i < 300; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// BenchmarkInteropProxy measures the CPU time per MB of the proxy process
// alone — jpegveil encrypting, jpegveil passing through, and mitmproxy's
// mitmdump forwarding without any JPEG work — for the same uploads of a
// 12-megapixel photo to the same fake service on loopback. It reports
// proxy-cpu-ms/MB; the goals are in the closing notes, not asserted.
func BenchmarkInteropProxy(b *testing.B) {
	photo := fakes.CorpusFile(b, "photos/phone-12mp-q92.jpg")
	svc := &fakes.Photos{Objects: map[string][]byte{}}
	svc.Srv, svc.CAFile = fakes.NewTLSServer(b, "localhost", http.HandlerFunc(svc.Handler))
	_, port, _ := net.SplitHostPort(svc.Srv.Listener.Addr().String())
	target := "https://localhost:" + port
	svc.Srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = strings.Replace(r.URL.Path, "/plain/", "/", 1)
		svc.Handler(w, r)
	})
	// Pass-through sends the photo's bytes without the JPEG signature: a
	// JPEG on a route no rule covers is refused, not passed.
	plain := append([]byte{0}, photo[1:]...)
	run := func(name, proxyAddr, caFile string, pid int, path string) {
		body := photo
		if strings.HasPrefix(path, "/plain/") {
			body = plain
		}
		b.Run(name, func(b *testing.B) {
			pem, _ := os.ReadFile(caFile)
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			client := directClientVia(proxyAddr, pool)
			b.SetBytes(int64(len(photo)))
			before := procCPU(b, pid)
			for range b.N {
				resp, err := client.Post(target+path, "image/jpeg", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatal(resp.Status)
				}
			}
			mb := float64(b.N*len(photo)) / 1e6
			b.ReportMetric(float64((procCPU(b, pid)-before).Milliseconds())/mb, "proxy-cpu-ms/MB")
		})
	}

	addr, state, pid := startJpegveil(b, svc.CAFile)
	run("jpegveil-encrypt", addr, filepath.Join(state, "ca.pem"), pid, "/upload")
	run("jpegveil-pass-through", addr, filepath.Join(state, "ca.pem"), pid, "/plain/upload")

	mitm, err := exec.LookPath("mitmdump")
	if err != nil {
		b.Log("mitmdump not installed: no mitmproxy reference")
		return
	}
	maddr := freePort(b)
	_, mport, _ := net.SplitHostPort(maddr)
	confdir := b.TempDir()
	md := exec.Command(mitm, "--listen-host", "127.0.0.1", "--listen-port", mport, "-q",
		"--set", "confdir="+confdir, "--set", "ssl_verify_upstream_trusted_ca="+svc.CAFile)
	if err := md.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { md.Process.Kill(); md.Wait() }()
	waitPort(b, maddr)
	run("mitmdump-forwarding", maddr, filepath.Join(confdir, "mitmproxy-ca-cert.pem"), md.Process.Pid, "/upload")
}

// startJpegveil builds and starts jpegveil as a process of its own, with
// one raw upload rule for localhost; it returns the address, state
// directory and process ID.
func startJpegveil(b *testing.B, caFile string) (addr, state string, pid int) {
	bin := filepath.Join(b.TempDir(), "jpegveil")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/jpegveil").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	addr = freePort(b)
	state = b.TempDir()
	conf := filepath.Join(b.TempDir(), "config.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`listen: %s
state_dir: %s
log: {level: warn}
upstream: {ca_files: [%s]}
rules:
  - name: bench-upload
    hosts: [localhost]
    methods: [POST]
    paths: [/upload]
    body: raw
`, addr, state, caFile)), 0o600)
	jv := exec.Command(bin, "serve", "--config", conf)
	jv.Stderr = os.Stderr
	if err := jv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { jv.Process.Kill(); jv.Wait() })
	waitPort(b, addr)
	return addr, state, jv.Process.Pid
}

func directClientVia(proxyAddr string, roots *x509.CertPool) *http.Client {
	u, _ := url.Parse("http://" + proxyAddr)
	tr := &http.Transport{Proxy: http.ProxyURL(u)}
	tr.TLSClientConfig = newTLSClientConfig(roots)
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

func newTLSClientConfig(roots *x509.CertPool) *tls.Config { return &tls.Config{RootCAs: roots} }
