package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// maxRestoreFile bounds one file of an export read into memory.
const maxRestoreFile = 1 << 30

func newRestoreCmd(a *app) *cobra.Command {
	var (
		ko         keyOptions
		ledgerFile string
	)
	cmd := &cobra.Command{
		Use:   "restore -k KEYFILE [--ledger FILE] EXPORT OUT",
		Short: "Decrypt a service export (a folder of downloaded originals) into a library",
		Long: `restore reads every file under EXPORT, a folder of originals downloaded
from a photo service (a Google Takeout unpacked, an Immich or Nextcloud
folder copied down), and writes the library to OUT with the same folders:

  decrypted  a photo encrypted with a key of KEYFILE (a key file or
             keyring: every key decrypts its own photos), written decrypted
  not ours   everything else: photos never encrypted, another key's
             photos, videos, sidecar files; copied unchanged
  damaged    a photo of ours that does not decrypt whole (cut short or
             changed by the service; its embedded images too), or a broken
             JPEG; not written (the export keeps it)

Whose photo a file is comes from the ledger when --ledger names one (a copy
of the proxy's, or its export's import), else from the classifier
(FORMAT.md §34). Every file is listed, and the table at the end counts the
three rows. Files in OUT are never replaced. Exit status 1 when a file is
damaged or could not be written.`,
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			ring, err := a.loadKeyring(ko)
			if err != nil {
				return err
			}
			r := &restorer{ring: ring, out: args[1], w: a.stdout}
			if ledgerFile != "" {
				l, err := ledger.OpenBolt(ledgerFile, ledger.BoltOptions{ReadOnly: true})
				if err != nil {
					return fileErr(ledgerFile, err)
				}
				defer l.Close()
				r.ledger = l
			}
			if err := os.MkdirAll(args[1], 0o700); err != nil {
				return fileErr(args[1], err)
			}
			if err := r.walk(a.context(), args[0]); err != nil {
				return err
			}
			return r.summary()
		},
	}
	cmd.Flags().StringVarP(&ko.path, "key", "k", "", "key file or keyring (required)")
	cmd.Flags().StringVar(&ko.passphraseFile, "passphrase-file", "", "file holding the passphrase of a passphrase key")
	cmd.Flags().StringVar(&ledgerFile, "ledger", "", "the proxy's ledger (or a copy): tells our photos by their fingerprints")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

// restoreRow is the row of the final table a file lands in.
type restoreRow int

const (
	rowDecrypted restoreRow = iota
	rowNotOurs
	rowDamaged
	rowNotWritten
	numRows
)

var rowNames = [numRows]string{"decrypted", "not ours", "damaged", "not written"}

// restorer writes the library of one export.
type restorer struct {
	ring   *keystream.Keyring
	ledger ledger.Ledger // may be nil
	out    string
	w      io.Writer
	counts [numRows]int
}

func (r *restorer) walk(ctx context.Context, root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			r.line(rowNotWritten, path, err.Error())
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		r.file(ctx, path, rel)
		return nil
	})
}

// file restores one file of the export.
func (r *restorer) file(ctx context.Context, path, rel string) {
	data, err := readLimited(path)
	if err != nil {
		r.line(rowNotWritten, rel, err.Error())
		return
	}
	row, out, why := r.judge(ctx, data)
	if row != rowDamaged {
		if err := writeNew(filepath.Join(r.out, rel), out); err != nil {
			r.line(rowNotWritten, rel, err.Error())
			return
		}
	}
	r.line(row, rel, why)
}

