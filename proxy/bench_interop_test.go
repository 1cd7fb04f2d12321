//go:build interop

package proxy_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"jpegveil/internal/fakes"
)

// BenchmarkInteropProxyTable prints one table comparing jpegveil, as a
// process of its own, with mitmproxy's mitmdump and with no proxy at all,
// for uploads and downloads of a 12-megapixel photo to a fake service on
// loopback: MB/s with 1 and with 8 clients, the proxy process's CPU time
// per MB, its peak RSS, the CPU ratio to jpegveil encrypting and the
// latency one request gains against direct. Every figure is the median of
// BENCH_ROUNDS rounds (default 5); "spread" is (max-min)/median of the CPU
// figures, a measure of how noisy the machine was. Each system runs in a
// fresh process per row, so that its peak RSS is that row's. A last line
// gives jpegveil's peak RSS for 100 concurrent uploads. Targets are in the
// project notes, not asserted. Run with -benchtime 1x; BENCH_ROWS, a
// regular expression, selects rows by name; BENCH_JPEGVEIL names a jpegveil
// binary to measure instead of this tree's.
func BenchmarkInteropProxyTable(b *testing.B) {
	tb := newTableBench(b)
	load0 := loadAvg()
	var rows []benchRow
	add := func(r benchRow) {
		if r.name != "" {
			rows = append(rows, r)
		}
	}
	direct := func(name string, w workload) benchRow {
		if !tb.runs(name) {
			return benchRow{}
		}
		return tb.measure(name, w, proxyProc{})
	}
	jv := func(name string, w workload) benchRow {
		if !tb.runs(name) {
			return benchRow{}
		}
		p := tb.startJpegveil()
		defer p.stop()
		return tb.measure(name, w, p)
	}
	up, down := tb.uploadOf(tb.photo), tb.downloadOf(tb.cipherID)
	add(direct("direct upload", up))
	add(direct("direct download", down))
	add(jv("jpegveil encrypting upload", up))
	add(jv("jpegveil decrypting download", down))
	add(jv("jpegveil passing re-upload", tb.uploadOf(tb.svc.Objects[tb.cipherID])))
	add(jv("jpegveil passing download", tb.downloadOf(tb.plainID)))
	// Forwarding: the intercepted host, a path no rule matches. A JPEG
	// posted there is refused, so the upload is the photo with its first
	// byte changed: no longer a JPEG, forwarded as it is.
	notJPEG := append([]byte{'X'}, tb.photo[1:]...)
	add(jv("jpegveil forwarding upload", workload{url: tb.target + "/plain/upload", body: notJPEG}))
	add(jv("jpegveil forwarding download", workload{url: tb.target + "/plain/objects/" + tb.cipherID}))
	add(jv("jpegveil tunnelling upload", workload{url: tb.tunnel + "/upload", body: tb.photo}))
	add(jv("jpegveil tunnelling download", workload{url: tb.tunnel + "/objects/" + tb.cipherID}))
	for _, m := range []struct {
		name  string
		addon bool
	}{{"mitmdump forwarding", false}, {"mitmdump + Python scan", true}} {
		for _, w := range []struct {
			dir string
			w   workload
		}{{"upload", up}, {"download", down}} {
			name := m.name + " " + w.dir
			if !tb.runs(name) {
				continue
			}
			p, err := tb.startMitmdump(m.addon)
			if err != nil {
				add(benchRow{name: name, note: err.Error()})
				continue
			}
			add(tb.measure(name, w.w, p))
			p.stop()
		}
	}
	conc := -1.0
	if tb.runs("jpegveil 100 concurrent uploads") {
		conc = tb.concurrentUploads(100)
	}
	tb.print(rows, conc, load0, loadAvg())
}

// workload is one kind of request: a POST of body, or a GET when body is
// nil.
type workload struct {
	url  string
	body []byte
}

// proxyProc is a proxy process under test; the zero value is no proxy.
type proxyProc struct {
	addr  string
	pid   int
	roots *x509.CertPool
	stop  func()
}

type benchRow struct {
	name                  string
	mbps1, mbps8          float64
	cpuPerMB, spread, rss float64 // -1: not measured
	latency               float64 // ms, median of 1-client requests
	upload                bool
	note                  string
}

