package certs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		in   string
		want string // normalized form; "" means an *InvalidHostError is expected
	}{
		{"photos.example.com", "photos.example.com"},
		{"Photos.Example.COM", "photos.example.com"},
		{"photos.example.com:443", "photos.example.com"},
		{"photos.example.com.", "photos.example.com"},
		{"photos.example.com.:8443", "photos.example.com"},
		{"_dmarc.example.com", "_dmarc.example.com"},
		{"xn--bcher-kva.de", "xn--bcher-kva.de"},
		{"localhost", "localhost"},
		{"127.0.0.1", "127.0.0.1"},
		{"127.0.0.1:8080", "127.0.0.1"},
		{"::1", "::1"},
		{"[::1]", "::1"},
		{"[::1]:443", "::1"},
		{"[2001:DB8::1]:443", "2001:db8::1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"", ""},
		{"[example.com]:443", ""},
		{"[127.0.0.1]", ""},
		{"[::1", ""},
		{":443", ""},
		{"*.example.com", ""},
		{"photos.example.com:https", ""},
		{"photos.example.com:0", ""},
		{"photos.example.com:65536", ""},
		{"fe80::1%eth0", ""},
		{"[fe80::1%25eth0]:443", ""},
		{"bücher.de", ""},
		{"exa mple.com", ""},
		{"a..example.com", ""},
		{"-a.example.com", ""},
		{"a-.example.com", ""},
		{".", ""},
		{strings.Repeat("a", 64) + ".com", ""},
		{strings.Repeat("abcdefg.", 32) + "com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h, err := parseHost(tt.in)
			if tt.want == "" {
				var ihe *InvalidHostError
				if !errors.As(err, &ihe) || ihe.Host != tt.in {
					t.Fatalf("parseHost(%q) = %q, %v; want *InvalidHostError", tt.in, h, err)
				}
				return
			}
			if err != nil || h.String() != tt.want {
				t.Fatalf("parseHost(%q) = %q, %v; want %q", tt.in, h, err, tt.want)
			}
		})
	}
}

func TestPermits(t *testing.T) {
	constrained := constrainedCA(t, t0())
	open := mustCA(t, CAOptions{})
	tests := []struct {
		host                  string
		constrained, openWant bool
	}{
		{"example.com", true, true},
		{"photos.example.com", true, true},
		{"PHOTOS.EXAMPLE.COM:443", true, true},
		{"a.b.c.example.com", true, true},
		{"photoslibrary.googleapis.com", true, true},
		{"notexample.com", false, true},
		{"example.com.evil.net", false, true},
		{"example.org", false, true},
		{"com", false, true},
		{"127.0.0.1", false, true},
		{"[::1]:443", false, true},
		{"10.0.0.1", false, true},
		{"*.example.com", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := constrained.Permits(tt.host); got != tt.constrained {
				t.Errorf("constrained.Permits(%q) = %v, want %v", tt.host, got, tt.constrained)
			}
			if got := open.Permits(tt.host); got != tt.openWant {
				t.Errorf("unconstrained.Permits(%q) = %v, want %v", tt.host, got, tt.openWant)
			}
		})
	}
}

// TestPermitsAgreesWithX509 mints leaves with the permission check bypassed
// and checks that crypto/x509 accepts exactly the hosts Permits allows. If
// they disagreed, the Issuer would either refuse hosts clients accept, or
// hand out certificates clients reject.
func TestPermitsAgreesWithX509(t *testing.T) {
	now := t0()
	cas := map[string]*CA{
		"constrained":   constrainedCA(t, now),
		"unconstrained": mustCA(t, CAOptions{Now: func() time.Time { return now }}),
	}
	hosts := []string{
		"example.com", "photos.example.com", "x.y.googleapis.com", "notexample.com",
		"example.com.evil.net", "evil.net", "localhost", "127.0.0.1", "192.168.1.10", "::1", "2001:db8::1",
	}
	for name, ca := range cas {
		for _, host := range hosts {
			t.Run(name+"/"+host, func(t *testing.T) {
				h, err := parseHost(host)
				if err != nil {
					t.Fatal(err)
				}
				cert, err := ca.issueLeaf(h, now, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				verr := verifyLeaf(ca, cert.Leaf, host, now)
				if got := ca.Permits(host); got != (verr == nil) {
					t.Errorf("Permits(%q) = %v but x509.Verify error = %v", host, got, verr)
				}
				if verr != nil && !isNameConstraintViolation(verr) {
					t.Errorf("x509.Verify failed for a reason other than name constraints: %v", verr)
				}
			})
		}
	}
}

// TestDNSOnlyConstraintsLeaveIPsOpen shows why the CA also excludes every
// IP range. A CA with only DNS name constraints is still trusted by
// crypto/x509 for any IP SAN.
func TestDNSOnlyConstraintsLeaveIPsOpen(t *testing.T) {
	now := t0()
	tmpl := constrainedCA(t, now).Certificate()
	dnsOnly := *tmpl
	dnsOnly.ExcludedIPRanges = nil
	weak := caFromTemplate(t, &dnsOnly)
	strong := constrainedCA(t, now)

	for _, ip := range []string{"192.0.2.7", "2001:db8::7"} {
		h, _ := parseHost(ip)
		weakLeaf, err := weak.issueLeaf(h, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyLeaf(weak, weakLeaf.Leaf, ip, now); err != nil {
			t.Errorf("%s: expected a DNS-only constrained CA to be accepted for an IP (that is the hole), got %v", ip, err)
		}
		strongLeaf, err := strong.issueLeaf(h, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyLeaf(strong, strongLeaf.Leaf, ip, now); !isNameConstraintViolation(err) {
			t.Errorf("%s: jpegveil CA accepted for an IP SAN; err = %v", ip, err)
		}
	}
}
