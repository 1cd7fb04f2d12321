package certs

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func ensure(t *testing.T, dir string, want Want, opts CAOptions) (*Authorities, *Generation) {
	t.Helper()
	a, created, err := EnsureAuthorities(dir, want, opts)
	if err != nil {
		t.Fatalf("EnsureAuthorities(%v): %v", want, err)
	}
	return a, created
}

// verifiesUnder issues a leaf for host and reports whether a device that
// trusts only gen accepts it.
func verifiesUnder(t *testing.T, a *Authorities, host string, gen *Generation) bool {
	t.Helper()
	leaf, err := a.NewIssuer(IssuerOptions{}).Certificate(host)
	if err != nil {
		t.Fatalf("Certificate(%s): %v", host, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(gen.CA.Certificate())
	_, err = leaf.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool})
	return err == nil
}

func TestAuthoritiesFirstStartCreatesGenerationOne(t *testing.T) {
	dir := t.TempDir()
	a, created := ensure(t, dir, Want{Domains: testDomains()}, CAOptions{})
	if created == nil || created.Number != 1 {
		t.Fatalf("created = %+v, want generation 1", created)
	}
	if created.CertPath != filepath.Join(dir, CertFileName) || created.KeyPath != filepath.Join(dir, KeyFileName) {
		t.Errorf("generation 1 lives in %s / %s, want the historical ca.pem / ca-key.pem", created.CertPath, created.KeyPath)
	}
	// The same rules again, or fewer of them: nothing changes.
	for _, want := range []Want{{Domains: testDomains()}, {Domains: []string{"example.com"}}} {
		again, created := ensure(t, dir, want, CAOptions{})
		if created != nil {
			t.Errorf("EnsureAuthorities(%v) created generation %d for domains already covered", want, created.Number)
		}
		if got := len(again.Generations()); got != 1 {
			t.Errorf("%d generations, want 1", got)
		}
	}
	if a.Newest().Number != 1 {
		t.Errorf("Newest = %d", a.Newest().Number)
	}
}

func TestAuthoritiesNewDomainKeepsOldDevicesWorking(t *testing.T) {
	dir := t.TempDir()
	// A state directory made before generations existed.
	if _, _, err := LoadOrCreateCA(dir, CAOptions{PermittedDomains: testDomains()}); err != nil {
		t.Fatal(err)
	}
	a, created := ensure(t, dir, Want{Domains: append(testDomains(), "immich.home.arpa")}, CAOptions{})
	if created == nil || created.Number != 2 {
		t.Fatalf("created = %+v, want generation 2", created)
	}
	gens := a.Generations()
	if len(gens) != 2 {
		t.Fatalf("%d generations, want 2", len(gens))
	}
	old, fresh := gens[0], gens[1]
	// A device that installed only the old CA still reaches the old hosts.
	if !verifiesUnder(t, a, "photoslibrary.googleapis.com", old) {
		t.Error("a host the first CA covers is not issued by the first CA")
	}
	if got := a.For("photoslibrary.googleapis.com"); got.Number != 1 {
		t.Errorf("For(old host) = generation %d, want 1", got.Number)
	}
	// The new domain needs the new CA, and the new CA covers everything.
	if !verifiesUnder(t, a, "immich.home.arpa", fresh) {
		t.Error("the new domain's leaf does not verify under generation 2")
	}
	if verifiesUnder(t, a, "immich.home.arpa", old) {
		t.Error("the new domain's leaf verifies under generation 1, which never permitted it")
	}
	wantDomains := []string{"example.com", "googleapis.com", "immich.home.arpa"}
	if got := fresh.Domains(); len(got) != len(wantDomains) {
		t.Errorf("generation 2 permits %v, want the union %v", got, wantDomains)
	}
	// Reloading sees both.
	reloaded, err := LoadAuthorities(dir, CAOptions{})
	if err != nil || len(reloaded.Generations()) != 2 {
		t.Fatalf("LoadAuthorities: %v, %d generations", err, len(reloaded.Generations()))
	}
}

