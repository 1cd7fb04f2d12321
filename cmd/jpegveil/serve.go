package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
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
		Long: `serve runs the intercepting proxy. The configuration is the first of:
--config FILE, the file $JPEGVEIL_CONFIG names, the file jpegveil init
writes ($XDG_CONFIG_HOME/jpegveil/config.yaml, or
~/.config/jpegveil/config.yaml), and the built-in configuration (listen
on 127.0.0.1:8080, state in ~/.local/share/jpegveil, the photo-service
rules of config.example.yaml). serve says at start which one it loaded.
The key, the CA and the ledger are created on first start; a rule domain
no CA generation covers gets a new generation (see jpegveil ca).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, src, err := a.loadConfig(configFile)
			if err != nil {
				return err
			}
			log, err := newLogger(cfg.Log)
			if err != nil {
				return err
			}
			defer log.Sync()
			setMemoryLimit(cfg)
			st, err := openState(a, cfg, passFile)
			if err != nil {
				return err
			}
			defer st.Close()
			st.BackupMissing = backupMissing(cfg)
			st.InterfaceAddrs = a.interfaceAddrs
			srv, err := proxy.New(cfg, log, st.Deps)
			if err != nil {
				return err
			}
			l, err := a.listenOn("tcp", cfg.Listen)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "config: %s\n", src)
			reportCAChange(a.stderr, log, cfg, st)
			printWelcome(a, cfg, st, l.Addr().(*net.TCPAddr))
			log.Info("listening", zap.String("addr", l.Addr().String()), zap.String("config", src.String()),
				zap.String("key_id", st.Key.ID()), zap.Int("ca_generations", len(st.Authorities.Generations())),
				zap.Int("rules", len(cfg.Rules)))
			ctx, stop := signal.NotifyContext(a.context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = srv.Serve(ctx, l)
			log.Info("stopped")
			return err
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file (default: $JPEGVEIL_CONFIG, then ~/.config/jpegveil/config.yaml, then the built-in configuration)")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "file holding the passphrase of a passphrase key")
	return cmd
}

// runtimeMemory is what the proxy needs besides its buffered uploads:
// connections, streaming transforms, certificates.
const runtimeMemory = 128 << 20

// setMemoryLimit asks the Go runtime to collect garbage soon enough to keep
// the process near limits.buffer_memory plus runtimeMemory: buffers given
// back to the budget would otherwise linger, up to twice the live heap.
// GOMEMLIMIT, when set, is the user's choice and stays.
func setMemoryLimit(cfg *config.Config) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(cfg.Limits.BufferMemory) + runtimeMemory)
	}
}

// openState opens (or creates) the state directory, and tells the user
// when it had to be made private.
func openState(a *app, cfg *config.Config, passFile string) (*State, error) {
	st, err := OpenState(cfg, func() ([]byte, error) {
		if passFile == "" {
			return nil, errors.New("the key is a passphrase key: give --passphrase-file")
		}
		return readPassphraseFile(passFile)
	})
	if st != nil && st.DirNotice != "" {
		fmt.Fprintln(a.stderr, st.DirNotice)
	}
	return st, err
}

// printWelcome prints where devices find the proxy, which CA generations
// they install and a curl command that goes through an intercepted host.
func printWelcome(a *app, cfg *config.Config, st *State, addr *net.TCPAddr) {
	w := a.stderr
	if st.KeyCreated {
		fmt.Fprintf(w, "Created a new key in %s.\n", cfg.KeyFile)
	}
	addrs, loopbackOnly := proxy.ReachableAddrs(addr, st.InterfaceAddrs)
	local := net.JoinHostPort("127.0.0.1", strconv.Itoa(addr.Port))
	if ip := addr.IP; !ip.IsUnspecified() {
		local = addr.String()
	}
	shown := local
	if len(addrs) > 0 {
		shown = addrs[0]
	}
	printBackupNotice(w, st.BackupMissing())
	fmt.Fprintf(w, "jpegveil proxy on http://%s (key ID %s)\n", shown, st.Key.ID())
	switch {
	case loopbackOnly && addr.IP.IsUnspecified():
		fmt.Fprintf(w, "  This machine has no network address besides loopback: phones cannot reach it yet.\n")
	case loopbackOnly:
		fmt.Fprintf(w, "  Only this machine can use it (listen: %s). For phones, set listen: 0.0.0.0:%d and\n"+
			"  clients.allow: [your network, e.g. 192.168.1.0/24] in %s, then restart.\n", cfg.Listen, addr.Port, configName(cfg))
	default:
		fmt.Fprintf(w, "  Devices enter as proxy: %s\n", strings.Join(addrs, ", "))
	}
	fmt.Fprintf(w, "  Set-up page: http://%s/ (QR code, steps, certificates; http://jpegveil/ through the proxy)\n", shown)
	describeGenerations(w, cfg, st.Authorities)
	if host, g := exampleHost(cfg, st.Authorities); host != "" {
		fmt.Fprintf(w, "  Try: curl -x http://%s --cacert %s https://%s/\n", local, g.CertPath, host)
	}
}

// configName names the configuration file for messages.
func configName(cfg *config.Config) string {
	if cfg.Source != "" {
		return cfg.Source
	}
	return "a config file (jpegveil init writes one)"
}

// exampleHost is a host of the rules the curl example can name, and the
// generation that issues its leaf.
func exampleHost(cfg *config.Config, auth *certs.Authorities) (string, *certs.Generation) {
	for _, r := range cfg.Rules {
		for _, h := range r.Hosts {
			if suffix, ok := strings.CutPrefix(h, "*."); ok {
				h = "www." + suffix
			}
			if g := auth.For(h); g != nil {
				return h, g
			}
		}
	}
	return "", nil
}

func (a *app) listenOn(network, address string) (net.Listener, error) {
	if a.listen != nil {
		return a.listen(network, address)
	}
	return net.Listen(network, address)
}

func (a *app) context() context.Context {
	if a.ctx != nil {
		return a.ctx
	}
	return context.Background()
}
