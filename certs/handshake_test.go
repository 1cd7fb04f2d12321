package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// handshake runs one TLS connection over loopback: a server using
// Issuer.GetCertificate and a client that trusts only the CA. It returns the
// client's connection state and both sides' errors.
func handshake(t *testing.T, iss *Issuer, clientCfg *tls.Config) (tls.ConnectionState, error, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	deadline := time.Now().Add(10 * time.Second)

	serverErr := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(deadline)
		srv := tls.Server(conn, &tls.Config{GetCertificate: iss.GetCertificate, MinVersion: tls.VersionTLS12})
		if err := srv.Handshake(); err != nil {
			serverErr <- err
			return
		}
		_, err = io.WriteString(srv, "hello")
		serverErr <- errors.Join(err, srv.Close())
	}()

	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(deadline)
	client := tls.Client(raw, clientCfg)
	clientErr := client.Handshake()
	if clientErr == nil {
		var buf [5]byte
		if _, err := io.ReadFull(client, buf[:]); err != nil || string(buf[:]) != "hello" {
			t.Errorf("read over TLS: %q, %v", buf, err)
		}
	}
	state := client.ConnectionState()
	_ = client.Close()
	return state, clientErr, <-serverErr
}

func TestTLSHandshake(t *testing.T) {
	ca := constrainedCA(t, time.Now())
	iss := ca.NewIssuer(IssuerOptions{})

	t.Run("trusted", func(t *testing.T) {
		state, cerr, serr := handshake(t, iss, &tls.Config{RootCAs: caPool(ca), ServerName: "photos.example.com"})
		if cerr != nil || serr != nil {
			t.Fatalf("client: %v; server: %v", cerr, serr)
		}
		if len(state.PeerCertificates) != 1 {
			t.Errorf("server sent %d certificates, want just the leaf", len(state.PeerCertificates))
		}
		if len(state.VerifiedChains) != 1 || len(state.VerifiedChains[0]) != 2 ||
			!state.VerifiedChains[0][1].Equal(ca.Certificate()) {
			t.Errorf("verified chain does not end at the jpegveil CA")
		}
		if got := state.PeerCertificates[0].DNSNames; len(got) != 1 || got[0] != "photos.example.com" {
			t.Errorf("leaf SANs %q", got)
		}
	})

	t.Run("client without the CA", func(t *testing.T) {
		other := mustCA(t, CAOptions{})
		_, cerr, _ := handshake(t, iss, &tls.Config{RootCAs: caPool(other), ServerName: "photos.example.com"})
		var unknown x509.UnknownAuthorityError
		if !errors.As(cerr, &unknown) {
			t.Fatalf("client accepted a CA it does not trust: %v", cerr)
		}
	})

	t.Run("name outside constraints", func(t *testing.T) {
		_, cerr, serr := handshake(t, iss, &tls.Config{RootCAs: caPool(ca), ServerName: "photos.example.org"})
		var npe *NotPermittedError
		if cerr == nil || !errors.As(serr, &npe) {
			t.Fatalf("client: %v; server: %v; want the server to refuse with *NotPermittedError", cerr, serr)
		}
	})
}
