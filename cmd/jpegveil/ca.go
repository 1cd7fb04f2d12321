package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"jpegveil/certs"
	"jpegveil/config"
)

func newCACmd(a *app) *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Show and manage the CA generations devices install",
		Long: `The CA is a list of generations in the state directory (ca.pem, ca-2.pem,
...). A leaf for a host comes from the oldest live generation that permits
it, so a device that installed generation 1 keeps working for every host
generation 1 covers; it needs a newer generation only for the hosts that
one adds. serve creates a generation when the rules name a domain no
generation covers; these commands do it by hand. The configuration is found
as serve finds it.`,
	}
	cmd.PersistentFlags().StringVar(&configFile, "config", "", "configuration file (default: as serve)")
	open := func() (*config.Config, *certs.Authorities, error) {
		cfg, _, err := a.loadConfig(configFile)
		if err != nil {
			return nil, nil, err
		}
		auth, err := certs.LoadAuthorities(cfg.StateDir, certs.CAOptions{})
		return cfg, auth, err
	}
	cmd.AddCommand(newCAShowCmd(a, open), newCAAddCmd(a, open), newCARotateCmd(a, open), newCARetireCmd(a, open))
	return cmd
}

// openAuthorities loads the configuration and its CA generations.
type openAuthorities func() (*config.Config, *certs.Authorities, error)

func newCAShowCmd(a *app, open openAuthorities) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "List the generations, their fingerprints and which devices need them",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, auth, err := open()
			if err != nil {
				return err
			}
			if len(auth.Generations()) == 0 {
				fmt.Fprintf(a.stdout, "No CA in %s yet: jpegveil serve or jpegveil init creates it.\n", cfg.StateDir)
				return nil
			}
			describeGenerations(a.stdout, cfg, auth)
			return nil
		},
	}
}

func newCAAddCmd(a *app, open openAuthorities) *cobra.Command {
	return &cobra.Command{
		Use:   "add DOMAIN...",
		Short: "Make sure a generation covers DOMAIN (creating one only if none does)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, domains []string) error {
			cfg, auth, err := open()
			if err != nil {
				return err
			}
			next, created, err := auth.Add(domains...)
			if err != nil {
				return err
			}
			if created == nil {
				fmt.Fprintf(a.stdout, "Already covered: %s. No device needs a new certificate.\n", strings.Join(domains, ", "))
			} else {
				fmt.Fprintf(a.stdout, "Created CA generation %d (%s) for %s.\n", created.Number, created.CertPath, strings.Join(domains, ", "))
				fmt.Fprintf(a.stdout, "Devices keep their generations for the hosts those cover; install generation %d on each device that should use %s.\nRestart serve to use it.\n",
					created.Number, strings.Join(domains, ", "))
			}
			describeGenerations(a.stdout, cfg, next)
			return nil
		},
	}
}

func newCARotateCmd(a *app, open openAuthorities) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate",
		Short: "Create a generation with a fresh key that permits what the live ones permit",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, auth, err := open()
			if err != nil {
				return err
			}
			next, created, err := auth.Rotate()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Created CA generation %d (%s). Older generations keep issuing until retired:\n"+
				"install generation %d on every device, then run jpegveil ca retire N for each older generation and restart serve.\n",
				created.Number, created.CertPath, created.Number)
			describeGenerations(a.stdout, cfg, next)
			return nil
		},
	}
}

func newCARetireCmd(a *app, open openAuthorities) *cobra.Command {
	return &cobra.Command{
		Use:   "retire N",
		Short: "Delete generation N's key; its hosts move to the next generation that permits them",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return usagef("N must be a generation number (see jpegveil ca show), not %q", args[0])
			}
			cfg, auth, err := open()
			if err != nil {
				return err
			}
			next, err := auth.Retire(n)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Retired CA generation %d: its key is deleted, its certificate kept as %s.\n"+
				"Devices may remove it. Restart serve: a host no generation covers any more gets a new one.\n",
				n, certs.RetiredPath(cfg.StateDir, n))
			describeGenerations(a.stdout, cfg, next)
			return nil
		},
	}
}

