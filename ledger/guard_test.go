package ledger

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newFilledLedger creates a guarded ledger at dir/ledger.db with n entries
// for key "k1" and closes it.
func newFilledLedger(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := OpenGuarded(path, GuardOptions{KeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Fingerprint: fp(i), Entry: Entry{KeyID: "k1"}}
	}
	if _, err := l.Merge(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkRecoveryError checks that err is a one-line *RecoveryError wrapping
// want that names the file and every way to recover.
func checkRecoveryError(t *testing.T, err, want error, path string) {
	t.Helper()
	var re *RecoveryError
	if !errors.As(err, &re) || !errors.Is(err, want) {
		t.Fatalf("got %v, want a *RecoveryError wrapping %v", err, want)
	}
	msg := err.Error()
	for _, s := range []string{path, "ledger import", NewLedgerFlag} {
		if !strings.Contains(msg, s) {
			t.Errorf("message lacks %q: %s", s, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message is not one line: %q", msg)
	}
}

func TestGuardedOpenRefusesLostLedger(t *testing.T) {
	for _, tt := range []struct {
		name string
		lose func(path string) error
		want error
	}{
		{"deleted", os.Remove, ErrMissing},
		{"emptied", func(p string) error { return os.Truncate(p, 0) }, ErrEmpty},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := newFilledLedger(t, 3)
			l, err := OpenGuarded(path, GuardOptions{KeyID: "k1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := l.DailyCopy(CopiesDir(path), time.Now(), 3); err != nil {
				t.Fatal(err)
			}
			l.Close()
			if err := tt.lose(path); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Stat(path)
			_, err = OpenGuarded(path, GuardOptions{KeyID: "k1"})
			checkRecoveryError(t, err, tt.want, path)
			for _, s := range []string{"key k1", "daily copy", CopiesDir(path)} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message lacks %q: %s", s, err)
				}
			}
			after, _ := os.Stat(path)
			if (before == nil) != (after == nil) || after != nil && after.Size() != 0 {
				t.Errorf("the refused open changed the ledger file")
			}

			// Starting afresh is possible, but only when asked for.
			l, err = OpenGuarded(path, GuardOptions{KeyID: "k1", StartNew: true})
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := l.Len(); n != 0 {
				t.Errorf("new ledger has %d entries", n)
			}
			l.Close()
			l, err = OpenGuarded(path, GuardOptions{KeyID: "k1"})
			if err != nil {
				t.Fatalf("reopening the new ledger: %v", err)
			}
			l.Close()
		})
	}
}

func TestGuardedOpenMarker(t *testing.T) {
	path := newFilledLedger(t, 1)
	m, ok, err := ReadMarker(path)
	if err != nil || !ok || len(m.KeyIDs) != 1 || m.KeyIDs[0] != "k1" || time.Since(m.Created) > time.Minute {
		t.Fatalf("marker after creation: %+v %v %v", m, ok, err)
	}
	l, err := OpenGuarded(path, GuardOptions{KeyID: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	m2, _, _ := ReadMarker(path)
	if strings.Join(m2.KeyIDs, ",") != "k1,k2" || !m2.Created.Equal(m.Created) {
		t.Errorf("marker after a second key: %+v", m2)
	}

	// A ledger from before markers existed gets one.
	old := filepath.Join(t.TempDir(), "ledger.db")
	b, err := OpenBolt(old, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if l, err = OpenGuarded(old, GuardOptions{KeyID: "k1"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, ok, _ := ReadMarker(old); !ok {
		t.Errorf("no marker written for an existing ledger")
	}
}

// truncations lists sizes to cut a ledger file of size n to.
func truncations(n int64) []int64 {
	return []int64{1, 100, 4095, 4096, 4097, 8192, 12288, n / 4, n / 2, n - 4096, n - 1}
}

func TestTruncatedLedgerIsAnErrorNotACrash(t *testing.T) {
	src := newFilledLedger(t, 3000)
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	m0, ok0 := parseMeta(orig)
	m1, ok1 := parseMeta(orig[m0.pageSize:])
	if !ok0 || !ok1 {
		t.Fatal("test ledger has bad meta pages")
	}
	used := int64(max(m0.hw, m1.hw)) * int64(m0.pageSize)
	for _, size := range truncations(int64(len(orig))) {
		path := filepath.Join(t.TempDir(), "ledger.db")
		if err := os.WriteFile(path, orig[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		if size >= used {
			// Only the file's unused tail was cut: still a sound ledger.
			l, err := OpenGuarded(path, GuardOptions{KeyID: "k1"})
			if err != nil {
				t.Errorf("cut to %d bytes, %d in use: %v", size, used, err)
				continue
			}
			if n, err := l.Len(); n != 3000 || err != nil {
				t.Errorf("cut to %d bytes, %d in use: Len = %d, %v", size, used, n, err)
			}
			l.Close()
			continue
		}
		if l, err := OpenBolt(path, BoltOptions{}); !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
			t.Errorf("OpenBolt, cut to %d of %d bytes: %v", size, len(orig), err)
			if err == nil {
				l.Close()
			}
		}
		if _, err := CheckFile(context.Background(), path, 0); !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
			t.Errorf("CheckFile, cut to %d bytes: %v", size, err)
		}
		_, err := OpenGuarded(path, GuardOptions{KeyID: "k1"})
		var re *RecoveryError
		if !errors.As(err, &re) {
			t.Errorf("OpenGuarded, cut to %d bytes: %v", size, err)
			continue
		}
		if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), path) {
			t.Errorf("message: %q", err)
		}
	}
}

// junkPages overwrites every page of the ledger file after the two meta
// pages with 0xFF bytes.
func junkPages(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	junk := make([]byte, fi.Size()-2*4096)
	for i := range junk {
		junk[i] = 0xFF
	}
	if _, err := f.WriteAt(junk, 2*4096); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptPagesAreAnErrorAtOpen(t *testing.T) {
	path := newFilledLedger(t, 3000)
	junkPages(t, path)
	_, err := OpenGuarded(path, GuardOptions{KeyID: "k1"})
	checkRecoveryError(t, err, ErrCorrupt, path)
	if _, err := CheckFile(context.Background(), path, 0); !errors.Is(err, ErrCorrupt) {
		t.Errorf("CheckFile: %v", err)
	}
	// Starting afresh keeps the damaged file.
	l, err := OpenGuarded(path, GuardOptions{KeyID: "k1", StartNew: true})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if m, _ := filepath.Glob(path + ".damaged-*"); len(m) != 1 {
		t.Errorf("damaged file not kept aside: %v", m)
	}
}

func TestFaultAtRunTimeIsAnError(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"junk pages", junkPages},
		{"cut short", func(t *testing.T, path string) {
			if err := os.Truncate(path, 8192); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := newFilledLedger(t, 3000)
			l, err := OpenGuarded(path, GuardOptions{KeyID: "k1"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			tt.damage(t, path)
			var fault error
			for i := 0; i < 3000 && fault == nil; i += 97 {
				_, _, fault = l.Lookup(ctx, fp(i))
			}
			var fe *FaultError
			if !errors.As(fault, &fe) || !errors.Is(fault, ErrCorrupt) || !strings.Contains(fault.Error(), path) {
				t.Fatalf("Lookup on a damaged file: %v, want a *FaultError", fault)
			}
			t.Log(fault)
			// The ledger fails closed from then on.
			if err := l.Add(ctx, fp(99999), Entry{KeyID: "k1"}); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Add after a fault: %v", err)
			}
			if _, _, err := l.Lookup(ctx, fp(0)); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Lookup after a fault: %v", err)
			}
		})
	}
}