type tableBench struct {
	b                 *testing.B
	photo             []byte
	svc               *fakes.Photos
	svcCA             string
	target, tunnel    string // the fake, intercepted and tunnelled
	bin, state, conf  string // jpegveil's binary, state directory and config (listen: %s)
	mitmConf, addon   string
	rounds            int
	only              *regexp.Regexp // BENCH_ROWS: the rows to run
	cipherID, plainID string
}

func newTableBench(b *testing.B) *tableBench {
	tb := &tableBench{b: b, photo: fakes.CorpusFile(b, "photos/phone-12mp-q92.jpg"), rounds: 5}
	if s := os.Getenv("BENCH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("BENCH_ROUNDS=%q: want a positive number", s)
		}
		tb.rounds = n
	}
	if s := os.Getenv("BENCH_ROWS"); s != "" {
		re, err := regexp.Compile(s)
		if err != nil {
			b.Fatalf("BENCH_ROWS: %v", err)
		}
		tb.only = re
	}
	svc := &fakes.Photos{Objects: map[string][]byte{}}
	svc.Srv, svc.CAFile = fakes.NewMultiHostTLSServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = strings.Replace(r.URL.Path, "/plain/", "/", 1)
		svc.Handler(w, r)
	}))
	tb.svc, tb.svcCA = svc, svc.CAFile
	_, port, _ := net.SplitHostPort(svc.Srv.Listener.Addr().String())
	tb.target, tb.tunnel = "https://localhost:"+port, "https://tunnel.test:"+port

	tb.bin = os.Getenv("BENCH_JPEGVEIL") // a binary to measure instead of this tree's
	if tb.bin == "" {
		tb.bin = filepath.Join(b.TempDir(), "jpegveil")
		if out, err := exec.Command("go", "build", "-o", tb.bin, "../cmd/jpegveil").CombinedOutput(); err != nil {
			b.Fatalf("build: %v\n%s", err, out)
		}
	}
	tb.state = b.TempDir()
	tb.conf = fmt.Sprintf(`listen: %%s
state_dir: %s
log: {level: warn}
upstream:
  ca_files: [%s]
  resolve: {"tunnel.test:%s": "127.0.0.1:%s"}
rules:
  - name: bench-upload
    hosts: [localhost]
    methods: [POST]
    paths: [/upload]
    body: raw
  - name: bench-download
    hosts: [localhost]
    paths: [/objects/*]
    body: download
`, tb.state, tb.svcCA, port, port)
	tb.mitmConf = b.TempDir()
	tb.addon = filepath.Join(b.TempDir(), "mitm_scan.py")
	if src, err := os.ReadFile("testdata/mitm_scan.py"); err != nil {
		b.Fatal(err)
	} else {
		os.WriteFile(tb.addon, src, 0o644)
	}

	// The ciphertext, stored through jpegveil (the ledger knows it), and
	// the plaintext, stored directly.
	p := tb.startJpegveil()
	tb.cipherID = tb.do(tb.client(p), tb.uploadOf(tb.photo))
	p.stop()
	tb.plainID = tb.do(tb.client(proxyProc{}), tb.uploadOf(tb.photo))
	if tb.cipherID == tb.plainID {
		b.Fatal("the upload through jpegveil was stored unencrypted")
	}
	return tb
}

// runs reports whether the row called name is run (BENCH_ROWS).
func (tb *tableBench) runs(name string) bool { return tb.only == nil || tb.only.MatchString(name) }

func (tb *tableBench) uploadOf(body []byte) workload {
	return workload{url: tb.target + "/upload", body: body}
}

func (tb *tableBench) downloadOf(id string) workload {
	return workload{url: tb.target + "/objects/" + id}
}

