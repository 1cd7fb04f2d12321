package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"jpegveil/keystream"
)

// newKeyCmd groups the commands that look after keys.
func newKeyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Back up, restore, rotate and list keys",
	}
	cmd.AddCommand(newKeyBackupCmd(a), newKeyRestoreCmd(a), newKeyRotateCmd(a), newKeyListCmd(a))
	return cmd
}

func newKeyRotateCmd(a *app) *cobra.Command {
	var (
		path string
		mode string
	)
	cmd := &cobra.Command{
		Use:   "rotate -k KEYFILE [--mode extended|strict]",
		Short: "Add a new current key to a key file, keeping the old ones",
		Long: `Add a new random key to KEYFILE and make it the current key: from now on
encrypt uses it, and every older key of the file still decrypts the photos
encrypted with it (decrypt picks the right one). A single key file becomes
a keyring of two keys (FORMAT.md §13.4). The file is replaced atomically
and stays mode 0600.

The new key has the mode of the current key unless --mode is given. Its key
ID is printed on stdout. Back the file up again: the old backup lacks the
new key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := keystream.ReadKeyring(path)
			if err != nil {
				return fileErr(path, err)
			}
			m := files[0].Mode
			if mode != "" {
				if m, err = keystream.ParseMode(mode); err != nil {
					return usagef("invalid --mode %q: want extended or strict", mode)
				}
			}
			key, err := keystream.GenerateKey(m)
			if err != nil {
				return err
			}
			if err := keystream.RotateKeyring(path, key); err != nil {
				return fileErr(path, err)
			}
			fmt.Fprintln(a.stdout, key.ID())
			fmt.Fprintf(a.stderr, "jpegveil: %s: key %s (%s) is now current; %d older key(s) kept for decryption\n", path, key.ID(), m, len(files))
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "key", "k", "", "key file or keyring (required)")
	cmd.Flags().StringVar(&mode, "mode", "", "mode of the new key (default: that of the current key)")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

func newKeyListCmd(a *app) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "list -k KEYFILE",
		Short: "Show the key IDs of a key file or keyring, the current one first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := keystream.ReadKeyring(path)
			if err != nil {
				return fileErr(path, err)
			}
			for i, f := range files {
				role := "older"
				if i == 0 {
					role = "current"
				}
				kind := "random"
				if f.NeedsPassphrase() {
					kind = "passphrase"
				}
				fmt.Fprintf(a.stdout, "%s %-8s %-8s %s\n", f.ID, f.Mode, role, kind)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "key", "k", "", "key file or keyring (required)")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}
