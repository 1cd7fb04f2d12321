package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// DefaultCAValidity is the CA lifetime when CAOptions.Validity is zero:
// two years. Apple's 398/825-day limits apply to leaf certificates, not to
// roots, so this is a trade-off. A copied CA key lets someone intercept
// the permitted hosts until devices stop trusting the root. Users, though,
// must reinstall and re-trust the root on every device when it expires.
// Two years bounds the first while keeping the second rare.
const DefaultCAValidity = 2 * 365 * 24 * time.Hour

// clockSkew is how far NotBefore is backdated, on the CA and on leaves.
// Without it, a device whose clock runs a few minutes slow would reject a
// certificate that was just issued.
const clockSkew = time.Hour

// CA is jpegveil's certificate authority. It cannot be changed after it is
// created and is safe for concurrent use.
type CA struct {
	cert        *x509.Certificate
	key         *ecdsa.PrivateKey
	der         []byte
	fingerprint string
}

// CAOptions configures NewCA and LoadOrCreateCA.
type CAOptions struct {
	// PermittedDomains become the CA's DNS name constraints. Each entry also
	// covers its subdomains ("googleapis.com" permits
	// "photoslibrary.googleapis.com"). An empty list means no name
	// constraints at all. Use it only when the user opts out explicitly.
	PermittedDomains []string

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Validity is the CA's lifetime; zero or negative means DefaultCAValidity.
	Validity time.Duration
}

func (o CAOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// NewCA generates a new CA in memory. To keep it, use LoadOrCreateCA.
func NewCA(opts CAOptions) (*CA, error) {
	domains, err := normalizeDomains(opts.PermittedDomains)
	if err != nil {
		return nil, err
	}
	validity := opts.Validity
	if validity <= 0 {
		validity = DefaultCAValidity
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	id, err := shortID()
	if err != nil {
		return nil, err
	}
	skid, err := subjectKeyID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	tmpl := caTemplate(serial, id, skid, opts.now(), validity, domains)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certs: create CA certificate: %w", err)
	}
	ca, err := newCA(der, key)
	if err != nil {
		return nil, fmt.Errorf("certs: new CA: %w", err)
	}
	return ca, nil
}

// caTemplate is the CA certificate; every field choice says why.
func caTemplate(serial *big.Int, id string, skid []byte, now time.Time, validity time.Duration, domains []string) *x509.Certificate {
	tmpl := &x509.Certificate{
		// Random 128-bit serial: see randomSerial.
		SerialNumber: serial,
		Subject: pkix.Name{
			// iOS does not accept a root without a CommonName. The random id
			// tells two jpegveil CAs apart in a device's trust settings.
			CommonName: "jpegveil CA " + id,
			// Organization is how users find the root in a trust store.
			Organization: []string{"jpegveil"},
		},
		// Backdated so that devices with slow clocks accept it: see clockSkew.
		NotBefore: now.Add(-clockSkew),
		// See DefaultCAValidity for the lifetime trade-off.
		NotAfter: now.Add(validity),
		// CertSign to sign leaves, and CRLSign because RFC 5280 pairs it with
		// CAs. No DigitalSignature: this key signs nothing but certificates,
		// so a leaked key cannot sign OCSP responses or TLS handshakes.
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		// Verifiers that nest EKUs down the chain (Go's crypto/x509, Windows
		// CryptoAPI, OpenSSL with a purpose set) then refuse client-auth,
		// S/MIME or code-signing leaves from this root, even if its key leaks.
		// mitmproxy's CA carries the same EKU and installs fine on iOS.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		// Marks this certificate as a CA (the extension is always critical in Go).
		BasicConstraintsValid: true,
		IsCA:                  true,
		// pathLenConstraint 0: the CA signs leaves only, never intermediate
		// CAs. A leaked key cannot mint an unconstrained sub-CA.
		MaxPathLen:     0,
		MaxPathLenZero: true,
		// An explicit RFC 7093 key id. Leaves point at it through their
		// AuthorityKeyId so chains build without comparing names.
		SubjectKeyId: skid,
	}
	if len(domains) > 0 {
		// Limit the CA to the domains named in the rules. A leaked key then
		// cannot impersonate a bank or a mail server.
		tmpl.PermittedDNSDomains = domains
		// Critical: a client that does not understand name constraints must
		// reject the CA, not ignore the constraints and trust it for every
		// name.
		tmpl.PermittedDNSDomainsCritical = true
		// RFC 5280 applies a constraint only to names of the same type.
		// With DNS constraints alone, a leaf carrying an IP SAN is
		// unconstrained: Go and Chrome would accept this CA for any IP
		// address. jpegveil intercepts by host name, so exclude every IPv4
		// and IPv6 address. This is the form the CA/Browser Forum uses for
		// "no IP addresses".
		tmpl.ExcludedIPRanges = []*net.IPNet{
			{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
			{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
		}
	}
	return tmpl
}

// newCA builds a CA from its DER certificate and matching key. It checks
// that the certificate is a CA certificate that can sign, that the key
// matches, and that the self-signature verifies.
func newCA(der []byte, key *ecdsa.PrivateKey) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, errors.New("certificate is not a CA certificate (basicConstraints CA:TRUE missing)")
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("CA certificate lacks the certSign key usage")
	}
	if key.Curve != elliptic.P256() {
		return nil, errors.New("CA key is not ECDSA P-256")
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, &KeyMismatchError{} // LoadOrCreateCA fills in the file names
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		return nil, fmt.Errorf("CA certificate is not validly self-signed: %w", err)
	}
	return &CA{
		cert:        cert,
		key:         key,
		der:         der,
		fingerprint: fingerprint(der),
	}, nil
}

// Certificate returns the parsed CA certificate. It is shared with the CA
// and must not be modified.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertDER returns a copy of the DER-encoded CA certificate.
func (ca *CA) CertDER() []byte { return append([]byte(nil), ca.der...) }

// CertPEM returns the CA certificate PEM-encoded, for ca.pem and for
// devices that install a .pem or .crt file.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der})
}

// Fingerprint returns the SHA-256 fingerprint of the CA certificate in the
// form browsers and iOS show: uppercase hex bytes separated by colons.
func (ca *CA) Fingerprint() string { return ca.fingerprint }

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// Permits reports whether the CA's name constraints allow a certificate for
// host. The host is normalized as Issuer.Certificate does (port stripped,
// lowercased). An unconstrained CA permits every valid host. An invalid host
// is never permitted.
func (ca *CA) Permits(host string) bool {
	h, err := parseHost(host)
	return err == nil && ca.permits(h)
}

// permits applies the certificate's own name constraints, not the options
// it was created with. A CA loaded from disk is therefore judged by what
// clients will enforce.
func (ca *CA) permits(h hostName) bool {
	c := ca.cert
	if h.isIP() {
		if len(c.PermittedIPRanges) > 0 && !ipWithin(h.ip, c.PermittedIPRanges) {
			return false
		}
		return !ipWithin(h.ip, c.ExcludedIPRanges)
	}
	if len(c.PermittedDNSDomains) > 0 {
		ok := false
		for _, d := range c.PermittedDNSDomains {
			if domainWithin(h.dns, d) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, d := range c.ExcludedDNSDomains {
		if domainWithin(h.dns, d) {
			return false
		}
	}
	return true
}
