package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"jpegveil/certs"
	"jpegveil/config"
	"jpegveil/proxy"
)

func newServeCmd(a *app) *cobra.Command {
	var configFile, passFile string
	cmd := &cobra.Command{
		Use:   "serve [--config FILE]",
		Short: "Run the proxy",
		Long: `serve runs the intercepting proxy. Without --config it uses the built-in
configuration: listen on 127.0.0.1:8080, state in ~/.local/share/jpegveil
(key, CA and ledger created on first start), and the photo-service rules of
config.example.yaml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configFile)
			if err != nil {
				return err
			}
			log, err := newLogger(cfg.Log)
			if err != nil {
				return err
			}
			defer log.Sync()
			st, err := openState(a, cfg, passFile)
			if err != nil {
				return err
			}
			defer st.Close()
			st.BackupMissing = backupMissing(cfg)
			srv, err := proxy.New(cfg, log, st.Deps)
			if err != nil {
				return err
			}
			l, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return err
			}
			printWelcome(a, cfg, st, l.Addr().String())
			log.Info("listening", zap.String("addr", l.Addr().String()), zap.String("key_id", st.Key.ID()),
				zap.String("ca", st.CAPath), zap.Int("rules", len(cfg.Rules)))
			ctx, stop := signal.NotifyContext(a.context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = srv.Serve(ctx, l)
			log.Info("stopped")
			return err
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file (default: the built-in configuration)")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "file holding the passphrase of a passphrase key")
	return cmd
}

// loadConfig reads FILE, or builds the default configuration.
func loadConfig(file string) (*config.Config, error) {
	if file != "" {
		return config.LoadConfig(file)
	}
	cfg := config.DefaultConfig()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// openState opens (or creates) the state directory, explaining the one
// problem a user is likely to meet: a CA made for other rules.
func openState(a *app, cfg *config.Config, passFile string) (*State, error) {
	st, err := OpenState(cfg, func() ([]byte, error) {
		if passFile == "" {
			return nil, errors.New("the key is a passphrase key: give --passphrase-file")
		}
		return readPassphraseFile(passFile)
	})
	var mismatch *certs.ConstraintsMismatchError
	if errors.As(err, &mismatch) {
		return nil, fmt.Errorf("%w\nThe CA in %s was made for other rule hosts. To use the new rules, delete ca.pem and ca-key.pem there, restart, and install the new CA on your devices (or set ca.name_constraints: false)", err, cfg.StateDir)
	}
	return st, err
}

func printWelcome(a *app, cfg *config.Config, st *State, addr string) {
	w := a.stderr
	if st.KeyCreated {
		fmt.Fprintf(w, "Created a new key in %s.\n", cfg.KeyFile)
	}
	if st.CACreated {
		fmt.Fprintf(w, "Created a new CA in %s.\n", st.CAPath)
	}
	printBackupNotice(w, st.BackupMissing())
	fmt.Fprintf(w, "jpegveil proxy on http://%s (key ID %s)\n", addr, st.Key.ID())
	fmt.Fprintf(w, "  CA certificate: %s\n  CA fingerprint: %s\n", st.CAPath, st.CA.Fingerprint())
	fmt.Fprintf(w, "  Point your browser or device at the proxy, then open http://jpegveil/ to install the CA.\n")
	fmt.Fprintf(w, "  Try: curl -x http://%s --cacert %s https://photoslibrary.googleapis.com/\n", addr, st.CAPath)
}

func (a *app) context() context.Context {
	if a.ctx != nil {
		return a.ctx
	}
	return context.Background()
}
