package proxy

import (
	"os"
	"path/filepath"
	"testing"

	"jpegveil/certs"
	"jpegveil/config"
	"jpegveil/keystream"
	"jpegveil/ledger"
)

// testState holds what cmd/jpegveil's OpenState makes of a state directory
// (a key, the CA constrained to the rule domains, a ledger), made fresh for
// one test.
type testState struct {
	Deps
}

func openTestState(t testing.TB, cfg *config.Config) *testState {
	t.Helper()
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := keystream.GenerateKey(keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	var opts certs.CAOptions
	if cfg.CA.NameConstraints {
		opts.PermittedDomains = cfg.RuleDomains()
	}
	ca, _, err := certs.LoadOrCreateCA(cfg.StateDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	led, err := ledger.OpenBolt(filepath.Join(cfg.StateDir, "ledger.db"), ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	return &testState{Deps{Key: key, CA: ca, Ledger: led}}
}