// startJpegveil starts jpegveil serve on a free port with the bench's
// state directory, which the rows share (the ledger knows the ciphertext).
func (tb *tableBench) startJpegveil() proxyProc {
	addr := freePort(tb.b)
	conf := filepath.Join(tb.b.TempDir(), "config.yaml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, tb.conf, addr), 0o600); err != nil {
		tb.b.Fatal(err)
	}
	var stderr bytes.Buffer
	jv := exec.Command(tb.bin, "serve", "--config", conf)
	jv.Stderr = &stderr // the banner, and warnings
	if err := jv.Start(); err != nil {
		tb.b.Fatal(err)
	}
	stop := func() { jv.Process.Kill(); jv.Wait() }
	if err := listening(addr); err != nil {
		stop()
		tb.b.Fatalf("%v\n%s", err, stderr.Bytes())
	}
	return proxyProc{addr: addr, pid: jv.Process.Pid, roots: tb.pool(filepath.Join(tb.state, "ca.pem")), stop: stop}
}

// startMitmdump starts mitmdump, with the Python scan addon when addon is
// set; it fails when mitmdump is not installed.
func (tb *tableBench) startMitmdump(addon bool) (proxyProc, error) {
	mitm, err := exec.LookPath("mitmdump")
	if err != nil {
		return proxyProc{}, fmt.Errorf("mitmdump not installed (Debian: mitmproxy)")
	}
	addr := freePort(tb.b)
	_, port, _ := net.SplitHostPort(addr)
	args := []string{"--listen-host", "127.0.0.1", "--listen-port", port, "-q",
		"--set", "confdir=" + tb.mitmConf, "--set", "ssl_verify_upstream_trusted_ca=" + tb.svcCA}
	if addon {
		args = append(args, "-s", tb.addon)
	}
	md := exec.Command(mitm, args...)
	md.Stderr = os.Stderr
	if err := md.Start(); err != nil {
		return proxyProc{}, err
	}
	stop := func() { md.Process.Kill(); md.Wait() }
	if err := listening(addr); err != nil {
		stop()
		return proxyProc{}, err
	}
	return proxyProc{addr: addr, pid: md.Process.Pid, roots: tb.pool(filepath.Join(tb.mitmConf, "mitmproxy-ca-cert.pem")), stop: stop}, nil
}

func (tb *tableBench) pool(files ...string) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, f := range append(files, tb.svcCA) {
		pem, err := os.ReadFile(f)
		if err != nil {
			tb.b.Fatal(err)
		}
		pool.AppendCertsFromPEM(pem)
	}
	return pool
}

// client is an HTTP client through p (or direct), keeping connections.
func (tb *tableBench) client(p proxyProc) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 128, ForceAttemptHTTP2: false}
	tr.TLSClientConfig = &tls.Config{RootCAs: p.roots}
	if p.addr != "" {
		u, _ := url.Parse("http://" + p.addr)
		tr.Proxy = http.ProxyURL(u)
	} else {
		tr.TLSClientConfig.RootCAs = tb.pool()
		addr := tb.svc.Srv.Listener.Addr().String()
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

// do sends one request of w and returns the response body of an upload.
func (tb *tableBench) do(c *http.Client, w workload) string {
	var resp *http.Response
	var err error
	if w.body != nil {
		resp, err = c.Post(w.url, "image/jpeg", bytes.NewReader(w.body))
	} else {
		resp, err = c.Get(w.url)
	}
	if err != nil {
		tb.b.Fatal(err)
	}
	defer resp.Body.Close()
	var got bytes.Buffer
	n, err := io.Copy(&got, resp.Body)
	if err != nil || resp.StatusCode != 200 {
		tb.b.Fatalf("%s: %s %v %.200s", w.url, resp.Status, err, got.Bytes())
	}
	if w.body == nil && n != int64(len(tb.photo)) {
		tb.b.Fatalf("%s: downloaded %d bytes, want %d", w.url, n, len(tb.photo))
	}
	return got.String()
}

// Requests per round: one client sends seq one after the other, then par
// clients send parEach each at the same time.
const seq, par, parEach = 8, 8, 2

// measure runs w through p for tb.rounds rounds.
func (tb *tableBench) measure(name string, w workload, p proxyProc) benchRow {
	size := float64(len(w.body))
	if w.body == nil {
		size = float64(len(tb.photo))
	}
	var mbps1, mbps8, cpu, lat []float64
	for range tb.rounds {
		c := tb.client(p)
		tb.do(c, w) // connection, certificate, warm caches
		cpu0 := procCPU(p.pid)
		start := time.Now()
		for range seq {
			t := time.Now()
			tb.do(c, w)
			lat = append(lat, float64(time.Since(t).Microseconds())/1e3)
		}
		mbps1 = append(mbps1, seq*size/1e6/time.Since(start).Seconds())
		start = time.Now()
		var wg sync.WaitGroup
		for range par {
			wg.Go(func() {
				for range parEach {
					tb.do(c, w)
				}
			})
		}
		wg.Wait()
		mbps8 = append(mbps8, par*parEach*size/1e6/time.Since(start).Seconds())
		if p.pid != 0 {
			cpu = append(cpu, float64((procCPU(p.pid)-cpu0).Microseconds())/1e3/((seq+par*parEach)*size/1e6))
		}
		c.CloseIdleConnections()
	}
	r := benchRow{name: name, mbps1: median(mbps1), mbps8: median(mbps8), latency: median(lat),
		cpuPerMB: -1, rss: -1, upload: w.body != nil}
	if p.pid != 0 {
		r.cpuPerMB = median(cpu)
		r.spread = (slices.Max(cpu) - slices.Min(cpu)) / r.cpuPerMB
		r.rss = peakRSSMB(p.pid)
	}
	return r
}

// concurrentUploads sends n uploads at once through a fresh jpegveil and
// returns its peak RSS in MB.
func (tb *tableBench) concurrentUploads(n int) float64 {
	p := tb.startJpegveil()
	defer p.stop()
	c := tb.client(p)
	w := tb.uploadOf(tb.photo)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { <-start; tb.do(c, w) })
	}
	close(start)
	wg.Wait()
	return peakRSSMB(p.pid)
}

