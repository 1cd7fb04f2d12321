package proxy_test

import (
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestClientAccess: a client outside clients.allow gets 403; with
// clients.auth, a client without the right Proxy-Authorization gets 407.
func TestClientAccess(t *testing.T) {
	svc := fakes.NewPhotos(t)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func() string {
		return proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "")
	}

	denied := proxytest.Start(t, base()+"clients:\n  allow: [192.0.2.0/24]\n", nil)
	resp, err := http.Get(denied.URL.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("client outside the allow-list: %s, want 403", resp.Status)
	}

	// Through the proxy with plain HTTP: an origin that answers 404, and
	// one that cannot be reached.
	origin := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(origin.Close)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()

	authed := proxytest.Start(t, base()+"clients:\n  auth: {user: alice, password_file: "+pw+"}\n", nil)
	good := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	for _, tc := range []struct {
		header, host string
		want         int
	}{
		{"", origin.Listener.Addr().String(), http.StatusProxyAuthRequired},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:wrong")), origin.Listener.Addr().String(), http.StatusProxyAuthRequired},
		{good, origin.Listener.Addr().String(), http.StatusNotFound},
		{good, deadAddr, http.StatusBadGateway},
	} {
		req := proxytest.NewReq(t, "GET", "http://"+tc.host+"/nothing-here", nil)
		if tc.header != "" {
			req.Header.Set("Proxy-Authorization", tc.header)
		}
		tr := &http.Transport{Proxy: http.ProxyURL(authed.URL)}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("auth %q to %s: %s, want %d", tc.header, tc.host, resp.Status, tc.want)
		}
		if tc.want == http.StatusProxyAuthRequired && !strings.Contains(resp.Header.Get("Proxy-Authenticate"), "Basic") {
			t.Fatalf("auth %q: 407 without Proxy-Authenticate", tc.header)
		}
	}
}

// TestNetworkClientCannotReachLoopback: a client on the network may not
// use the proxy to reach the proxy host's own loopback services.
func TestNetworkClientCannotReachLoopback(t *testing.T) {
	svc := fakes.NewPhotos(t)
	yaml := proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "clients:\n  allow: [192.0.2.0/24, 127.0.0.0/8]\n")
	p := proxytest.Start(t, yaml, zap.NewNop())
	for _, target := range []string{"127.0.0.1:22", "localhost:6379", "[::1]:5432", "db.localhost:5432"} {
		req := httptest.NewRequest(http.MethodConnect, "http://"+target, nil)
		req.RemoteAddr = "192.0.2.10:40000"
		req.URL.Host, req.Host = target, target
		rec := httptest.NewRecorder()
		p.Server.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Errorf("CONNECT %s from the network: %d, want 403", target, rec.Code)
		}
	}
	// A destination the config maps explicitly stays reachable.
	req := httptest.NewRequest(http.MethodConnect, "http://photos.test:443", nil)
	req.RemoteAddr = "192.0.2.10:40000"
	req.URL.Host, req.Host = "photos.test:443", "photos.test:443"
	rec := httptest.NewRecorder()
	p.Server.ServeHTTP(rec, req)
	if rec.Code == http.StatusForbidden {
		t.Error("a destination mapped by upstream.resolve counts as loopback")
	}
}
