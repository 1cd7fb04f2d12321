package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"jpegveil/config"
	"jpegveil/ledger"
)

// ledgerFileName is the ledger's file in the state directory.
const ledgerFileName = "ledger.db"

// ledgerFlags locate the ledger: --ledger FILE, else ledger.db in the state
// directory of the configuration serve would load (see findConfig).
type ledgerFlags struct {
	config string
	file   string
}

func (fl *ledgerFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&fl.config, "config", "", "configuration file whose state_dir holds the ledger (default: as serve: $JPEGVEIL_CONFIG, ~/.config/jpegveil/config.yaml, the built-in one)")
	cmd.Flags().StringVar(&fl.file, "ledger", "", "ledger file (default: "+ledgerFileName+" in the state directory)")
}

func (fl *ledgerFlags) path(a *app) (string, error) {
	if fl.file != "" {
		return fl.file, nil
	}
	cfg, _, err := a.loadConfig(fl.config)
	if err != nil {
		return "", err
	}
	return fl.in(cfg), nil
}

// in is the ledger file: --ledger, or the one in cfg's state directory.
func (fl *ledgerFlags) in(cfg *config.Config) string {
	if fl.file != "" {
		return fl.file
	}
	return filepath.Join(cfg.StateDir, ledgerFileName)
}

func newLedgerCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Export, import and check the ledger of encrypted photos",
		Long: `The ledger records every photo the proxy encrypted. Without it the proxy
cannot tell its own ciphertexts from plaintext, so keep it safe: serve keeps
daily copies in ledger-copies/ in the state directory, and 'ledger export'
writes a portable copy (FORMAT.md §32) that 'ledger import' merges back, into
the same ledger or another household member's.

These commands need the ledger file to themselves: stop the proxy first, or
name a daily copy with --ledger.`,
	}
	cmd.AddCommand(newLedgerExportCmd(a), newLedgerImportCmd(a), newLedgerCheckCmd(a))
	return cmd
}

func newLedgerExportCmd(a *app) *cobra.Command {
	var fl ledgerFlags
	var out string
	cmd := &cobra.Command{
		Use:   "export -o FILE",
		Short: "Write the ledger in the portable export format",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path, err := fl.path(a)
			if err != nil {
				return err
			}
			l, err := ledger.OpenBolt(path, ledger.BoltOptions{ReadOnly: true})
			if err != nil {
				return err
			}
			defer l.Close()
			af, err := createAtomic(out, 0o600)
			if err != nil {
				return fileErr(out, err)
			}
			n, err := l.Export(a.context(), af, time.Now())
			if err != nil {
				af.abort()
				return fileErr(out, err)
			}
			if err := af.commit(false); err != nil {
				return fileErr(out, err)
			}
			fmt.Fprintf(a.stdout, "exported %d records from %s to %s\n", n, path, out)
			return nil
		},
	}
	fl.add(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "export file to write (required; not replaced if it exists)")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func newLedgerImportCmd(a *app) *cobra.Command {
	var fl ledgerFlags
	cmd := &cobra.Command{
		Use:   "import EXPORT...",
		Short: "Merge ledger exports into the ledger",
		Long: `import merges exports into the ledger: new photos are added, known ones
keep their earlier time and gain what the export knows more (where a service
keeps them, the ciphertext's hash). A truncated or altered export is refused
as a whole. If the ledger is missing, empty or damaged (the state directory
remembers that it existed), import starts a new one from the exports and
keeps a damaged file aside.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path, err := fl.path(a)
			if err != nil {
				return err
			}
			// Read every export before touching the ledger: a bad one
			// changes nothing.
			var all []ledger.Record
			for _, name := range args {
				f, err := os.Open(name)
				if err != nil {
					return fileErr(name, err)
				}
				recs, err := ledger.ReadExport(f)
				f.Close()
				if err != nil {
					return fileErr(name, err)
				}
				all = append(all, recs...)
			}
			l, err := ledger.OpenGuarded(path, ledger.GuardOptions{StartNew: true})
			if err != nil {
				return err
			}
			defer l.Close()
			st, err := l.Merge(a.context(), all)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "imported into %s: %d added, %d updated, %d unchanged", path, st.Added, st.Updated, st.Unchanged)
			if st.Conflicts > 0 {
				fmt.Fprintf(a.stdout, ", %d conflicting (kept this ledger's key ID or hash)", st.Conflicts)
			}
			fmt.Fprintln(a.stdout)
			return nil
		},
	}
	fl.add(cmd)
	return cmd
}

func newLedgerCheckCmd(a *app) *cobra.Command {
	var fl ledgerFlags
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Verify the ledger file and list its daily copies",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path, err := fl.path(a)
			if err != nil {
				return err
			}
			copies, _ := ledger.ListCopies(ledger.CopiesDir(path))
			marker, hasMarker, err := ledger.ReadMarker(path)
			if err != nil {
				return err
			}
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				if !hasMarker {
					return fileErr(path, errors.New("no ledger here (the proxy creates it on first start)"))
				}
				return &ledger.RecoveryError{Path: path, Err: ledger.ErrMissing, Marker: &marker, Copies: copies}
			}
			rep, err := ledger.CheckFile(a.context(), path, 0)
			if err != nil {
				if errors.Is(err, ledger.ErrInUse) {
					return err
				}
				re := &ledger.RecoveryError{Path: path, Err: err, Copies: copies}
				if hasMarker {
					re.Marker = &marker
				}
				return re
			}
			fmt.Fprintf(a.stdout, "%s: sound, %d records (%d with a service identity, %d with a ciphertext hash)\n", path, rep.Records, rep.WithServices, rep.WithHash)
			ids := make([]string, 0, len(rep.KeyIDs))
			for id := range rep.KeyIDs {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				fmt.Fprintf(a.stdout, "  key %s: %d records\n", id, rep.KeyIDs[id])
			}
			if len(copies) == 0 {
				fmt.Fprintln(a.stdout, "no daily copies yet")
			} else {
				fmt.Fprintf(a.stdout, "%d daily copies, newest %s\n", len(copies), copies[0])
			}
			return nil
		},
	}
	fl.add(cmd)
	return cmd
}
