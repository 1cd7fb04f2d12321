package certs

import (
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestIssuerLeaf(t *testing.T) {
	now := t0()
	ca := constrainedCA(t, now)
	iss := ca.NewIssuer(IssuerOptions{Now: func() time.Time { return now }})
	tests := []struct{ host, name string }{
		{"photos.example.com", "photos.example.com"},
		{"Photos.Example.COM:443", "photos.example.com"},
		{"example.com", "example.com"},
		{"lh3.googleapis.com.", "lh3.googleapis.com"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			cert, err := iss.Certificate(tt.host)
			if err != nil {
				t.Fatal(err)
			}
			leaf := cert.Leaf
			if err := verifyLeaf(ca, leaf, tt.name, now); err != nil {
				t.Fatalf("x509.Verify: %v", err)
			}
			if len(cert.Certificate) != 1 || !slices.Equal(cert.Certificate[0], leaf.Raw) {
				t.Error("chain should be exactly the leaf, matching Leaf")
			}
			if !slices.Equal(leaf.DNSNames, []string{tt.name}) || len(leaf.IPAddresses) != 0 {
				t.Errorf("SANs = %q %v", leaf.DNSNames, leaf.IPAddresses)
			}
			if leaf.Subject.CommonName != tt.name {
				t.Errorf("CN = %q", leaf.Subject.CommonName)
			}
			if leaf.IsCA || !leaf.BasicConstraintsValid {
				t.Error("leaf must be an explicit CA:FALSE")
			}
			if leaf.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("KeyUsage = %b", leaf.KeyUsage)
			}
			if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
				t.Errorf("ExtKeyUsage = %v", leaf.ExtKeyUsage)
			}
			if !slices.Equal(leaf.AuthorityKeyId, ca.Certificate().SubjectKeyId) {
				t.Error("AuthorityKeyId does not match the CA's SubjectKeyId")
			}
			if leaf.SerialNumber.Sign() <= 0 || leaf.SerialNumber.BitLen() > 128 {
				t.Errorf("serial %v", leaf.SerialNumber)
			}
			if !leaf.NotBefore.Equal(now.Add(-time.Hour)) || !leaf.NotAfter.Equal(now.Add(24*time.Hour)) {
				t.Errorf("validity %v .. %v", leaf.NotBefore, leaf.NotAfter)
			}
			key := leafKey(t, cert.PrivateKey)
			if key.Curve != elliptic.P256() || !key.PublicKey.Equal(leaf.PublicKey) {
				t.Error("private key is not the P-256 key of the leaf")
			}
			if key.Equal(ca.key) {
				t.Error("leaf reuses the CA key")
			}
		})
	}
}

func TestLeafKeysAreFresh(t *testing.T) {
	ca := constrainedCA(t, time.Now())
	var certs []*tls.Certificate
	for _, host := range []string{"a.example.com", "b.example.com"} {
		for range 2 { // two issuers: the same host issued twice, independently
			c, err := ca.NewIssuer(IssuerOptions{}).Certificate(host)
			if err != nil {
				t.Fatal(err)
			}
			certs = append(certs, c)
		}
	}
	for i, a := range certs {
		ka := leafKey(t, a.PrivateKey)
		if ka.Equal(ca.key) {
			t.Errorf("leaf %d uses the CA key", i)
		}
		for j, b := range certs[i+1:] {
			if ka.Equal(leafKey(t, b.PrivateKey)) {
				t.Errorf("leaves %d and %d share a key", i, i+1+j)
			}
			if a.Leaf.SerialNumber.Cmp(b.Leaf.SerialNumber) == 0 {
				t.Errorf("leaves %d and %d share a serial", i, i+1+j)
			}
		}
	}
}

func TestIssuerRefuses(t *testing.T) {
	iss := constrainedCA(t, time.Now()).NewIssuer(IssuerOptions{})
	notPermitted := []string{"evil.com", "example.com.evil.com", "notexample.com", "googleapis.co", "127.0.0.1", "[::1]:443"}
	for _, host := range notPermitted {
		t.Run(host, func(t *testing.T) {
			c, err := iss.Certificate(host)
			var npe *NotPermittedError
			if c != nil || !errors.As(err, &npe) {
				t.Fatalf("Certificate(%q) = %v, %v; want *NotPermittedError", host, c, err)
			}
		})
	}
	invalid := []string{"", "*.example.com", "exa mple.example.com", "example.com:http"}
	for _, host := range invalid {
		t.Run("invalid "+host, func(t *testing.T) {
			c, err := iss.Certificate(host)
			var ihe *InvalidHostError
			if c != nil || !errors.As(err, &ihe) {
				t.Fatalf("Certificate(%q) = %v, %v; want *InvalidHostError", host, c, err)
			}
		})
	}
}

