package ledger

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A ledger that silently starts empty is the worst failure the proxy has:
// every earlier photo then looks like plaintext, and encrypting a
// ciphertext again with an XOR cipher decrypts it. So the state directory
// remembers, in a small marker file beside the ledger, that a ledger
// existed and for which keys. OpenGuarded refuses to replace a missing or
// empty ledger when the marker says there was one.

// MarkerPath returns the marker file that records that the ledger at
// ledgerPath exists.
func MarkerPath(ledgerPath string) string { return ledgerPath + ".marker" }

// Marker is what the marker file records.
type Marker struct {
	Created time.Time // when the ledger was first created
	KeyIDs  []string  // the keys the ledger has been used with
}

const markerHeader = "# jpegveil ledger marker: the ledger beside this file exists. If the\n" +
	"# ledger is lost, restore it (daily copy or export); do not delete this file.\n"

// ReadMarker reads the marker of the ledger at ledgerPath. ok is false when
// there is none.
func ReadMarker(ledgerPath string) (m Marker, ok bool, err error) {
	f, err := os.Open(MarkerPath(ledgerPath))
	if errors.Is(err, fs.ErrNotExist) {
		return Marker{}, false, nil
	}
	if err != nil {
		return Marker{}, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, found := strings.Cut(line, ": ")
		switch {
		case !found:
			return Marker{}, false, fmt.Errorf("ledger marker %s: bad line %q", MarkerPath(ledgerPath), line)
		case k == "created":
			if m.Created, err = time.Parse(time.RFC3339, v); err != nil {
				return Marker{}, false, fmt.Errorf("ledger marker %s: %w", MarkerPath(ledgerPath), err)
			}
		case k == "key-id":
			m.KeyIDs = append(m.KeyIDs, v)
		}
	}
	if err := sc.Err(); err != nil {
		return Marker{}, false, err
	}
	// A marker file that exists but cannot be parsed still says a ledger
	// existed: ok is true even if it names no key.
	return m, true, nil
}

// writeMarker replaces the marker atomically.
func writeMarker(ledgerPath string, m Marker) error {
	var b strings.Builder
	b.WriteString(markerHeader)
	fmt.Fprintf(&b, "created: %s\n", m.Created.UTC().Format(time.RFC3339))
	for _, id := range m.KeyIDs {
		fmt.Fprintf(&b, "key-id: %s\n", id)
	}
	return writeFileAtomic(MarkerPath(ledgerPath), []byte(b.String()), 0o600)
}

// GuardOptions configures OpenGuarded.
type GuardOptions struct {
	BoltOptions
	// KeyID is the ID of the key the ledger is used with; the marker
	// remembers it so that the error for a lost ledger can name it.
	KeyID string
	// StartNew allows, explicitly, a new empty ledger where the marker
	// says one existed. A damaged file is kept beside it, renamed.
	StartNew bool
	// CopiesDir is where daily copies are looked for to name in a recovery
	// message; empty means CopiesDir(path).
	CopiesDir string
}

// RecoveryError says that the ledger cannot be used as it is, what happened
// and how to recover. Its message is one line.
type RecoveryError struct {
	Path   string
	Err    error    // wraps ErrMissing, ErrEmpty, ErrTruncated or ErrCorrupt
	Marker *Marker  // what the state directory remembers, if anything
	Copies []string // daily copies, newest first
}

// NewLedgerFlag is how a command line asks OpenGuarded for StartNew; the
// recovery message names it.
const NewLedgerFlag = "--new-ledger"

func (e *RecoveryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ledger %s: %v", e.Path, e.Err)
	if e.Marker != nil {
		b.WriteString(" where a ledger existed")
		if !e.Marker.Created.IsZero() {
			fmt.Fprintf(&b, " (since %s", e.Marker.Created.Format("2006-01-02"))
			if len(e.Marker.KeyIDs) > 0 {
				fmt.Fprintf(&b, ", key %s", strings.Join(e.Marker.KeyIDs, ", "))
			}
			b.WriteString(")")
		}
	}
	b.WriteString("; without it photos already uploaded look like plaintext, so jpegveil will not start. Recover: ")
	if len(e.Copies) > 0 {
		fmt.Fprintf(&b, "copy the newest daily copy %s to %s, or ", e.Copies[0], e.Path)
	}
	fmt.Fprintf(&b, "run 'jpegveil ledger import' with an export, or start a new empty ledger with %s (earlier uploads then stay undecrypted until imported)", NewLedgerFlag)
	return b.String()
}

