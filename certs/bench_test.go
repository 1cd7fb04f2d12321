package certs

import (
	"strconv"
	"testing"
)

// BenchmarkIssueLeaf measures cold issuance: a new host every iteration, so
// each one pays for a P-256 key generation and an ECDSA signature.
func BenchmarkIssueLeaf(b *testing.B) {
	iss := constrainedCA(b, t0()).NewIssuer(IssuerOptions{Now: t0})
	n := 0
	for b.Loop() {
		n++
		if _, err := iss.Certificate("h" + strconv.Itoa(n) + ".example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedLeaf measures the cache hit path a TLS handshake takes for
// a host seen recently.
func BenchmarkCachedLeaf(b *testing.B) {
	iss := constrainedCA(b, t0()).NewIssuer(IssuerOptions{Now: t0})
	if _, err := iss.Certificate("photos.example.com:443"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := iss.Certificate("photos.example.com:443"); err != nil {
			b.Fatal(err)
		}
	}
}
