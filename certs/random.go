package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
)

// newKey returns a fresh P-256 key. P-256 works with every TLS client
// jpegveil cares about, and it is much cheaper to generate than RSA, which
// matters because each leaf gets its own key.
func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: generate P-256 key: %w", err)
	}
	return key, nil
}

// randomSerial returns a uniformly random positive serial number below
// 2^128. RFC 5280 wants serials unique per issuer and positive. 128 random
// bits make collisions negligible without keeping a counter on disk, and
// make the certificate contents unpredictable to whoever requests one.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("certs: generate serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// shortID returns 8 random hex digits. They go in the CA's CommonName so
// that users can tell two jpegveil CAs apart in a device's trust settings.
func shortID() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("certs: generate CA id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// subjectKeyID implements RFC 7093 section 2 method 1: the leftmost 160
// bits of the SHA-256 hash of the subjectPublicKey BIT STRING, which for
// P-256 is the uncompressed point.
func subjectKeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	point, err := pub.Bytes()
	if err != nil {
		return nil, fmt.Errorf("certs: encode public key: %w", err)
	}
	sum := sha256.Sum256(point)
	return sum[:20], nil
}
