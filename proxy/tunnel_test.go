package proxy_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// tunnel opens an intercepted tunnel to photos.test through p and returns
// the TLS connection inside it.
func tunnel(t *testing.T, p *proxytest.Proxy) *tls.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, "CONNECT photos.test:443 HTTP/1.1\r\nHost: photos.test:443\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.CA.CertPEM())
	tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "photos.test"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return tc
}

// TestTunnelHeaderTimeout: inside an intercepted tunnel, a client that
// sends its request headers one byte at a time is cut off after
// client_timeouts.read_header, as it is outside, however steadily the
// bytes come.
func TestTunnelHeaderTimeout(t *testing.T) {
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile},
		"client_timeouts: {read_header: 500ms, idle: 3s}\n"), nil)
	tc := tunnel(t, p)
	closed := make(chan struct{})
	go func() { io.Copy(io.Discard, tc); close(closed) }()
	start := time.Now()
	if _, err := io.WriteString(tc, "GET /objects/none HTTP/1.1\r\nHost: photos.test\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-closed:
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("closed only after %v", d)
			}
			return
		case <-tick.C:
			if time.Since(start) > 6*time.Second {
				t.Fatal("a client sending its headers one byte every 100 ms held the tunnel for 6 s with read_header 500ms")
			}
			tc.Write([]byte("a"))
		}
	}
}

// TestTunnelHeaderSizeLimit: inside an intercepted tunnel, a request whose
// header block is larger than the proxy accepts outside gets 431 from the
// proxy (the service, which would take it, never sees it).
func TestTunnelHeaderSizeLimit(t *testing.T) {
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	tc := tunnel(t, p)
	go func() {
		io.WriteString(tc, "GET /objects/none HTTP/1.1\r\nHost: photos.test\r\n")
		line := "X-Big: " + strings.Repeat("a", 8000) + "\r\n"
		for range 80 { // 640 KB of headers, more than the proxy takes and less than the service would
			if _, err := io.WriteString(tc, line); err != nil {
				return
			}
		}
		io.WriteString(tc, "\r\n")
	}()
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		t.Fatalf("no answer to a 640 KB header block: %v", err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("640 KB of request headers in a tunnel: %s, want 431", resp.Status)
	}
}
