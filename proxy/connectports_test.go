package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// connectThrough sends a CONNECT for target through the proxy at addr and returns
// the proxy's answer and its body.
func connectThrough(t *testing.T, addr, target string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("CONNECT %s: %v", target, err)
	}
	body := ""
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
	}
	return resp, body
}

// TestConnectOnlyToAllowedPorts: tunnels go to 443, to the ports of
// upstream.resolve and to clients.connect_ports; a CONNECT to any other
// port (mail on :25, a service on a high port) is refused with 403 and a
// reason naming the setting.
func TestConnectOnlyToAllowedPorts(t *testing.T) {
	svc := fakes.NewPhotos(t)
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	go func() {
		for {
			c, err := other.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, otherPort, _ := net.SplitHostPort(other.Addr().String())
	resolve := `resolve: {"mail.test:8025": "` + other.Addr().String() + `", `
	yaml := func(extra string) string {
		return strings.Replace(proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, extra), `resolve: {`, resolve, 1)
	}
	p := proxytest.Start(t, yaml(""), nil)
	for _, tc := range []struct {
		target string
		want   int
	}{
		{"127.0.0.1:25", http.StatusForbidden},
		{"mail.test:25", http.StatusForbidden},
		{"127.0.0.1:" + otherPort, http.StatusForbidden},
		{"mail.test:8025", http.StatusOK},  // named in upstream.resolve
		{"photos.test:443", http.StatusOK}, // intercepted
	} {
		resp, body := connectThrough(t, p.URL.Host, tc.target)
		if resp.StatusCode != tc.want {
			t.Errorf("CONNECT %s: %s, want %d", tc.target, resp.Status, tc.want)
		}
		if tc.want == http.StatusForbidden && !strings.Contains(body, "clients.connect_ports") {
			t.Errorf("CONNECT %s: the refusal does not name clients.connect_ports: %q", tc.target, body)
		}
	}

	// A port the user lists is allowed.
	p = proxytest.Start(t, yaml("clients:\n  connect_ports: [443, "+otherPort+"]\n"), nil)
	if resp, body := connectThrough(t, p.URL.Host, "127.0.0.1:"+otherPort); resp.StatusCode != http.StatusOK {
		t.Errorf("CONNECT to a port in clients.connect_ports: %s %s", resp.Status, body)
	}
	if resp, _ := connectThrough(t, p.URL.Host, "127.0.0.1:25"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("CONNECT :25 with connect_ports [443, %s]: %s", otherPort, resp.Status)
	}
}
