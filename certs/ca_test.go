package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func extension(c *x509.Certificate, oid asn1.ObjectIdentifier) (critical, present bool) {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return e.Critical, true
		}
	}
	return false, false
}

var (
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidNameConstraints  = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
)

func TestNewCAFields(t *testing.T) {
	now := t0()
	ca := mustCA(t, CAOptions{
		PermittedDomains: []string{"Photos.Example.ORG", "googleapis.com", "icloud-content.com.", "googleapis.com"},
		Now:              func() time.Time { return now },
	})
	// Parse afresh from DER, as a device would.
	c, err := x509.ParseCertificate(ca.CertDER())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		check func() error
	}{
		{"common name", func() error {
			if !regexp.MustCompile(`^jpegveil CA [0-9a-f]{8}$`).MatchString(c.Subject.CommonName) {
				return fmt.Errorf("CN = %q", c.Subject.CommonName)
			}
			return nil
		}},
		{"organization", func() error {
			if !slices.Equal(c.Subject.Organization, []string{"jpegveil"}) {
				return fmt.Errorf("O = %q", c.Subject.Organization)
			}
			return nil
		}},
		{"self-issued", func() error {
			if !bytes.Equal(c.RawIssuer, c.RawSubject) {
				return errors.New("issuer != subject")
			}
			return c.CheckSignatureFrom(c)
		}},
		{"ECDSA P-256 key", func() error {
			pub, ok := c.PublicKey.(*ecdsa.PublicKey)
			if !ok || pub.Curve != elliptic.P256() {
				return fmt.Errorf("public key %T", c.PublicKey)
			}
			if c.SignatureAlgorithm != x509.ECDSAWithSHA256 {
				return fmt.Errorf("signature algorithm %v", c.SignatureAlgorithm)
			}
			return nil
		}},
		{"CA basic constraints, critical", func() error {
			if !c.BasicConstraintsValid || !c.IsCA {
				return errors.New("not a CA")
			}
			if crit, ok := extension(c, oidBasicConstraints); !ok || !crit {
				return errors.New("basicConstraints not critical")
			}
			return nil
		}},
		{"path length zero", func() error {
			if c.MaxPathLen != 0 || !c.MaxPathLenZero {
				return fmt.Errorf("MaxPathLen=%d MaxPathLenZero=%v", c.MaxPathLen, c.MaxPathLenZero)
			}
			return nil
		}},
		{"key usage", func() error {
			if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
				return fmt.Errorf("KeyUsage = %b", c.KeyUsage)
			}
			if crit, ok := extension(c, oidKeyUsage); !ok || !crit {
				return errors.New("keyUsage not critical")
			}
			return nil
		}},
		{"EKU serverAuth only", func() error {
			if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
				return fmt.Errorf("ExtKeyUsage = %v", c.ExtKeyUsage)
			}
			return nil
		}},
		{"serial positive, at most 128 bits", func() error {
			if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
				return fmt.Errorf("serial %v", c.SerialNumber)
			}
			return nil
		}},
		{"subject key id RFC 7093", func() error {
			point, _ := c.PublicKey.(*ecdsa.PublicKey).Bytes()
			sum := sha256.Sum256(point)
			if !bytes.Equal(c.SubjectKeyId, sum[:20]) {
				return fmt.Errorf("SubjectKeyId = %x", c.SubjectKeyId)
			}
			return nil
		}},
		{"validity", func() error {
			if !c.NotBefore.Equal(now.Add(-time.Hour)) {
				return fmt.Errorf("NotBefore = %v", c.NotBefore)
			}
			if !c.NotAfter.Equal(now.Add(DefaultCAValidity)) {
				return fmt.Errorf("NotAfter = %v", c.NotAfter)
			}
			return nil
		}},
		{"permitted DNS domains normalized", func() error {
			want := []string{"googleapis.com", "icloud-content.com", "photos.example.org"}
			if !slices.Equal(c.PermittedDNSDomains, want) {
				return fmt.Errorf("PermittedDNSDomains = %q, want %q", c.PermittedDNSDomains, want)
			}
			return nil
		}},
		{"name constraints critical", func() error {
			if crit, ok := extension(c, oidNameConstraints); !ok || !crit {
				return fmt.Errorf("nameConstraints present=%v critical=%v", ok, crit)
			}
			if !c.PermittedDNSDomainsCritical {
				return errors.New("PermittedDNSDomainsCritical not set after parsing")
			}
			return nil
		}},
		{"all IPv4 and IPv6 excluded", func() error {
			if len(c.PermittedIPRanges) != 0 || len(c.ExcludedIPRanges) != 2 {
				return fmt.Errorf("permitted %v excluded %v", c.PermittedIPRanges, c.ExcludedIPRanges)
			}
			var lens []int
			for _, n := range c.ExcludedIPRanges {
				if ones, _ := n.Mask.Size(); ones != 0 || !n.IP.IsUnspecified() {
					return fmt.Errorf("excluded range %v is not /0", n)
				}
				lens = append(lens, len(n.IP))
			}
			if !slices.Equal(lens, []int{4, 16}) {
				return fmt.Errorf("excluded range address lengths %v", lens)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestNewCAUnconstrained(t *testing.T) {
	ca := mustCA(t, CAOptions{Validity: 90 * 24 * time.Hour, Now: t0})
	c := ca.Certificate()
	if _, ok := extension(c, oidNameConstraints); ok {
		t.Error("unconstrained CA has a nameConstraints extension")
	}
	if got := c.NotAfter.Sub(c.NotBefore); got != 90*24*time.Hour+time.Hour {
		t.Errorf("lifetime = %v, want 90 days plus the 1h backdate", got)
	}
}

func TestNewCAIsUnique(t *testing.T) {
	a, b := mustCA(t, CAOptions{}), mustCA(t, CAOptions{})
	if a.Certificate().Subject.CommonName == b.Certificate().Subject.CommonName {
		t.Error("two CAs share a CommonName")
	}
	if a.Certificate().SerialNumber.Cmp(b.Certificate().SerialNumber) == 0 {
		t.Error("two CAs share a serial")
	}
	if a.key.Equal(b.key) {
		t.Error("two CAs share a key")
	}
}

func TestNewCAInvalidDomains(t *testing.T) {
	tests := []string{
		"*.example.com",
		".example.com",
		"1.2.3.4",
		"::1",
		"example.com:443",
		"https://example.com",
		"",
		"exa mple.com",
		"bücher.de",
		"a..b",
		"-bad.example.com",
		strings.Repeat("a", 64) + ".com",
	}
	for _, d := range tests {
		t.Run(d, func(t *testing.T) {
			_, err := NewCA(CAOptions{PermittedDomains: []string{"example.org", d}})
			var ide *InvalidDomainError
			if !errors.As(err, &ide) || ide.Domain != d {
				t.Fatalf("NewCA(%q) error = %v, want *InvalidDomainError", d, err)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	ca := mustCA(t, CAOptions{})
	fp := ca.Fingerprint()
	if !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(fp) {
		t.Fatalf("Fingerprint() = %q, not colon-separated uppercase SHA-256", fp)
	}
	sum := sha256.Sum256(ca.CertDER())
	if want := strings.ToUpper(fmt.Sprintf("%x", sum)); strings.ReplaceAll(fp, ":", "") != want {
		t.Errorf("Fingerprint() = %s, want hash %s", fp, want)
	}
}

func TestCertEncodings(t *testing.T) {
	ca := mustCA(t, CAOptions{})
	block, rest := pem.Decode(ca.CertPEM())
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("CertPEM is not a single CERTIFICATE block")
	}
	if !bytes.Equal(block.Bytes, ca.CertDER()) || !bytes.Equal(block.Bytes, ca.Certificate().Raw) {
		t.Error("PEM, DER and Certificate().Raw disagree")
	}
	der := ca.CertDER()
	der[0] ^= 0xff
	if bytes.Equal(der, ca.CertDER()) {
		t.Error("CertDER returns the CA's internal slice")
	}
}
