package ledger

import (
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

// Daily copies are whole ledger files, named ledger-YYYY-MM-DD.db (UTC) in
// one directory; a copy is a consistent snapshot taken in a read
// transaction while the proxy keeps running.

const (
	copyPrefix = "ledger-"
	copySuffix = ".db"
	copyLayout = "2006-01-02"
	// DefaultKeepCopies is how many daily copies serve keeps.
	DefaultKeepCopies = 14
)

// CopiesDir is where the daily copies of the ledger at ledgerPath go:
// "ledger-copies" beside it, in the state directory.
func CopiesDir(ledgerPath string) string {
	return filepath.Join(filepath.Dir(ledgerPath), "ledger-copies")
}

// DailyCopy writes today's copy of the ledger into dir, unless it exists,
// and removes the oldest copies beyond keep (at least 1). It returns the
// copy's path and whether it was written now. The copy is validated before
// it replaces anything: a ledger that cannot be read whole is never copied
// over a good copy. serve calls it at start and then once a day.
func (b *BoltLedger) DailyCopy(dir string, now time.Time, keep int) (path string, made bool, err error) {
	keep = max(keep, 1)
	path = filepath.Join(dir, copyPrefix+now.UTC().Format(copyLayout)+copySuffix)
	if fileExists(path) {
		return path, false, pruneCopies(dir, keep)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("ledger copy: %w", err)
	}
	f, err := os.CreateTemp(dir, ".ledger-copy-*")
	if err != nil {
		return "", false, fmt.Errorf("ledger copy: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename this removes nothing
	err = b.protect("copy", func() error {
		return b.db.View(func(tx *bolt.Tx) error {
			_, err := tx.WriteTo(f)
			return err
		})
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = validateFile(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return "", false, b.wrap("copy", err)
	}
	return path, true, pruneCopies(dir, keep)
}

// ListCopies returns the daily copies in dir, newest first. A missing dir
// has none.
func ListCopies(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range des {
		name := de.Name()
		day, ok := strings.CutPrefix(name, copyPrefix)
		if !ok || !de.Type().IsRegular() {
			continue
		}
		day, ok = strings.CutSuffix(day, copySuffix)
		if _, err := time.Parse(copyLayout, day); !ok || err != nil {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names) // the date layout sorts by time
	slices.Reverse(names)
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(dir, n)
	}
	return paths, nil
}

func pruneCopies(dir string, keep int) error {
	copies, err := ListCopies(dir)
	if err != nil || len(copies) <= keep {
		return err
	}
	for _, p := range copies[keep:] {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("ledger copy: %w", err)
		}
	}
	return nil
}

// KeepDailyCopies makes today's copy now and then checks every interval
// (an hour is fine: a day's copy is made once) until ctx ends, keeping keep
// copies in dir. Each failure goes to report, which must not block; the
// proxy logs it and keeps serving. serve runs it in its own goroutine.
func (b *BoltLedger) KeepDailyCopies(ctx context.Context, dir string, keep int, interval time.Duration, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, _, err := b.DailyCopy(dir, time.Now(), keep); err != nil && !errors.Is(err, ErrClosed) {
			report(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
