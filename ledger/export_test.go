package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var exportTime = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// exportOf fills a new ledger with recs and returns its export.
func exportOf(t *testing.T, recs []Record) []byte {
	t.Helper()
	l, err := OpenBolt(filepath.Join(t.TempDir(), "ledger.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Merge(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := l.Export(context.Background(), &buf, exportTime)
	if err != nil || n != len(recs) {
		t.Fatalf("Export = %d, %v", n, err)
	}
	return buf.Bytes()
}

func sampleRecords() []Record {
	added := time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
	return []Record{
		{Fingerprint: fp(1), Entry: Entry{KeyID: "60a60b07e861ede8", Added: added},
			Services:         []ServiceRef{{"immich", "3f1c0c8e-5b7e-4a51-9f6a-2d9d0b7c1e11"}, {"nextcloud", "/remote.php/dav/files/anna/Photos/<IMG 1>.jpg"}},
			CiphertextSHA256: sha256.Sum256([]byte("ct1")), HasHash: true},
		{Fingerprint: fp(2), Entry: Entry{KeyID: "60a60b07e861ede8", Added: added.Add(time.Hour)}},
		{Fingerprint: fp(3), Entry: Entry{KeyID: "1122334455667788", Added: added}, Services: []ServiceRef{{"google", "https://photoslibrary.googleapis.com/v1/uploads?upload_id=x&y=z"}}},
	}
}

func TestExportRoundTrip(t *testing.T) {
	recs := sampleRecords()
	exp := exportOf(t, recs)
	got, err := ReadExport(bytes.NewReader(exp))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("%d records, want %d", len(got), len(recs))
	}
	// Records come back in fingerprint order.
	byFP := map[Fingerprint]Record{}
	for _, r := range recs {
		byFP[r.Fingerprint] = r
	}
	for _, g := range got {
		w := byFP[g.Fingerprint]
		if g.KeyID != w.KeyID || !g.Added.Equal(w.Added) || g.HasHash != w.HasHash || g.CiphertextSHA256 != w.CiphertextSHA256 || len(g.Services) != len(w.Services) {
			t.Errorf("got %+v, want %+v", g, w)
		}
		for i := range g.Services {
			if g.Services[i] != w.Services[i] {
				t.Errorf("service %d: %+v, want %+v", i, g.Services[i], w.Services[i])
			}
		}
	}
	// Exporting the same ledger again gives the same bytes.
	if again := exportOf(t, got); !bytes.Equal(again, exp) {
		t.Errorf("export of the imported records differs:\n%s\n%s", exp, again)
	}
	if !strings.HasPrefix(string(exp), `{"format":"jpegveil-ledger-export","version":1,`) {
		t.Errorf("header: %.80s", exp)
	}
}

func TestExportGoldenFile(t *testing.T) {
	golden := filepath.Join("testdata", "export-v1.jsonl")
	exp := exportOf(t, sampleRecords())
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, exp, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(exp, want) {
		t.Errorf("export differs from %s (FORMAT.md §32 example):\n%s", golden, exp)
	}
	if _, err := ReadExport(bytes.NewReader(want)); err != nil {
		t.Errorf("golden export: %v", err)
	}
}

func TestTruncatedExportIsRefused(t *testing.T) {
	exp := exportOf(t, sampleRecords())
	for n := 0; n < len(exp); n++ {
		_, err := ReadExport(bytes.NewReader(exp[:n]))
		if !errors.Is(err, ErrBadExport) {
			t.Fatalf("export cut to %d of %d bytes: %v", n, len(exp), err)
		}
	}
	// The message says what is wrong.
	lines := bytes.SplitAfter(exp, []byte("\n"))
	cut := bytes.Join(lines[:len(lines)-2], nil) // without the end line
	_, err := ReadExport(bytes.NewReader(cut))
	if err == nil || !strings.Contains(err.Error(), "without its end line (truncated?)") {
		t.Errorf("export without its end line: %v", err)
	}
}

func TestAlteredExportIsRefused(t *testing.T) {
	exp := exportOf(t, sampleRecords())
	tests := map[string][]byte{
		"a changed byte":     bytes.Replace(exp, []byte("2025-06-07T08"), []byte("2025-06-07T09"), 1),
		"a line left out":    removeLine(exp, 2),
		"data after the end": append(append([]byte(nil), exp...), "{}\n"...),
		"another version":    bytes.Replace(exp, []byte(`"version":1`), []byte(`"version":2`), 1),
		"not an export":      []byte("fp,key\n"),
	}
	for name, data := range tests {
		if _, err := ReadExport(bytes.NewReader(data)); !errors.Is(err, ErrBadExport) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func removeLine(b []byte, i int) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	return bytes.Join(append(lines[:i:i], lines[i+1:]...), nil)
}

// TestImportMergesTwoLedgers is a household's case: two proxies with the
// same key, each with its own ledger, become one.
func TestImportMergesTwoLedgers(t *testing.T) {
	ctx := context.Background()
	recs := sampleRecords()
	a, b := recs[:2], recs[1:]
	l, err := OpenBolt(filepath.Join(t.TempDir(), "ledger.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Merge(ctx, a); err != nil {
		t.Fatal(err)
	}
	st, err := l.Import(ctx, bytes.NewReader(exportOf(t, b)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 1 || st.Unchanged != 1 {
		t.Errorf("stats %+v", st)
	}
	var buf bytes.Buffer
	if _, err := l.Export(ctx, &buf, exportTime); err != nil {
		t.Fatal(err)
	}
	if want := exportOf(t, recs); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("merged ledger exports as\n%s\nwant\n%s", buf.Bytes(), want)
	}
	// A bad export changes nothing.
	if _, err := l.Import(ctx, strings.NewReader(buf.String()[:buf.Len()/2])); !errors.Is(err, ErrBadExport) {
		t.Errorf("truncated import: %v", err)
	}
	if n, _ := l.Len(); n != 3 {
		t.Errorf("Len = %d", n)
	}
}