// TestClientsEnforceNameConstraints bypasses the Issuer's check, as an
// attacker holding the CA key would, and shows that verification then
// fails because of the CA's name constraints.
func TestClientsEnforceNameConstraints(t *testing.T) {
	now := t0()
	ca := constrainedCA(t, now)
	for _, host := range []string{"accounts.evil.com", "examplexcom.net", "198.51.100.4", "2001:db8::4"} {
		t.Run(host, func(t *testing.T) {
			h, err := parseHost(host)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := ca.issueLeaf(h, now, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if err := verifyLeaf(ca, cert.Leaf, host, now); !isNameConstraintViolation(err) {
				t.Fatalf("x509.Verify error = %v, want a name constraint violation", err)
			}
		})
	}
}

func TestUnconstrainedIssuesIPs(t *testing.T) {
	now := t0()
	ca := mustCA(t, CAOptions{Now: func() time.Time { return now }})
	iss := ca.NewIssuer(IssuerOptions{Now: func() time.Time { return now }})
	for _, tt := range []struct{ host, ip string }{{"127.0.0.1:8443", "127.0.0.1"}, {"[::1]", "::1"}} {
		cert, err := iss.Certificate(tt.host)
		if err != nil {
			t.Fatal(err)
		}
		if len(cert.Leaf.DNSNames) != 0 || len(cert.Leaf.IPAddresses) != 1 || cert.Leaf.IPAddresses[0].String() != tt.ip {
			t.Errorf("%s: SANs = %q %v, want IP %s", tt.host, cert.Leaf.DNSNames, cert.Leaf.IPAddresses, tt.ip)
		}
		if err := verifyLeaf(ca, cert.Leaf, tt.ip, now); err != nil {
			t.Errorf("%s: %v", tt.host, err)
		}
	}
}

func TestIssuerCacheBound(t *testing.T) {
	ca := constrainedCA(t, time.Now())
	get := func(iss *Issuer, host string) *tls.Certificate {
		t.Helper()
		c, err := iss.Certificate(host)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("oldest evicted", func(t *testing.T) {
		iss := ca.NewIssuer(IssuerOptions{CacheSize: 2})
		a, b, c := get(iss, "a.example.com"), get(iss, "b.example.com"), get(iss, "c.example.com")
		if n := iss.cache.len(); n != 2 {
			t.Fatalf("cache holds %d entries, want 2", n)
		}
		if get(iss, "c.example.com") != c || get(iss, "b.example.com") != b {
			t.Error("recent entries were not kept")
		}
		if get(iss, "a.example.com") == a {
			t.Error("oldest entry was not evicted")
		}
	})
	t.Run("least recently used evicted", func(t *testing.T) {
		iss := ca.NewIssuer(IssuerOptions{CacheSize: 2})
		a, b := get(iss, "a.example.com"), get(iss, "b.example.com")
		get(iss, "a.example.com") // touch a: b becomes least recently used
		get(iss, "c.example.com")
		if get(iss, "a.example.com") != a {
			t.Error("recently used a was evicted")
		}
		if get(iss, "b.example.com") == b {
			t.Error("least recently used b was kept")
		}
	})
	t.Run("normalized key", func(t *testing.T) {
		iss := ca.NewIssuer(IssuerOptions{CacheSize: 2})
		if get(iss, "A.Example.com:443") != get(iss, "a.example.com.") {
			t.Error("equivalent spellings of a host got different certificates")
		}
	})
	t.Run("default size", func(t *testing.T) {
		if iss := ca.NewIssuer(IssuerOptions{}); iss.cache.max != DefaultCacheSize {
			t.Errorf("cache size %d, want %d", iss.cache.max, DefaultCacheSize)
		}
	})
}

func TestIssuerSingleflight(t *testing.T) {
	iss := constrainedCA(t, time.Now()).NewIssuer(IssuerOptions{})
	const n = 100
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		got   [n]*tls.Certificate
		errs  [n]error
	)
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], errs[i] = iss.Certificate("photos.example.com")
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		// Each issuance makes a new *tls.Certificate, so identical pointers
		// mean exactly one issuance.
		if got[i] != got[0] {
			t.Fatalf("request %d got a different certificate: more than one issuance", i)
		}
	}
}

