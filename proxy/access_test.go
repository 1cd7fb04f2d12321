package proxy

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientAccess: a client outside clients.allow gets 403; with
// clients.auth, a client without the right Proxy-Authorization gets 407.
func TestClientAccess(t *testing.T) {
	svc := newFakePhotos(t)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func() string {
		return testConfigYAML(t.TempDir(), svc.srv.Listener.Addr().String(), []string{svc.caFile}, "")
	}

	denied := startProxy(t, base()+"clients:\n  allow: [192.0.2.0/24]\n", nil)
	resp, err := http.Get(denied.url.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("client outside the allow-list: %s, want 403", resp.Status)
	}

	authed := startProxy(t, base()+"clients:\n  auth: {user: alice, password_file: "+pw+"}\n", nil)
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"", http.StatusProxyAuthRequired},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:wrong")), http.StatusProxyAuthRequired},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")), http.StatusNotFound},
	} {
		req := newReq(t, "GET", "http://photos.test/nothing-here", nil)
		req.URL.Host = "127.0.0.1:1" // plain HTTP through the proxy; nothing listens there
		req.URL.Path = "/"
		if tc.header != "" {
			req.Header.Set("Proxy-Authorization", tc.header)
		}
		tr := &http.Transport{Proxy: http.ProxyURL(authed.url)}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if tc.want == http.StatusProxyAuthRequired && (resp.StatusCode != tc.want || !strings.Contains(resp.Header.Get("Proxy-Authenticate"), "Basic")) {
			t.Fatalf("auth %q: %s, want 407 with Proxy-Authenticate", tc.header, resp.Status)
		}
		if tc.want != http.StatusProxyAuthRequired && resp.StatusCode == http.StatusProxyAuthRequired {
			t.Fatalf("valid credentials refused: %s", resp.Status)
		}
	}
}
