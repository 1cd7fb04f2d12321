//go:build interop

package proxy_test

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestInteropPeakRSS200Uploads measures the peak resident memory of the
// proxy process (VmHWM) while 200 clients upload a 12-megapixel photo at
// once, with and without a hash header (Content-MD5, which makes the proxy
// hold each body whole). A client answered 503 tries again after
// Retry-After, as the proxy asks; every upload must end stored encrypted.
// The goal is under 300 MB; the numbers are logged.
func TestInteropPeakRSS200Uploads(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	photo := fakes.CorpusFile(t, "photos/phone-12mp-q92.jpg")
	svc := &fakes.Photos{Objects: map[string][]byte{}}
	svc.Srv, svc.CAFile = fakes.NewTLSServer(t, "localhost", http.HandlerFunc(svc.Handler))
	_, port, _ := strings.Cut(svc.Srv.Listener.Addr().String(), ":")
	bin := filepath.Join(t.TempDir(), "jpegveil")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/jpegveil").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	const clients = 200
	for _, hashed := range []bool{false, true} {
		addr, state, pid := runProxyProcess(t, bin, svc.CAFile, svc.Srv.Listener.Addr().String())
		pem, _ := os.ReadFile(filepath.Join(state, "ca.pem"))
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		pu, _ := url.Parse("http://" + addr)
		tr := &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: newTLSClientConfig(pool), MaxIdleConnsPerHost: clients}
		client := &http.Client{Transport: tr, Timeout: 5 * time.Minute}
		var wg sync.WaitGroup
		var mu sync.Mutex
		busy, failed := 0, 0
		start := time.Now()
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for attempt := 0; ; attempt++ {
					req, _ := http.NewRequest("POST", "https://localhost:"+port+"/upload", bytes.NewReader(photo))
					if hashed {
						req.Header.Set("Content-MD5", proxytest.ContentMD5(photo))
					}
					resp, err := client.Do(req)
					if err != nil {
						mu.Lock()
						if failed++; failed <= 3 {
							t.Errorf("upload: %v", err)
						}
						mu.Unlock()
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusServiceUnavailable && attempt < 100 {
						secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
						if err != nil {
							t.Errorf("503 without Retry-After")
							return
						}
						mu.Lock()
						busy++
						mu.Unlock()
						time.Sleep(time.Duration(secs) * time.Second / 4) // not all at once
						continue
					}
					if resp.StatusCode != http.StatusOK {
						mu.Lock()
						if failed++; failed <= 3 {
							t.Errorf("upload: %s", resp.Status)
						}
						mu.Unlock()
					}
					return
				}
			}()
		}
		wg.Wait()
		tr.CloseIdleConnections()
		t.Logf("hash header %-5v: %d uploads of %.1f MB in %v, %d answered 503 and retried, %d failed; proxy peak RSS %d MB",
			hashed, clients, float64(len(photo))/1e6, time.Since(start).Round(time.Millisecond), busy, failed, peakRSS(t, pid)>>20)
	}
}

// runProxyProcess starts bin as a proxy with one raw upload rule for
// localhost, until the test ends; it returns the address, state directory
// and process ID.
func runProxyProcess(t *testing.T, bin, caFile, upstream string) (addr, state string, pid int) {
	addr, state = freePort(t), t.TempDir()
	_, port, _ := strings.Cut(upstream, ":")
	conf := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf("listen: %s\nstate_dir: %s\nlog: {level: error}\nupstream: {ca_files: [%s], resolve: {\"localhost:%s\": %q}}\n"+
		"rules:\n  - {name: upload, hosts: [localhost], methods: [POST], paths: [/upload], body: raw}\n", addr, state, caFile, port, upstream)), 0o600)
	cmd := exec.Command(bin, "serve", "--config", conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitPort(t, addr)
	return addr, state, cmd.Process.Pid
}

// peakRSS is the peak resident set size of process pid, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}