func TestIssuerConcurrentHosts(t *testing.T) {
	now := t0()
	clock := newFakeClock(now)
	ca := constrainedCA(t, now)
	iss := ca.NewIssuer(IssuerOptions{CacheSize: 3, Now: clock.Now})
	var wg sync.WaitGroup
	for g := range 40 {
		wg.Go(func() {
			for i := range 10 {
				host := fmt.Sprintf("h%d.example.com", (g+i)%7)
				if i == 5 && g%10 == 0 {
					clock.Advance(23 * time.Hour) // force some renewals mid-flight
				}
				c, err := iss.Certificate(host)
				if err != nil {
					t.Error(err)
					return
				}
				if c.Leaf.DNSNames[0] != host {
					t.Errorf("asked for %s, got %s", host, c.Leaf.DNSNames[0])
				}
			}
		})
	}
	wg.Wait()
	if n := iss.cache.len(); n > 3 {
		t.Errorf("cache holds %d entries, bound is 3", n)
	}
	if len(iss.inflight) != 0 {
		t.Errorf("%d issuances left in flight", len(iss.inflight))
	}
}

func TestIssuerRenewal(t *testing.T) {
	start := t0()
	clock := newFakeClock(start)
	ca := constrainedCA(t, start)
	iss := ca.NewIssuer(IssuerOptions{Now: clock.Now})
	get := func() *tls.Certificate {
		t.Helper()
		c, err := iss.Certificate("photos.example.com")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := get()
	// 24h lifetime: renewal 10% before expiry, at 21h36m.
	clock.Set(start.Add(21*time.Hour + 35*time.Minute))
	if get() != first {
		t.Fatal("leaf renewed before 90% of its lifetime")
	}
	clock.Set(start.Add(21*time.Hour + 36*time.Minute))
	second := get()
	if second == first {
		t.Fatal("leaf not renewed within 10% of expiry")
	}
	if want := clock.Now().Add(-time.Hour); !second.Leaf.NotBefore.Equal(want) {
		t.Errorf("renewed NotBefore = %v, want %v", second.Leaf.NotBefore, want)
	}
	if err := verifyLeaf(ca, second.Leaf, "photos.example.com", clock.Now().Add(23*time.Hour)); err != nil {
		t.Errorf("renewed leaf: %v", err)
	}
	// A clock stepped back before the cached leaf's NotBefore also renews.
	clock.Set(start.Add(time.Hour))
	if get() == second {
		t.Error("leaf not yet valid at the current time was served from the cache")
	}
}

func TestLeafNeverOutlivesCA(t *testing.T) {
	start := t0()
	clock := newFakeClock(start)
	ca := mustCA(t, CAOptions{PermittedDomains: testDomains(), Now: clock.Now, Validity: 10 * time.Hour})
	iss := ca.NewIssuer(IssuerOptions{Now: clock.Now})
	c, err := iss.Certificate("photos.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Leaf.NotAfter.Equal(ca.Certificate().NotAfter) {
		t.Errorf("leaf NotAfter %v, want the CA's %v", c.Leaf.NotAfter, ca.Certificate().NotAfter)
	}
	clock.Set(start.Add(10 * time.Hour))
	_, err = iss.Certificate("photos.example.com")
	var exp *CAExpiredError
	if !errors.As(err, &exp) {
		t.Fatalf("after CA expiry: err = %v, want *CAExpiredError", err)
	}
}

func TestIssuerValidity(t *testing.T) {
	now := t0()
	ca := constrainedCA(t, now)
	tests := []struct {
		opt, want time.Duration
	}{
		{0, DefaultLeafValidity},
		{-time.Hour, DefaultLeafValidity},
		{2 * time.Hour, 2 * time.Hour},
		{1000 * 24 * time.Hour, MaxLeafValidity},
	}
	for _, tt := range tests {
		t.Run(tt.opt.String(), func(t *testing.T) {
			c, err := ca.NewIssuer(IssuerOptions{Validity: tt.opt, Now: func() time.Time { return now }}).Certificate("example.com")
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Leaf.NotAfter.Sub(now); got != tt.want {
				t.Errorf("leaf lives %v after issuance, want %v", got, tt.want)
			}
		})
	}
}

func TestGetCertificate(t *testing.T) {
	iss := constrainedCA(t, time.Now()).NewIssuer(IssuerOptions{})
	for _, hello := range []*tls.ClientHelloInfo{nil, {}} {
		_, err := iss.GetCertificate(hello)
		var ihe *InvalidHostError
		if !errors.As(err, &ihe) {
			t.Errorf("GetCertificate without SNI: err = %v, want *InvalidHostError", err)
		}
	}
	c, err := iss.GetCertificate(&tls.ClientHelloInfo{ServerName: "photos.example.com"})
	if err != nil || c.Leaf.DNSNames[0] != "photos.example.com" {
		t.Fatalf("GetCertificate = %v, %v", c, err)
	}
	if _, err := iss.GetCertificate(&tls.ClientHelloInfo{ServerName: "evil.com"}); err == nil {
		t.Error("GetCertificate issued for a name outside the constraints")
	}
}
