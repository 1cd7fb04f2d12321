package proxy_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestIdleTunnelIsClosed opens a CONNECT tunnel, stays silent, and expects
// the proxy to close it after client_timeouts.idle.
func TestIdleTunnelIsClosed(t *testing.T) {
	svc := fakes.NewPhotos(t)
	yaml := proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "client_timeouts: {idle: 300ms}\n")
	yaml = strings.Replace(yaml, `resolve: {`, `resolve: {"elsewhere.test:443": "`+svc.Srv.Listener.Addr().String()+`", `, 1)
	p := proxytest.Start(t, yaml, nil)
	c, err := net.Dial("tcp", p.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("CONNECT elsewhere.test:443 HTTP/1.1\r\nHost: elsewhere.test:443\r\n\r\n"))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("read a byte from a silent tunnel")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("idle tunnel closed only after %v", d)
	}
}
