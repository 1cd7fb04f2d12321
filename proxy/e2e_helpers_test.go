package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"jpegveil/config"
)

// testProxy is a running jpegveil proxy in front of the fake service.
type testProxy struct {
	srv    *Server
	state  *testState
	clock  *testClock // ages the upload sessions
	url    *url.URL
	client *http.Client // trusts jpegveil's CA and uses the proxy
}

func testConfigYAML(stateDir, upstreamAddr string, caFiles []string, extra string) string {
	var b strings.Builder
	b.WriteString("listen: 127.0.0.1:0\nstate_dir: " + stateDir + "\nlog: {level: debug}\n")
	b.WriteString("upstream:\n  resolve: {\"photos.test:443\": \"" + upstreamAddr + "\"}\n  ca_files: [")
	b.WriteString(strings.Join(caFiles, ", ") + "]\n")
	b.WriteString(`rules:
  - name: test-upload
    hosts: [photos.test]
    methods: [POST]
    paths: [/upload]
    body: raw
  - name: test-download
    hosts: [photos.test]
    paths: [/objects/*, /thumb/*]
    body: download
`)
	b.WriteString(extra)
	return b.String()
}

func startProxy(t testing.TB, yaml string, log *zap.Logger, extraRoots ...string) *testProxy {
	t.Helper()
	cfg, err := config.ParseConfig([]byte(yaml), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := openTestState(t, cfg)
	if log == nil {
		log = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	clock := &testClock{}
	st.Now = clock.now
	srv, err := New(cfg, log, st.Deps)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(st.CA.CertPEM())
	for _, f := range extraRoots {
		b, _ := os.ReadFile(f)
		pool.AppendCertsFromPEM(b)
	}
	pu := &url.URL{Scheme: "http", Host: l.Addr().String()}
	tp := &testProxy{srv: srv, state: st, url: pu, clock: clock}
	tp.client = &http.Client{Transport: &http.Transport{
		Proxy:             http.ProxyURL(pu),
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		DisableKeepAlives: true,
	}, Timeout: 60 * time.Second}
	return tp
}

// directClient talks to the fake service without the proxy.
func directClient(t testing.TB, addr, caFile string) *http.Client {
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

func mustDo(t testing.TB, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp, body
}

func newReq(t testing.TB, method, u string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// testClock is the time now, moved forward by advance.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }
