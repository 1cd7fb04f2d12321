package ledger

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpenFile writes arbitrary bytes as a ledger file and opens it the way
// serve will: it must open or fail with an error, never crash, and a file it
// opens must answer lookups without crashing either.
func FuzzOpenFile(f *testing.F) {
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed.db")
	l, err := OpenBolt(seed, BoltOptions{})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	for i := range 20 {
		l.Add(ctx, fp(i), Entry{KeyID: "k1"})
	}
	l.RecordService(ctx, fp(1), ServiceRef{"immich", "a"})
	l.Close()
	valid, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(valid[:4096])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "ledger.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := OpenGuarded(path, GuardOptions{KeyID: "k1"})
		if err != nil {
			return
		}
		defer l.Close()
		for i := range 25 {
			if _, _, err := l.Lookup(ctx, fp(i)); err != nil {
				return
			}
		}
		l.Add(ctx, fp(100), Entry{KeyID: "k1"})
	})
}

// FuzzReadExport: any input is either refused with ErrBadExport or gives
// records that export back to an export that reads the same.
func FuzzReadExport(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "export-v1.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(golden[:len(golden)-10])
	f.Add([]byte(`{"format":"jpegveil-ledger-export","version":1,"created":"2026-01-01T00:00:00Z"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ReadExport(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBadExport) {
				t.Fatalf("error not wrapping ErrBadExport: %v", err)
			}
			return
		}
		l, err := OpenBolt(filepath.Join(t.TempDir(), "ledger.db"), BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, err := l.Merge(context.Background(), recs); err != nil {
			t.Fatalf("accepted export does not merge: %v", err)
		}
		var buf bytes.Buffer
		if _, err := l.Export(context.Background(), &buf, exportTime); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadExport(&buf); err != nil {
			t.Fatalf("re-export unreadable: %v", err)
		}
	})
}
