package ledger

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// recorder is a ledger that also keeps service identities and hashes.
type recorder interface {
	lenLedger
	UploadRecorder
	Record(ctx context.Context, fp Fingerprint) (Record, bool, error)
}

func TestRecordServiceAndHash(t *testing.T) {
	ctx := context.Background()
	for _, impl := range implementations() {
		t.Run(impl.name, func(t *testing.T) {
			l := impl.open(t).(recorder)
			defer l.Close()
			immich := ServiceRef{"immich", "3f1c0c8e-5b7e-4a51-9f6a-2d9d0b7c1e11"}
			next := ServiceRef{"nextcloud", "/remote.php/dav/files/anna/Photos/IMG_0001.jpg"}
			if err := l.RecordService(ctx, fp(1), immich); !errors.Is(err, ErrNotRecorded) {
				t.Errorf("RecordService before Add: %v", err)
			}
			if err := l.RecordCiphertextHash(ctx, fp(1), sha256.Sum256(nil)); !errors.Is(err, ErrNotRecorded) {
				t.Errorf("RecordCiphertextHash before Add: %v", err)
			}
			if err := l.Add(ctx, fp(1), Entry{KeyID: "k1"}); err != nil {
				t.Fatal(err)
			}
			for _, r := range []ServiceRef{immich, next, immich} {
				if err := l.RecordService(ctx, fp(1), r); err != nil {
					t.Fatal(err)
				}
			}
			for _, bad := range []ServiceRef{{"", "x"}, {"immich", ""}, {"a\nb", "x"}} {
				if err := l.RecordService(ctx, fp(1), bad); !errors.Is(err, ErrInvalidEntry) {
					t.Errorf("RecordService(%q): %v", bad, err)
				}
			}
			sum := sha256.Sum256([]byte("ciphertext"))
			if err := l.RecordCiphertextHash(ctx, fp(1), sum); err != nil {
				t.Fatal(err)
			}
			if err := l.RecordCiphertextHash(ctx, fp(1), sha256.Sum256(nil)); err != nil {
				t.Fatal(err)
			}
			rec, ok, err := l.Record(ctx, fp(1))
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			if !slices.Equal(rec.Services, []ServiceRef{immich, next}) || !rec.HasHash || rec.CiphertextSHA256 != sum || rec.KeyID != "k1" {
				t.Errorf("record: %+v", rec)
			}
			if _, ok, _ := l.Record(ctx, fp(2)); ok {
				t.Errorf("unknown fingerprint has a record")
			}
		})
	}
}

func TestServicesPersist(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := ServiceRef{"google", "https://photoslibrary.googleapis.com/v1/uploads?upload_id=abc"}
	if err := l.Add(ctx, fp(1), Entry{KeyID: "k1"}); err != nil {
		t.Fatal(err)
	}
	if err := l.RecordService(ctx, fp(1), ref); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if l, err = OpenBolt(path, BoltOptions{}); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rec, _, err := l.Record(ctx, fp(1))
	if err != nil || len(rec.Services) != 1 || rec.Services[0] != ref || rec.HasHash {
		t.Errorf("after reopening: %+v %v", rec, err)
	}
}

func TestMerge(t *testing.T) {
	ctx := context.Background()
	l, err := OpenBolt(filepath.Join(t.TempDir(), "ledger.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	early := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	late := early.Add(48 * time.Hour)
	h1, h2 := sha256.Sum256([]byte("1")), sha256.Sum256([]byte("2"))
	if _, err := l.Merge(ctx, []Record{
		{Fingerprint: fp(1), Entry: Entry{KeyID: "k1", Added: late}, Services: []ServiceRef{{"immich", "a"}}},
		{Fingerprint: fp(2), Entry: Entry{KeyID: "k1", Added: early}, CiphertextSHA256: h1, HasHash: true},
		{Fingerprint: fp(3), Entry: Entry{KeyID: "k1", Added: early}},
	}); err != nil {
		t.Fatal(err)
	}
	st, err := l.Merge(ctx, []Record{
		{Fingerprint: fp(1), Entry: Entry{KeyID: "k1", Added: early}, Services: []ServiceRef{{"immich", "b"}}, CiphertextSHA256: h2, HasHash: true},
		{Fingerprint: fp(2), Entry: Entry{KeyID: "k1", Added: late}, CiphertextSHA256: h2, HasHash: true}, // hash disagrees
		{Fingerprint: fp(3), Entry: Entry{KeyID: "k1", Added: late}},
		{Fingerprint: fp(4), Entry: Entry{KeyID: "k2", Added: late}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (MergeStats{Added: 1, Updated: 1, Unchanged: 1, Conflicts: 1}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	r1, _, _ := l.Record(ctx, fp(1))
	if !r1.Added.Equal(early) || len(r1.Services) != 2 || r1.CiphertextSHA256 != h2 {
		t.Errorf("merged record 1: %+v", r1)
	}
	r2, _, _ := l.Record(ctx, fp(2))
	if r2.CiphertextSHA256 != h1 {
		t.Errorf("a conflicting hash replaced ours")
	}
	if n, _ := l.Len(); n != 4 {
		t.Errorf("Len = %d", n)
	}
}

func TestDailyCopy(t *testing.T) {
	ctx := context.Background()
	path := newFilledLedger(t, 10)
	l, err := OpenGuarded(path, GuardOptions{KeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := CopiesDir(path)
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var made []string
	for i := range 5 {
		p, ok, err := l.DailyCopy(dir, day.AddDate(0, 0, i), 3)
		if err != nil || !ok {
			t.Fatalf("day %d: %v %v", i, ok, err)
		}
		made = append(made, p)
		if _, ok, err := l.DailyCopy(dir, day.AddDate(0, 0, i).Add(time.Hour), 3); ok || err != nil {
			t.Errorf("second copy on day %d: %v %v", i, ok, err)
		}
	}
	got, err := ListCopies(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{made[4], made[3], made[2]}; !slices.Equal(got, want) {
		t.Errorf("copies %v, want %v", got, want)
	}
	rep, err := CheckFile(ctx, got[0], 0)
	if err != nil || rep.Records != 10 || rep.KeyIDs["k1"] != 10 {
		t.Errorf("copy: %+v %v", rep, err)
	}
	if fi, _ := os.Stat(got[0]); fi.Mode().Perm() != 0o600 {
		t.Errorf("copy mode %v", fi.Mode())
	}
}

func TestKeepDailyCopies(t *testing.T) {
	path := newFilledLedger(t, 2)
	l, err := OpenGuarded(path, GuardOptions{KeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.KeepDailyCopies(ctx, CopiesDir(path), 3, time.Millisecond, func(err error) { t.Error(err) })
	}()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if c, _ := ListCopies(CopiesDir(path)); len(c) == 1 {
			break
		}
	}
	cancel()
	<-done
	if c, _ := ListCopies(CopiesDir(path)); len(c) != 1 {
		t.Errorf("copies: %v", c)
	}
}

// TestCallerPanicIsNotAFault: a bug in a Records callback is the caller's
// panic, not a damaged file; the ledger goes on working.
func TestCallerPanicIsNotAFault(t *testing.T) {
	path := newFilledLedger(t, 3)
	l, err := OpenGuarded(path, GuardOptions{KeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	func() {
		defer func() {
			if r := recover(); r != "caller bug" {
				t.Errorf("recovered %v, want the caller's panic", r)
			}
		}()
		l.Records(context.Background(), func(Record) error { panic("caller bug") })
	}()
	if _, _, err := l.Lookup(context.Background(), fp(0)); err != nil {
		t.Errorf("ledger poisoned by a caller's panic: %v", err)
	}
}
