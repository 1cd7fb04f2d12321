package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"jpegveil/certs"
	"jpegveil/config"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/proxy"
)

// State is what the proxy keeps in its state directory.
type State struct {
	proxy.Deps
	Dir        string
	KeyCreated bool
	CACreated  bool
	CAPath     string
}

// Close releases the ledger.
func (st *State) Close() error { return st.Ledger.Close() }

// OpenState opens the state directory of cfg, creating on first start what
// is missing: the directory (0700), a random key in extended mode (0600),
// the CA (constrained to the rule domains unless ca.name_constraints is
// false) and the ledger. passphrase is asked for only when the key file is
// a passphrase key; it may be nil otherwise.
func OpenState(cfg *config.Config, passphrase func() ([]byte, error)) (*State, error) {
	st := &State{Dir: cfg.StateDir}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	ring, created, err := loadOrCreateKeyring(cfg.KeyFile, passphrase)
	if err != nil {
		return nil, err
	}
	st.Keyring, st.Key, st.KeyCreated = ring, ring.Current(), created
	var opts certs.CAOptions
	if cfg.CA.NameConstraints {
		opts.PermittedDomains = cfg.RuleDomains()
	}
	ca, caCreated, err := certs.LoadOrCreateCA(cfg.StateDir, opts)
	if err != nil {
		return nil, err
	}
	st.CA, st.CACreated = ca, caCreated
	st.CAPath = filepath.Join(cfg.StateDir, certs.CertFileName)
	led, err := ledger.OpenBolt(filepath.Join(cfg.StateDir, "ledger.db"), ledger.BoltOptions{})
	if err != nil {
		return nil, err
	}
	st.Ledger = led
	return st, nil
}

// loadOrCreateKeyring reads the keyring at path (a single key file is a
// keyring of one key; after `jpegveil key rotate` its first key is the
// current one, which encrypts, and the older ones still decrypt), or
// creates a key file there on first start.
func loadOrCreateKeyring(path string, passphrase func() ([]byte, error)) (*keystream.Keyring, bool, error) {
	files, err := keystream.ReadKeyring(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := keystream.GenerateKey(keystream.ModeExtended)
		if err != nil {
			return nil, false, err
		}
		if err := keystream.WriteKeyFile(path, key.MarshalKeyFile()); err != nil {
			return nil, false, err
		}
		ring, err := keystream.NewKeyring(key)
		return ring, true, err
	}
	if err != nil {
		return nil, false, err
	}
	var pass []byte
	if slices.ContainsFunc(files, (*keystream.KeyFile).NeedsPassphrase) {
		if passphrase == nil {
			return nil, false, fmt.Errorf("%s holds a passphrase key: a passphrase is needed to start", path)
		}
		if pass, err = passphrase(); err != nil {
			return nil, false, err
		}
	}
	ring, err := keystream.KeyringFromFiles(files, pass)
	return ring, false, err
}

// newLogger builds the zap logger l describes, writing to standard error.
// The caller owns it and passes it on; there is no global logger.
func newLogger(l config.LogConfig, opts ...zap.Option) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(l.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.Sampling = nil
	switch l.Format {
	case "json":
	case "console":
		zc.Encoding = "console"
		zc.EncoderConfig = zap.NewDevelopmentEncoderConfig()
	default:
		return nil, fmt.Errorf("log.format: unknown format %q", l.Format)
	}
	return zc.Build(opts...)
}
