package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jpegveil/ledger"
)

func testFP(i int) ledger.Fingerprint {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return sha256.Sum256(b[:])
}

// makeLedger creates a guarded ledger at path holding fingerprints from..to-1.
func makeLedger(t *testing.T, path string, from, to int) {
	t.Helper()
	l, err := ledger.OpenGuarded(path, ledger.GuardOptions{KeyID: "60a60b07e861ede8"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	for i := from; i < to; i++ {
		if err := l.Add(ctx, testFP(i), ledger.Entry{KeyID: "60a60b07e861ede8"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.RecordService(ctx, testFP(from), ledger.ServiceRef{Service: "immich", ID: "asset-1"}); err != nil {
		t.Fatal(err)
	}
}

func TestLedgerExportImportCheck(t *testing.T) {
	dir := t.TempDir()
	anna, ben := filepath.Join(dir, "anna", "ledger.db"), filepath.Join(dir, "ben", "ledger.db")
	makeLedger(t, anna, 0, 5)
	makeLedger(t, ben, 3, 8)
	exp := filepath.Join(dir, "ben.jsonl")

	code, stdout, stderr := runCLI(t, "", "ledger", "export", "--ledger", ben, "-o", exp)
	if code != 0 || !strings.Contains(stdout, "exported 5 records") {
		t.Fatalf("export: %d %q %q", code, stdout, stderr)
	}
	if fi, err := os.Stat(exp); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("export file: %v", err)
	}
	if code, _, stderr := runCLI(t, "", "ledger", "export", "--ledger", ben, "-o", exp); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("export over an existing file: %d %q", code, stderr)
	}

	// A truncated export is refused and changes nothing.
	b, _ := os.ReadFile(exp)
	cut := filepath.Join(dir, "cut.jsonl")
	os.WriteFile(cut, b[:len(b)-20], 0o600)
	code, _, stderr = runCLI(t, "", "ledger", "import", "--ledger", anna, cut)
	if code != 1 || !strings.Contains(stderr, "cut.jsonl: not a complete ledger export") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("truncated import: %d %q", code, stderr)
	}

	code, stdout, stderr = runCLI(t, "", "ledger", "import", "--ledger", anna, exp)
	if code != 0 || !strings.Contains(stdout, "3 added, 1 updated, 1 unchanged") {
		t.Fatalf("import: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "", "ledger", "check", "--ledger", anna)
	if code != 0 || !strings.Contains(stdout, "sound, 8 records (2 with a service identity") || !strings.Contains(stdout, "key 60a60b07e861ede8: 8 records") {
		t.Errorf("check: %d %q %q", code, stdout, stderr)
	}

	// A lost ledger: check says so and how to recover; import recovers.
	os.Remove(ben)
	code, _, stderr = runCLI(t, "", "ledger", "check", "--ledger", ben)
	if code != 1 || !strings.Contains(stderr, "ledger file is missing where a ledger existed") || !strings.Contains(stderr, "ledger import") {
		t.Errorf("check of a lost ledger: %d %q", code, stderr)
	}
	if code, stdout, stderr := runCLI(t, "", "ledger", "import", "--ledger", ben, exp); code != 0 || !strings.Contains(stdout, "5 added") {
		t.Errorf("import into a lost ledger: %d %q %q", code, stdout, stderr)
	}

	// A truncated ledger file: one line, no crash.
	lb, _ := os.ReadFile(anna)
	os.WriteFile(anna, lb[:len(lb)/3], 0o600)
	code, _, stderr = runCLI(t, "", "ledger", "check", "--ledger", anna)
	if code != 1 || !strings.Contains(stderr, anna) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("check of a truncated ledger: %d %q", code, stderr)
	}
}
