package proxy_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestTunnelRefusesOtherHosts: inside a tunnel the client CONNECTed to
// photos.test, a request for another host (by its Host header or by an
// absolute-form target) is refused with 421 Misdirected Request and never
// reaches that host, here a service on the proxy's own loopback that the
// proxy's upstream trusts. goproxy would otherwise route it by what the
// client wrote, past the loopback guard that runs on the CONNECT line.
func TestTunnelRefusesOtherHosts(t *testing.T) {
	svc := fakes.NewPhotos(t)
	var reached atomic.Int32
	secret, secretCA := fakes.NewTLSServer(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		io.WriteString(w, "loopback admin page")
	}))
	yaml := proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile, secretCA}, "")
	p := proxytest.Start(t, yaml, nil)
	loop := secret.Listener.Addr().String()
	for name, tc := range map[string]struct {
		raw  string
		code int
	}{
		"Host header":             {"GET /admin HTTP/1.1\r\nHost: " + loop + "\r\n\r\n", http.StatusMisdirectedRequest},
		"absolute-form":           {"GET https://" + loop + "/admin HTTP/1.1\r\nHost: photos.test\r\n\r\n", http.StatusMisdirectedRequest},
		"absolute-form, HTTP/1.0": {"GET https://" + loop + "/admin HTTP/1.0\r\n\r\n", http.StatusMisdirectedRequest},
		"absolute-form no Host":   {"GET https://" + loop + "/admin HTTP/1.1\r\n\r\n", http.StatusBadRequest}, // HTTP/1.1 requires Host
		"other port":              {"GET /admin HTTP/1.1\r\nHost: photos.test:8443\r\n\r\n", http.StatusMisdirectedRequest},
		"other rule host":         {"POST /upload HTTP/1.1\r\nHost: other.test\r\nContent-Length: 3\r\n\r\nabc", http.StatusMisdirectedRequest},
	} {
		t.Run(name, func(t *testing.T) {
			resp, body, err := proxytest.RawExchange(p.Tunnel(t, "photos.test:443"), []byte(tc.raw))
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if resp.StatusCode != tc.code {
				t.Fatalf("%s %q, want %d", resp.Status, body, tc.code)
			}
		})
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("the loopback service was reached %d times through the tunnel", n)
	}
}

// TestTunnelHostFormsAreEncrypted: the same host written differently (case,
// a trailing dot, the default port, absolute-form) is the tunnel's host, and
// the rules are matched on the tunnel's host: the photo is encrypted.
func TestTunnelHostFormsAreEncrypted(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	for _, head := range []string{
		"POST /upload HTTP/1.1\r\nHost: photos.test\r\n",
		"POST /upload HTTP/1.1\r\nHost: PHOTOS.test.\r\n",
		"POST /upload HTTP/1.1\r\nHost: photos.test:443\r\n",
		"POST https://photos.test/upload HTTP/1.1\r\nHost: photos.test\r\n",
		"POST https://Photos.Test:443/upload HTTP/1.1\r\nHost: photos.test\r\n",
	} {
		raw := fmt.Sprintf("%sContent-Length: %d\r\n\r\n%s", head, len(photo), photo)
		resp, id, err := proxytest.RawExchange(p.Tunnel(t, "photos.test:443"), []byte(raw))
		if err != nil {
			t.Fatalf("%q: %v", strings.SplitN(head, "\r\n", 2)[0], err)
		}
		svc.Mu.Lock()
		stored := svc.Objects[string(id)]
		svc.Mu.Unlock()
		if resp.StatusCode != http.StatusOK || len(stored) != len(photo) || bytes.Equal(stored, photo) {
			t.Fatalf("%q: %s, stored %d bytes, plaintext %v", head, resp.Status, len(stored), bytes.Equal(stored, photo))
		}
	}
}
