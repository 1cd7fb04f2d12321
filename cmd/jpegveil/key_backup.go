package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"

	"jpegveil/keystream"
	"jpegveil/keystream/paperkey"
)

// qrSize asks for 8 pixels per QR module (the library reads a negative
// size that way). A fixed image side would scale modules by a fraction,
// which leaves uneven modules and, for some lengths of text, a quiet zone
// too thin for scanners to find the code; 8 pixels per module prints
// crisply and stays large enough to scan from paper.
const qrSize = -8

// backupKey is one key to back up: its file, parsed, and the file's text.
type backupKey struct {
	path string
	kf   *keystream.KeyFile
	text []byte
}

func newKeyBackupCmd(a *app) *cobra.Command {
	var (
		config   string
		keyFiles []string
		qrDir    string
		force    bool
	)
	cmd := &cobra.Command{
		Use:   "backup [--config FILE | -k KEYFILE...] [--qr-dir DIR] [--force]",
		Short: "Print a paper backup of every key and write each as a QR code",
		Long: `backup prints each key of each key file or keyring (the current key and
every older one kept after 'key rotate') as 26 words to write down or print (FORMAT.md §33)
and writes the same text as a QR code, DIR/jpegveil-key-ID.png (mode 0600;
never overwritten). 'jpegveil key restore' turns the words back into the key
file. The last two words are check words: one mistyped word, or two, is
always caught, and a single one is named.

Anyone with the words can decrypt your photos: keep them offline, and do
not leave the PNG on a shared disk after printing it.

A passphrase key stores nothing secret: its backup is your passphrase,
which you must remember, plus the parameters printed here (mode, salt,
Argon2id settings), which are needed to derive the key again.

Without -k, the key of the proxy's state directory is backed up (of
the configuration serve would load), and the state directory
remembers that a backup was made.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			stateDir := ""
			if len(keyFiles) == 0 {
				cfg, _, err := a.loadConfig(config)
				if err != nil {
					return err
				}
				keyFiles, stateDir = []string{cfg.KeyFile}, cfg.StateDir
			}
			var keys []backupKey
			for _, p := range keyFiles {
				ring, err := readBackupKeys(p)
				if err != nil {
					return err
				}
				keys = append(keys, ring...)
			}
			for i, k := range keys {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				if err := a.backupKey(k, qrDir, force); err != nil {
					return err
				}
				if stateDir != "" {
					if err := paperkey.RecordMade(stateDir, k.kf.ID, time.Now()); err != nil {
						return fileErr(stateDir, err)
					}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&config, "config", "", "configuration file whose key to back up (default: as serve: $JPEGVEIL_CONFIG, ~/.config/jpegveil/config.yaml, the built-in one)")
	f.StringArrayVarP(&keyFiles, "key", "k", nil, "key file to back up (repeatable); instead of the configuration's")
	f.StringVar(&qrDir, "qr-dir", ".", "directory for the QR code PNG files (created if missing)")
	f.BoolVar(&force, "force", false, "overwrite a QR code PNG of the same key")
	return cmd
}

// backupKey prints one key's backup and writes its QR code.
func (a *app) backupKey(k backupKey, qrDir string, force bool) error {
	var sheet string
	if k.kf.NeedsPassphrase() {
		sheet = passphraseSheet(k)
	} else {
		words, err := paperkey.Encode(k.kf.Master, k.kf.Mode)
		if err != nil {
			return fileErr(k.path, err)
		}
		sheet = paperkey.Format(words, k.kf.ID, k.kf.Mode)
	}
	png, err := qrcode.Encode(sheet, qrcode.Medium, qrSize)
	if err != nil {
		return fileErr(k.path, fmt.Errorf("QR code: %w", err))
	}
	// The words first: they are the backup, whatever becomes of the PNG.
	fmt.Fprint(a.stdout, sheet)
	if err := os.MkdirAll(qrDir, 0o700); err != nil {
		return fileErr(qrDir, err)
	}
	qrPath := filepath.Join(qrDir, "jpegveil-key-"+k.kf.ID+".png")
	af, err := createAtomic(qrPath, 0o600)
	if err != nil {
		return fileErr(qrPath, err)
	}
	if _, err := af.Write(png); err != nil {
		af.abort()
		return fileErr(qrPath, err)
	}
	if err := af.commit(force); err != nil {
		return fileErr(qrPath, err)
	}
	fmt.Fprintf(a.stderr, "wrote the QR code of key %s to %s\n", k.kf.ID, qrPath)
	return nil
}

// readBackupKeys reads the key file or keyring at path: one backupKey for
// each of its keys, the current one first, each with its own part of the
// file's text.
func readBackupKeys(path string) ([]backupKey, error) {
	files, err := keystream.ReadKeyring(path)
	if err != nil {
		return nil, fileErr(path, err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fileErr(path, err)
	}
	parts := keyringParts(text)
	if len(parts) != len(files) {
		// ReadKeyring cuts the file the same way: a difference is a bug.
		return nil, fileErr(path, fmt.Errorf("%d keys but %d key texts", len(files), len(parts)))
	}
	keys := make([]backupKey, len(files))
	for i, kf := range files {
		keys[i] = backupKey{path, kf, parts[i]}
	}
	return keys, nil
}

// keyringParts cuts a keyring's text before each line that starts a key
// file (FORMAT.md §13.4).
func keyringParts(text []byte) [][]byte {
	var parts [][]byte
	start := 0
	for i := 0; i < len(text); {
		if i > 0 && bytes.HasPrefix(text[i:], []byte("jpegveil-key ")) {
			parts = append(parts, text[start:i])
			start = i
		}
		j := bytes.IndexByte(text[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return append(parts, text[start:])
}

// passphraseSheet says what restores a passphrase key: the passphrase,
// which is not stored anywhere, and the key file's parameters, printed as
// the key file itself (it holds no secret, only what derives the key).
func passphraseSheet(k backupKey) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Key %s is derived from a passphrase; nothing secret is stored.\n", k.kf.ID)
	b.WriteString("# To restore it you need BOTH your passphrase (remember it: it is not\n")
	b.WriteString("# written here or anywhere) AND the parameters below. Keep this page;\n")
	b.WriteString("# 'jpegveil key restore' turns it back into the key file.\n")
	b.Write(k.text)
	if len(k.text) > 0 && k.text[len(k.text)-1] != '\n' {
		b.WriteString("\n")
	}
	return b.String()
}

func newKeyRestoreCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "restore -o KEYFILE [BACKUP|-]",
		Short: "Turn a paper backup back into a key file",
		Long: `restore reads a backup made by 'jpegveil key backup' (the printed words,
typed in any case, abbreviated to their first four letters if you like, with
or without their numbers; or the text of its QR code; or the page of a
passphrase key) from BACKUP or stdin, and writes the key file KEYFILE
(mode 0600; never overwritten). It prints the key ID: it must be the one on
the backup.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			name := "-"
			if len(args) == 1 {
				name = args[0]
			}
			var r io.Reader = a.stdin
			if name != "-" {
				f, err := os.Open(name)
				if err != nil {
					return fileErr(name, err)
				}
				defer f.Close()
				r = f
			}
			text, err := io.ReadAll(io.LimitReader(r, 1<<16))
			if err != nil {
				return fileErr(inName(name), err)
			}
			data, id, err := restoreKeyFile(string(text))
			if err != nil {
				return fileErr(inName(name), err)
			}
			if err := keystream.WriteKeyFile(out, data); err != nil {
				return fileErr(out, err)
			}
			fmt.Fprintf(a.stdout, "key ID: %s\n", id)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "key file to write (required)")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

var backupKeyID = regexp.MustCompile(`Key ID ([0-9a-f]+)`)

// restoreKeyFile turns a backup's text into key file contents and the
// key's ID.
func restoreKeyFile(text string) ([]byte, string, error) {
	if i := strings.Index(text, "jpegveil-key v"); i >= 0 {
		// A passphrase key's page: the key file is printed in it.
		data := []byte(text[i:])
		kf, err := keystream.ParseKeyFile(data)
		if err != nil {
			return nil, "", err
		}
		return data, kf.ID, nil
	}
	words := paperkey.Parse(text)
	master, mode, err := paperkey.Decode(words)
	if err != nil {
		return nil, "", err
	}
	key, err := keystream.NewKeyFromBytes(master, mode)
	if err != nil {
		return nil, "", err
	}
	if m := backupKeyID.FindStringSubmatch(text); m != nil && m[1] != key.ID() {
		return nil, "", fmt.Errorf("the words give key ID %s but the backup says %s", key.ID(), m[1])
	}
	return key.MarshalKeyFile(), key.ID(), nil
}
