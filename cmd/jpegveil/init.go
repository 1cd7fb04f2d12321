package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"jpegveil/config"
)

func newInitCmd(a *app) *cobra.Command {
	var configFile, stateDir string
	cmd := &cobra.Command{
		Use:   "init [--config FILE] [--state-dir DIR]",
		Short: "Create a configuration, the state directory, a key and the CA",
		Long: `init writes a configuration file from the documented example (default
~/.config/jpegveil/config.yaml; never overwritten) and creates the state
directory with a random key, the CA and the ledger, as serve would on its
first start. Edit the configuration, then run: jpegveil serve --config FILE`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configFile == "" {
				if configFile = a.userConfigFile(); configFile == "" {
					return errors.New("no home directory is known: give --config FILE")
				}
			}
			example := config.ExampleConfig()
			if stateDir != "" {
				abs, err := filepath.Abs(stateDir)
				if err != nil {
					return err
				}
				example = config.WithStateDir(example, abs)
			}
			if err := os.MkdirAll(filepath.Dir(configFile), 0o700); err != nil {
				return err
			}
			f, err := os.OpenFile(configFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s already exists: this installation is set up, and jpegveil serve uses it (init never overwrites a configuration; edit it, or move it away to start over)", configFile)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", configFile, err)
			}
			if _, err := f.Write(example); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			cfg, err := config.LoadConfig(configFile)
			if err != nil {
				return err
			}
			st, err := openState(a, cfg, "", false)
			if err != nil {
				return err
			}
			defer st.Close()
			fmt.Fprintf(a.stdout, "config:    %s\nstate:     %s\nkey:       %s (key ID %s)\n",
				configFile, cfg.StateDir, cfg.KeyFile, st.Key.ID())
			describeGenerations(a.stdout, cfg, st.Authorities)
			next := "jpegveil serve"
			if configFile != a.userConfigFile() {
				next += " --config " + configFile
			}
			fmt.Fprintf(a.stdout, "Back up the key: without it your encrypted photos are lost.\nNext: %s\n", next)
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file to write")
	cmd.Flags().StringVar(&stateDir, "state-dir", "", "state directory to put in the configuration")
	return cmd
}
