package certs

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"time"
)

// issueLeaf mints a server certificate for h. It does not check the name
// constraints: the Issuer does that first. Tests call issueLeaf directly to
// check that clients enforce the constraints too.
func (ca *CA) issueLeaf(h hostName, now time.Time, validity time.Duration) (*tls.Certificate, error) {
	if !now.Before(ca.cert.NotAfter) {
		return nil, &CAExpiredError{NotAfter: ca.cert.NotAfter}
	}
	// Every leaf gets its own fresh key. It is never derived from the CA key
	// or the host name, so one leaked leaf key exposes nothing else.
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		// A leaf outliving its issuer would be rejected anyway. Clamping
		// keeps issuance working until the CA itself expires.
		notAfter = ca.cert.NotAfter
	}
	subject := pkix.Name{
		// Tells users inspecting the certificate in a browser who issued it.
		Organization: []string{"jpegveil"},
	}
	if s := h.String(); len(s) <= 64 {
		// Clients match on the SAN, not the CN. The CN is only for people
		// reading the certificate. RFC 5280 caps it at 64 characters, so a
		// longer host gets none.
		subject.CommonName = s
	}
	tmpl := &x509.Certificate{
		// Random 128-bit serial: see randomSerial.
		SerialNumber: serial,
		Subject:      subject,
		// Backdated so that devices with slow clocks accept it: see clockSkew.
		NotBefore: now.Add(-clockSkew),
		// Short-lived (a day by default): a stolen leaf key soon becomes
		// useless, and it is well under Apple's 398/825-day limits.
		NotAfter: notAfter,
		// ECDHE key exchange only needs signatures. An ECDSA key cannot do
		// RSA key encipherment, so KeyEncipherment would be wrong.
		KeyUsage: x509.KeyUsageDigitalSignature,
		// TLS server only. iOS 13 and macOS 10.15 require serverAuth on TLS
		// leaves, and it nests within the CA's serverAuth-only EKU.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		// Explicitly CA:FALSE, so the leaf cannot act as an issuer even for a
		// verifier that ignores pathLenConstraint.
		BasicConstraintsValid: true,
		IsCA:                  false,
		// Points at the CA's key. Python 3.13's strict verification requires
		// this, and it speeds up chain building. No SubjectKeyId on the leaf:
		// RFC 5280 makes it optional there, and mitmproxy found SChannel
		// misbehaves if a leaf and its CA share one.
		AuthorityKeyId: ca.cert.SubjectKeyId,
	}
	// The SAN is the only name modern clients check, and the one the name
	// constraints apply to.
	if h.isIP() {
		tmpl.IPAddresses = []net.IP{h.ip.AsSlice()}
	} else {
		tmpl.DNSNames = []string{h.dns}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("certs: create certificate for %s: %w", h, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: parse certificate for %s: %w", h, err)
	}
	return &tls.Certificate{
		// The chain is the leaf alone. Clients already hold the root, and
		// sending it would only add bytes to every handshake.
		Certificate: [][]byte{der},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}