func TestAuthoritiesUnconstrainedOptOut(t *testing.T) {
	dir := t.TempDir()
	ensure(t, dir, Want{Domains: testDomains()}, CAOptions{})
	a, created := ensure(t, dir, Want{Domains: testDomains(), Unconstrained: true}, CAOptions{})
	if created == nil || !created.Unconstrained() {
		t.Fatalf("created = %+v, want an unconstrained generation", created)
	}
	for _, host := range []string{"cloud.example.org", "photos.example.net"} {
		if g := a.For(host); g == nil || g.Number != created.Number {
			t.Errorf("For(%s) = %v, want the unconstrained generation", host, g)
		}
		if !verifiesUnder(t, a, host, created) {
			t.Errorf("%s does not verify under the unconstrained generation", host)
		}
	}
	if _, again := ensure(t, dir, Want{Unconstrained: true}, CAOptions{}); again != nil {
		t.Error("a second unconstrained generation was created")
	}
}

func TestAuthoritiesRotateAndRetire(t *testing.T) {
	dir := t.TempDir()
	a, _ := ensure(t, dir, Want{Domains: testDomains()}, CAOptions{})
	a, g2, err := a.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if g2.Number != 2 || len(g2.Domains()) != 2 {
		t.Fatalf("rotated generation = %d permitting %v", g2.Number, g2.Domains())
	}
	if a.For("example.com").Number != 1 {
		t.Error("before retiring, hosts stay on generation 1")
	}
	a, err = a.Retire(1)
	if err != nil {
		t.Fatal(err)
	}
	if a.For("example.com").Number != 2 {
		t.Error("after retiring generation 1, hosts move to generation 2")
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the retired key still exists: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "retired-"+CertFileName)); err != nil {
		t.Errorf("the retired certificate was not kept: %v", err)
	}
	if _, err := a.Retire(2); !errors.As(err, new(*LastGenerationError)) {
		t.Errorf("Retire(last) = %v, want *LastGenerationError", err)
	}
	if _, err := a.Retire(7); !errors.As(err, new(*NoSuchGenerationError)) {
		t.Errorf("Retire(7) = %v, want *NoSuchGenerationError", err)
	}
	reloaded, err := LoadAuthorities(dir, CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if gens := reloaded.Generations(); len(gens) != 1 || gens[0].Number != 2 {
		t.Fatalf("after reload: %v", gens)
	}
	_, g3, err := reloaded.Rotate()
	if err != nil || g3.Number != 3 {
		t.Fatalf("next rotation = %v, %v; want generation 3", g3, err)
	}
}

func TestAuthoritiesExpiredGenerationIsReplaced(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock(t0())
	opts := CAOptions{Now: clock.Now, Validity: 48 * time.Hour}
	ensure(t, dir, Want{Domains: testDomains()}, opts)
	clock.Advance(72 * time.Hour)
	a, created := ensure(t, dir, Want{Domains: testDomains()}, opts)
	if created == nil || created.Number != 2 {
		t.Fatalf("created = %+v, want generation 2 to replace the expired one", created)
	}
	if g := a.For("example.com"); g == nil || g.Number != 2 {
		t.Errorf("For = %v, want generation 2", g)
	}
}

func TestAuthoritiesRefuseDamagedGenerations(t *testing.T) {
	dir := t.TempDir()
	a, _ := ensure(t, dir, Want{Domains: testDomains()}, CAOptions{})
	if _, _, err := a.Rotate(); err != nil {
		t.Fatal(err)
	}
	_, key2 := GenerationPaths(dir, 2)
	if err := os.Chmod(key2, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAuthorities(dir, CAOptions{}); !errors.As(err, new(*InsecureKeyFileError)) {
		t.Errorf("readable key: %v, want *InsecureKeyFileError", err)
	}
	if err := os.Remove(key2); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAuthorities(dir, CAOptions{}); !errors.As(err, new(*IncompleteCAError)) {
		t.Errorf("missing key: %v, want *IncompleteCAError", err)
	}
}

func TestAuthoritiesEmptyDirectory(t *testing.T) {
	a, err := LoadAuthorities(filepath.Join(t.TempDir(), "none"), CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Newest() != nil || a.For("example.com") != nil {
		t.Error("an empty directory has generations")
	}
	if _, err := a.NewIssuer(IssuerOptions{}).Certificate("example.com"); !errors.As(err, new(*NotPermittedError)) {
		t.Errorf("issuing with no generation: %v, want *NotPermittedError", err)
	}
}
