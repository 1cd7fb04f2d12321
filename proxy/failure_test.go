package proxy_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestUpstreamFailuresHaveReasons: every upstream failure the proxy sees
// reaches the client as a status with a one-line reason, and the log says
// what happened, where a closed connection (curl: empty reply) said
// nothing. Uploads and plain requests alike.
func TestUpstreamFailuresHaveReasons(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	svc := fakes.NewPhotos(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := closed.Addr().String()
	closed.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() { // accepts and never answers
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, tc := range []struct {
		name, addr string
		caFiles    []string
		extra      string
		code       int
		reason     string
	}{
		{"untrusted certificate", svc.Srv.Listener.Addr().String(), nil, "", 502, "upstream.ca_files"},
		{"connection refused", refusedAddr, []string{svc.CAFile}, "", 502, "refused the connection"},
		{"timeout", silent.Addr().String(), []string{svc.CAFile}, "  dial_timeout: 300ms\n", 504, "did not answer in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			yaml := proxytest.ConfigYAML(t.TempDir(), tc.addr, tc.caFiles, "")
			yaml = strings.Replace(yaml, "upstream:\n", "upstream:\n"+tc.extra, 1)
			p := proxytest.Start(t, yaml, zap.New(core))
			for _, req := range []*http.Request{
				proxytest.NewReq(t, "POST", "https://photos.test/upload", strings.NewReader(string(photo))),
				proxytest.NewReq(t, "GET", "https://photos.test/objects/1", nil),
				proxytest.NewReq(t, "GET", "https://photos.test/no/rule/covers/this", nil),
			} {
				start := time.Now()
				resp, err := p.Client.Do(req)
				if err != nil {
					t.Fatalf("%s %s: no answer: %v", req.Method, req.URL.Path, err)
				}
				body := make([]byte, 4096)
				n, _ := resp.Body.Read(body)
				resp.Body.Close()
				msg := string(body[:n])
				if resp.StatusCode != tc.code || !strings.Contains(msg, tc.reason) || strings.Count(msg, "\n") != 1 {
					t.Fatalf("%s %s: %s %q, want %d with %q on one line", req.Method, req.URL.Path, resp.Status, msg, tc.code, tc.reason)
				}
				if time.Since(start) > 10*time.Second {
					t.Fatalf("%s %s took %v", req.Method, req.URL.Path, time.Since(start))
				}
			}
			if got := logs.FilterField(zap.String("outcome", "upstream-error")).Len(); got != 3 {
				t.Fatalf("%d log lines with outcome upstream-error, want 3: %v", got, logs.All())
			}
		})
	}
}

// TestUnmatchedRequestsAreLogged: a request on an intercepted host that no
// rule covers is logged at info with outcome passed.
func TestUnmatchedRequestsAreLogged(t *testing.T) {
	svc := fakes.NewPhotos(t)
	core, logs := observer.New(zapcore.InfoLevel)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), zap.New(core))
	resp, _ := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", "https://photos.test/elsewhere", nil))
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("%s, want the service's 404", resp.Status)
	}
	lines := logs.FilterField(zap.String("path", "/elsewhere")).FilterField(zap.String("outcome", "passed"))
	if lines.Len() != 1 || lines.All()[0].Level != zapcore.InfoLevel {
		t.Fatalf("log lines for the unmatched request: %v", logs.All())
	}
}

// TestTunnelFailuresHaveReasons: a CONNECT to a host that is not
// intercepted and cannot be reached gets 502 with the reason, and a log
// line.
func TestTunnelFailuresHaveReasons(t *testing.T) {
	svc := fakes.NewPhotos(t)
	core, logs := observer.New(zapcore.InfoLevel)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	// elsewhere.test is no rule host: its CONNECT is tunnelled, to a port
	// nothing listens on.
	yaml := proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "")
	yaml = strings.Replace(yaml, `resolve: {`, `resolve: {"elsewhere.test:443": "`+closed.Addr().String()+`", `, 1)
	p := proxytest.Start(t, yaml, zap.New(core))
	addr := "elsewhere.test:443"
	c, err := net.Dial("tcp", p.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	resp, body, err := proxytest.RawExchange(c, []byte("CONNECT "+addr+" HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "refused the connection") {
		t.Fatalf("%s %q", resp.Status, body)
	}
	if logs.FilterMessage("tunnel failed").FilterField(zap.String("host", addr)).Len() != 1 {
		t.Fatalf("no log line for the failed tunnel: %v", logs.All())
	}
}
