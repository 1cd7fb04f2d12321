package proxytest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// Tunnel opens a CONNECT tunnel to connectHost through the proxy and a TLS
// session inside it that trusts jpegveil's CA, as a client would, so that a
// test can write any request bytes into it.
func (p *Proxy) Tunnel(t testing.TB, connectHost string) *tls.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.URL.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", connectHost, connectHost)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("CONNECT %s: %v", connectHost, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT %s: %s", connectHost, resp.Status)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.CA.CertPEM())
	host, _, _ := net.SplitHostPort(connectHost)
	tc := tls.Client(bufferedConn{Conn: c, r: br}, &tls.Config{RootCAs: pool, ServerName: host})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS in the tunnel to %s: %v", connectHost, err)
	}
	return tc
}

// RawExchange writes raw, a whole request, into conn and reads one answer.
func RawExchange(conn net.Conn, raw []byte) (*http.Response, []byte, error) {
	if _, err := conn.Write(raw); err != nil {
		return nil, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
