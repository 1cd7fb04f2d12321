package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"jpegveil/keystream"
)

func newKeygenCmd(a *app) *cobra.Command {
	var (
		out        string
		mode       string
		passphrase bool
	)
	cmd := &cobra.Command{
		Use:   "keygen -o KEYFILE [--mode extended|strict] [--passphrase]",
		Short: "Create a key file",
		Long: `Create a key file (mode 0600; an existing file is never overwritten).

By default the key is 32 random bytes stored in the file: keep the file
private and keep a backup, since photos encrypted with it cannot be
recovered without it.

With --passphrase the key is derived from a passphrase with Argon2id, and the
file only holds the salt and parameters, so several devices can derive the
same key. The passphrase is asked twice on the terminal, or read from the
first line of stdin when stdin is not a terminal.

The mode (extended, the default, or strict) is part of the key: it selects
which bits are encrypted and changes the key ID.

The key ID is printed on stdout; compare it between devices.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := keystream.ParseMode(mode)
			if err != nil {
				return usagef("invalid --mode %q: want extended or strict", mode)
			}
			// Fail before asking for a passphrase.
			if _, err := os.Lstat(out); err == nil {
				return fileErr(out, errors.New("already exists, refusing to overwrite a key file"))
			} else if !errors.Is(err, fs.ErrNotExist) {
				return fileErr(out, err)
			}
			var (
				key  *keystream.Key
				data []byte
				kind string
			)
			if passphrase {
				key, data, err = a.passphraseKey(m)
				kind = "passphrase key file"
			} else {
				key, err = keystream.GenerateKey(m)
				if err == nil {
					data = key.MarshalKeyFile()
				}
				kind = "random key"
			}
			if err != nil {
				return fileErr(out, err)
			}
			err = keystream.WriteKeyFile(out, data)
			clear(data)
			var kfe *keystream.KeyFileError
			if errors.As(err, &kfe) {
				// Not a bad key file: one that could not be written.
				return fileErr(out, errors.New(keyFileReason(kfe)))
			} else if err != nil {
				return fileErr(out, err)
			}
			fmt.Fprintf(a.stdout, "key ID: %s\n", key.ID())
			fmt.Fprintf(a.stderr, "wrote %s (mode %s) to %s; keep it private and keep a backup\n", kind, key.Mode(), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "key file to create (required)")
	f.StringVar(&mode, "mode", string(keystream.ModeExtended), "masking mode: extended or strict")
	f.BoolVar(&passphrase, "passphrase", false, "derive the key from a passphrase (Argon2id)")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

// passphraseKey asks for a passphrase (with confirmation on a terminal) and
// derives the key with fresh Argon2id parameters.
func (a *app) passphraseKey(m keystream.Mode) (*keystream.Key, []byte, error) {
	params, err := keystream.DefaultArgon2Params()
	if err != nil {
		return nil, nil, err
	}
	if a.weakArgon2 {
		params.Time, params.MemoryKiB, params.Threads = 1, 64, 1
		fmt.Fprintln(a.stderr, "jpegveil: warning: using test-only Argon2id parameters; do not use this key file for real photos")
	}
	pass, err := a.readPassphrase(true)
	if err != nil {
		return nil, nil, err
	}
	key, err := keystream.DeriveKey(pass, params, m)
	clear(pass)
	if err != nil {
		return nil, nil, err
	}
	return key, keystream.MarshalPassphraseKeyFile(key, params), nil
}