func (e *RecoveryError) Unwrap() error { return e.Err }

// OpenGuarded opens the ledger at path like OpenBolt, but never silently
// starts over: if the marker says a ledger existed and the file is missing
// or empty, or if the file is damaged, it returns a *RecoveryError unless
// opts.StartNew. It checks the opened file with bbolt's consistency check,
// and records the ledger and opts.KeyID in the marker.
func OpenGuarded(path string, opts GuardOptions) (*BoltLedger, error) {
	marker, hasMarker, err := ReadMarker(path)
	if err != nil {
		return nil, err
	}
	copiesDir := opts.CopiesDir
	if copiesDir == "" {
		copiesDir = CopiesDir(path)
	}
	fail := func(cause error) error {
		copies, _ := ListCopies(copiesDir)
		re := &RecoveryError{Path: path, Err: cause, Copies: copies}
		if hasMarker {
			re.Marker = &marker
		}
		return re
	}
	fi, statErr := os.Stat(path)
	switch {
	case errors.Is(statErr, fs.ErrNotExist) && hasMarker && !opts.StartNew:
		return nil, fail(ErrMissing)
	case statErr == nil && fi.Size() == 0 && hasMarker && !opts.StartNew:
		return nil, fail(ErrEmpty)
	case statErr == nil && fi.Size() > 0:
		if err := validateFile(path); err != nil {
			if !opts.StartNew {
				return nil, fail(err)
			}
			if err := setAside(path); err != nil {
				return nil, err
			}
		}
	case statErr == nil && fi.Size() == 0:
		// An empty file with no marker: a first start that was cut short.
		// Set it aside rather than let bbolt write into it unseen.
		if err := setAside(path); err != nil {
			return nil, err
		}
	case statErr != nil && !errors.Is(statErr, fs.ErrNotExist):
		return nil, statErr
	}
	fresh := !fileExists(path)
	// The file was validated above, or set aside: not walked again.
	l, err := openBolt(path, opts.BoltOptions, true)
	var fe *FaultError
	switch {
	case errors.As(err, &fe):
		return nil, fail(fmt.Errorf("%w: %s", ErrCorrupt, fe.Cause))
	case errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTruncated):
		return nil, fail(errors.Unwrap(err)) // without OpenBolt's path prefix
	}
	if err != nil {
		return nil, err
	}
	if !fresh {
		if err := l.consistency(context.Background(), func(Record) error { return nil }); err != nil {
			_ = l.Close()
			return nil, fail(err)
		}
	}
	needWrite := !hasMarker || fresh
	if needWrite {
		marker = Marker{Created: time.Now()}
	}
	if opts.KeyID != "" && !slices.Contains(marker.KeyIDs, opts.KeyID) {
		marker.KeyIDs = append(marker.KeyIDs, opts.KeyID)
		needWrite = true
	}
	if needWrite {
		if err := writeMarker(path, marker); err != nil {
			_ = l.Close()
			return nil, fmt.Errorf("ledger marker: %w", err)
		}
	}
	return l, nil
}

// consistency decodes every record, handing each to each, then runs
// bbolt's own consistency check over every page. The walk comes first
// because it runs on this goroutine under protect: bbolt's check runs on a
// goroutine of its own, where it recovers panics but a memory fault would
// end the process, so it only sees files whose every record was already
// read safely.
func (b *BoltLedger) consistency(ctx context.Context, each func(Record) error) error {
	if err := b.Records(ctx, each); err != nil {
		return err
	}
	var problems []string
	err := b.protect("check", func() error {
		return b.db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				problems = append(problems, err.Error())
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		more := ""
		if len(problems) > 1 {
			more = fmt.Sprintf(" (and %d more problems)", len(problems)-1)
		}
		return fmt.Errorf("%w: %s%s", ErrCorrupt, problems[0], more)
	}
	return nil
}

// setAside renames a damaged ledger file out of the way, keeping it.
func setAside(path string) error {
	aside := fmt.Sprintf("%s.damaged-%s", path, time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("ledger %s: cannot set the damaged file aside: %w", path, err)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// writeFileAtomic writes data to path through a synced temporary file.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