// issuedHosts maps each generation to the rule hosts whose leaves it issues.
func issuedHosts(cfg *config.Config, auth *certs.Authorities) map[int][]string {
	out := map[int][]string{}
	for _, r := range cfg.Rules {
		for _, h := range r.Hosts {
			if g := auth.For(strings.TrimPrefix(h, "*.")); g != nil && !slices.Contains(out[g.Number], h) {
				out[g.Number] = append(out[g.Number], h)
			}
		}
	}
	return out
}

// describeGenerations lists the generations and which a device installs.
func describeGenerations(w io.Writer, cfg *config.Config, auth *certs.Authorities) {
	hosts := issuedHosts(cfg, auth)
	fmt.Fprintf(w, "  CA generations (a device installs every one marked install):\n")
	for _, g := range auth.Generations() {
		domains := "any host (no name constraints)"
		if !g.Unconstrained() {
			domains = strings.Join(g.Domains(), ", ")
		}
		use := "not issuing now: older generations cover every rule host"
		if h := hosts[g.Number]; len(h) > 0 {
			use = "install: issues for " + strings.Join(h, ", ")
		}
		fmt.Fprintf(w, "    %d  %s\n       SHA-256 %s\n       permits %s\n       %s\n", g.Number, g.CertPath, g.CA.Fingerprint(), domains, use)
	}
	for _, r := range cfg.Rules {
		for _, h := range r.Hosts {
			if auth.For(strings.TrimPrefix(h, "*.")) == nil {
				fmt.Fprintf(w, "  No generation may issue for %s: its TLS handshakes are refused. Restart serve (or jpegveil ca add) to cover it.\n", h)
			}
		}
	}
}

// reportCAChange says, on the terminal and in the log, what a generation
// created at this start means for the devices.
func reportCAChange(w io.Writer, log *zap.Logger, cfg *config.Config, st *State) {
	g := st.CACreated
	if g != nil {
		log.Info("created a CA generation", zap.Int("generation", g.Number), zap.String("cert", g.CertPath),
			zap.Strings("new_domains", st.NewDomains), zap.Bool("unconstrained", g.Unconstrained()))
	}
	switch {
	case g == nil:
	case g.Number == 1 || len(st.Authorities.Generations()) == 1:
		fmt.Fprintf(w, "Created CA generation %d in %s. Install it on your devices (see the set-up page below).\n", g.Number, g.CertPath)
	case g.Unconstrained():
		fmt.Fprintf(w, "ca.name_constraints is false: created CA generation %d without name constraints (%s).\n"+
			"Older generations keep issuing for the hosts they cover; generation %d issues for every other rule host.\n"+
			"Install generation %d on each device that should use those hosts.\n", g.Number, g.CertPath, g.Number, g.Number)
	default:
		fmt.Fprintf(w, "No CA generation covered: %s (the CA covers the preset services' and your rules' domains).\n"+
			"Created CA generation %d (%s) for them. Devices keep working with the generations they have for every\n"+
			"host those cover; install generation %d only on devices that should use %s.\n",
			strings.Join(st.NewDomains, ", "), g.Number, g.CertPath, g.Number, strings.Join(st.NewDomains, ", "))
	}
	if cfg.CA.NameConstraints {
		for _, old := range st.Authorities.Generations() {
			if old.Unconstrained() {
				fmt.Fprintf(w, "CA generation %d has no name constraints, but ca.name_constraints is true: run\n"+
					"jpegveil ca retire %d and restart serve to replace it by a constrained generation.\n", old.Number, old.Number)
				log.Warn("an unconstrained CA generation is live while ca.name_constraints is true", zap.Int("generation", old.Number))
			}
		}
	}
}
