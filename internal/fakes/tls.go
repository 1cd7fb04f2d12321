// Package fakes holds the photo services the tests and benchmarks talk to:
// HTTPS servers on loopback that behave like the real APIs (Google Photos,
// Nextcloud, Immich, iCloud, and a plain photo store), each with a guard
// that fails the test when a hash of a plaintext reaches it.
package fakes

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"jpegveil/certs"
)

// CorpusDir is the shared corpus, ../shared/corpus beside the repository,
// found from this source file so that tests at any depth reach it.
func CorpusDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus")
}

// CorpusFile reads a file of the shared corpus; the test is skipped when
// the corpus is missing.
func CorpusFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(CorpusDir(), rel))
	if os.IsNotExist(err) {
		t.Skipf("shared corpus not found: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// NewTLSServer starts an HTTPS server on 127.0.0.1 whose certificate, for
// host, comes from a CA of its own; it returns the server and that CA's PEM
// file.
func NewTLSServer(t testing.TB, host string, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	ca, iss := newServerCA(t)
	leaf, err := iss.Certificate(host)
	if err != nil {
		t.Fatal(err)
	}
	return startTLS(t, h, ca, &tls.Config{Certificates: []tls.Certificate{*leaf}})
}

// NewMultiHostTLSServer starts an HTTPS server on 127.0.0.1 that presents,
// for each SNI name, a certificate from a CA of its own; it returns the
// server and that CA's PEM file.
func NewMultiHostTLSServer(t testing.TB, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	ca, iss := newServerCA(t)
	return startTLS(t, h, ca, &tls.Config{GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		return iss.Certificate(hello.ServerName)
	}})
}

// newServerCA makes the CA of a fake service and its issuer.
func newServerCA(t testing.TB) (*certs.CA, *certs.Issuer) {
	t.Helper()
	ca, err := certs.NewCA(certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ca, ca.NewIssuer(certs.IssuerOptions{})
}

// startTLS starts h over TLS with cfg, closed when the test ends, and
// writes ca's certificate to a PEM file for the clients to trust.
func startTLS(t testing.TB, h http.Handler, ca *certs.CA, cfg *tls.Config) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "upstream-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}