// judge decides a file's row and what is written for it.
func (r *restorer) judge(ctx context.Context, data []byte) (restoreRow, []byte, string) {
	if !bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}) {
		return rowNotOurs, data, "not a JPEG: copied as it is"
	}
	key, how := r.ledgerKey(ctx, data)
	if key == nil {
		v := veil.ClassifyBytes(r.ring, data)
		switch {
		case v.Class == veil.Ciphertext:
			key, how = v.Key, fmt.Sprintf("key %s, by the classifier", v.Key.ID())
		case v.Reason == "no scan":
			return r.broken(data)
		case v.Class == veil.Plaintext:
			return rowNotOurs, data, "a plaintext photo: copied as it is"
		default:
			return rowNotOurs, data, fmt.Sprintf("no ciphertext of key %s (%s): copied as it is", strings.Join(r.ring.IDs(), ", "), v)
		}
	}
	var dec bytes.Buffer
	res, err := veil.Transform(key, &dec, bytes.NewReader(data), veil.Options{StopAtError: true})
	switch {
	case err != nil:
		// A metadata item that does not decrypt (an MPF image cut
		// short) is damage as much as the primary image's.
		return rowDamaged, nil, fmt.Sprintf("ours (%s) but it does not decrypt whole: %v", how, err)
	case !res.Transformed:
		return rowDamaged, nil, fmt.Sprintf("ours (%s) but nothing in it decrypts", how)
	}
	return rowDecrypted, dec.Bytes(), how
}

// broken sorts a JPEG the classifier could not read: a parse error makes
// it damaged; a JPEG without a scan the transform handles (none at all,
// say) is not ours.
func (r *restorer) broken(data []byte) (restoreRow, []byte, string) {
	_, err := veil.Transform(r.ring.Current(), io.Discard, bytes.NewReader(data), veil.Options{StopAtError: true})
	var fe *jpegbits.FormatError
	if errors.As(err, &fe) || errors.Is(err, jpegbits.ErrNotJPEG) {
		return rowDamaged, nil, "a broken JPEG: " + err.Error()
	}
	return rowNotOurs, data, "a JPEG with no image data jpegveil encrypts: copied as it is"
}

// ledgerKey returns the key whose fingerprint of data the ledger holds.
func (r *restorer) ledgerKey(ctx context.Context, data []byte) (*keystream.Key, string) {
	if r.ledger == nil {
		return nil, ""
	}
	for _, key := range r.ring.Keys() {
		known := false
		vr := veil.NewReader(key, bytes.NewReader(data), veil.Options{Decide: func(fp veil.Fingerprint) (bool, error) {
			_, ok, err := r.ledger.Lookup(ctx, ledger.Fingerprint(fp))
			known = ok
			return false, err
		}})
		buf := make([]byte, 32<<10)
		for !vr.Result().HasFingerprint && vr.Result().Err == nil {
			if _, err := vr.Read(buf); err != nil {
				break
			}
		}
		if known {
			return key, fmt.Sprintf("key %s, by the ledger", key.ID())
		}
	}
	return nil, ""
}

func (r *restorer) line(row restoreRow, rel, why string) {
	r.counts[row]++
	fmt.Fprintf(r.w, "%-11s %s: %s\n", rowNames[row], rel, why)
}

// summary prints the final table and returns the error of a run that left
// a file behind.
func (r *restorer) summary() error {
	fmt.Fprintln(r.w)
	for row := range numRows {
		if row == rowNotWritten && r.counts[row] == 0 {
			continue
		}
		fmt.Fprintf(r.w, "%-11s %d\n", rowNames[row], r.counts[row])
	}
	if n := r.counts[rowDamaged] + r.counts[rowNotWritten]; n > 0 {
		return &reportedError{n}
	}
	return nil
}

// readLimited reads a file of at most maxRestoreFile bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRestoreFile+1))
	if err == nil && len(b) > maxRestoreFile {
		err = fmt.Errorf("larger than %d MiB", maxRestoreFile>>20)
	}
	return b, err
}

// writeNew writes a new file, and the folders it needs; an existing file
// is never replaced.
func writeNew(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	af, err := createAtomic(path, 0o600)
	if err != nil {
		return err
	}
	if _, err := af.Write(data); err != nil {
		af.abort()
		return err
	}
	return af.commit(false)
}
