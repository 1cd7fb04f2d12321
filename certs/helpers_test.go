package certs

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"sync"
	"testing"
	"time"
)

// t0 is a fixed instant with whole seconds, so that it survives the
// one-second resolution of certificate times.
func t0() time.Time { return time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC) }

// fakeClock is a settable clock that is safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// testDomains are the permitted domains most tests use.
func testDomains() []string { return []string{"example.com", "googleapis.com"} }

func mustCA(tb testing.TB, opts CAOptions) *CA {
	tb.Helper()
	ca, err := NewCA(opts)
	if err != nil {
		tb.Fatalf("NewCA: %v", err)
	}
	return ca
}

func constrainedCA(tb testing.TB, now time.Time) *CA {
	tb.Helper()
	return mustCA(tb, CAOptions{PermittedDomains: testDomains(), Now: func() time.Time { return now }})
}

func caPool(ca *CA) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Certificate())
	return pool
}

// verifyLeaf runs crypto/x509 path validation the way a TLS client would.
// For an IP, name may be the IP literal.
func verifyLeaf(ca *CA, leaf *x509.Certificate, name string, now time.Time) error {
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:       caPool(ca),
		DNSName:     name,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

// caFromTemplate builds a CA from an arbitrary template. Tests use it to
// show what happens with choices this package deliberately does not make.
func caFromTemplate(tb testing.TB, tmpl *x509.Certificate) *CA {
	tb.Helper()
	key, err := newKey()
	if err != nil {
		tb.Fatal(err)
	}
	t := *tmpl
	t.PublicKey = &key.PublicKey // the template may be a parsed certificate carrying another key
	t.SubjectKeyId = nil         // likewise; let crypto/x509 derive it from the new key
	der, err := x509.CreateCertificate(rand.Reader, &t, &t, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	ca, err := newCA(der, key)
	if err != nil {
		tb.Fatal(err)
	}
	return ca
}

func isNameConstraintViolation(err error) bool {
	var inv x509.CertificateInvalidError
	return errors.As(err, &inv) && inv.Reason == x509.CANotAuthorizedForThisName
}

func leafKey(tb testing.TB, c any) *ecdsa.PrivateKey {
	tb.Helper()
	k, ok := c.(*ecdsa.PrivateKey)
	if !ok {
		tb.Fatalf("private key is %T, want *ecdsa.PrivateKey", c)
	}
	return k
}