func (tb *tableBench) print(rows []benchRow, conc float64, load0, load1 string) {
	var enc float64
	direct := map[bool]float64{}
	for _, r := range rows {
		if r.name == "jpegveil encrypting upload" {
			enc = r.cpuPerMB
		}
		if strings.HasPrefix(r.name, "direct") {
			direct[r.upload] = r.latency
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\nproxy benchmark: %.2f MB photo (12 MP), loopback, median of %d rounds; load average %s -> %s\n",
		float64(len(tb.photo))/1e6, tb.rounds, load0, load1)
	fmt.Fprintf(&out, "%-32s %9s %9s %10s %7s %8s %6s %9s\n", "system", "MB/s 1cl", "MB/s 8cl", "CPU ms/MB", "spread", "RSS MB", "ratio", "+lat ms")
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(&out, "%-32s %s\n", r.name, r.note)
			continue
		}
		cpu, spread, rss, ratio := "-", "-", "-", "-"
		if r.cpuPerMB >= 0 {
			cpu = fmt.Sprintf("%.1f", r.cpuPerMB)
			spread = fmt.Sprintf("%.0f%%", 100*r.spread)
			rss = fmt.Sprintf("%.0f", r.rss)
			ratio = fmt.Sprintf("%.2f", r.cpuPerMB/enc)
		}
		fmt.Fprintf(&out, "%-32s %9.1f %9.1f %10s %7s %8s %6s %9.1f\n", r.name, r.mbps1, r.mbps8, cpu, spread, rss, ratio, r.latency-direct[r.upload])
	}
	if conc >= 0 {
		fmt.Fprintf(&out, "jpegveil peak RSS, 100 concurrent 12 MP uploads: %.0f MB\n", conc)
	}
	fmt.Print(out.String())
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// procCPU returns the CPU time (user+system) process pid has used so far,
// 0 for pid 0.
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may contain spaces).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// peakRSSMB returns the peak resident set size of process pid in MB.
func peakRSSMB(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1e3
		}
	}
	return -1
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// waitPort waits until something listens on addr.
func waitPort(t testing.TB, addr string) {
	t.Helper()
	if err := listening(addr); err != nil {
		t.Fatal(err)
	}
}

// listening waits until something listens on addr, for 30 seconds.
func listening(addr string) error {
	for range 600 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s", addr)
}

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func newTLSClientConfig(roots *x509.CertPool) *tls.Config { return &tls.Config{RootCAs: roots} }
