package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
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
	// CACreated is the CA generation this start created, or nil; NewDomains
	// are the wanted domains no older generation permitted.
	CACreated  *certs.Generation
	NewDomains []string
	// DirNotice tells the user that the state directory was made private,
	// or is empty.
	DirNotice  string
	LedgerPath string
}

// Close releases the ledger.
func (st *State) Close() error { return st.Ledger.Close() }

// OpenState opens the state directory of cfg, creating on first start what
// is missing: the directory (0700), a random key in extended mode (0600),
// a CA generation covering caWant(cfg) (see certs.Authorities) and the
// ledger. passphrase is asked for only when the key file is
// a passphrase key; it may be nil otherwise.
//
// Once a ledger existed, a missing, empty or damaged one is an error (a
// *ledger.RecoveryError saying how to recover), never a silent new file:
// without it every earlier photo looks like plaintext, and encrypting a
// ciphertext again decrypts it. newLedger starts a new one on purpose.
func OpenState(cfg *config.Config, passphrase func() ([]byte, error), newLedger bool) (*State, error) {
	st := &State{Dir: cfg.StateDir}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	notice, err := privateStateDir(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	st.DirNotice = notice
	ring, created, err := loadOrCreateKeyring(cfg.KeyFile, passphrase)
	if err != nil {
		return nil, err
	}
	st.Keyring, st.Key, st.KeyCreated = ring, ring.Current(), created
	if err := st.ensureAuthorities(cfg); err != nil {
		return nil, err
	}
	st.LedgerPath = filepath.Join(cfg.StateDir, ledgerFileName)
	led, err := ledger.OpenGuarded(st.LedgerPath, ledger.GuardOptions{KeyID: st.Key.ID(), StartNew: newLedger})
	if err != nil {
		return nil, err
	}
	st.Ledger = led
	return st, nil
}

// caWant is what the CA generations must cover: every preset service's
// domains and the rule domains, so that a rule change seldom needs a new
// generation, and no constraints at all with ca.name_constraints: false.
// IP addresses are left out: a constrained CA never issues for them.
func caWant(cfg *config.Config) certs.Want {
	var domains []string
	for _, d := range append(config.PresetDomains(), cfg.RuleDomains()...) {
		if net.ParseIP(d) == nil && !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	return certs.Want{Domains: domains, Unconstrained: !cfg.CA.NameConstraints}
}

// ensureAuthorities loads the CA generations and creates one when the
// configuration wants domains no live generation permits. It never refuses
// a change of rules: devices keep the generations they trust.
func (st *State) ensureAuthorities(cfg *config.Config) error {
	want := caWant(cfg)
	before, err := certs.LoadAuthorities(cfg.StateDir, certs.CAOptions{})
	if err != nil {
		return err
	}
	if st.NewDomains, err = before.Missing(want); err != nil {
		return err
	}
	auth, created, err := before.Ensure(want)
	if err != nil {
		return err
	}
	st.Authorities, st.CACreated = auth, created
	st.CA = auth.Newest().CA
	return nil
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
	clear(pass) // the derived keys are all that is kept, as in app.loadKeyring
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
