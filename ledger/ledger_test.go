package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// fp returns a distinct fingerprint for i.
func fp(i int) Fingerprint {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return sha256.Sum256(b[:])
}

// lenLedger is a Ledger with Len, as both implementations have.
type lenLedger interface {
	Ledger
	Len() (int, error)
}

// implementations lists the ledgers every behaviour test runs against.
func implementations() []struct {
	name string
	open func(t *testing.T) lenLedger
} {
	return []struct {
		name string
		open func(t *testing.T) lenLedger
	}{
		{"memory", func(*testing.T) lenLedger { return NewMemory() }},
		{"bolt", func(t *testing.T) lenLedger {
			b, err := OpenBolt(filepath.Join(t.TempDir(), "ledger.db"), BoltOptions{Logger: zap.NewNop()})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
	}
}

func TestAddLookup(t *testing.T) {
	ctx := context.Background()
	added := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*3600))
	for _, impl := range implementations() {
		t.Run(impl.name, func(t *testing.T) {
			l := impl.open(t)
			defer l.Close()

			if _, ok, err := l.Lookup(ctx, fp(1)); ok || err != nil {
				t.Fatalf("empty ledger: Lookup = %v, %v", ok, err)
			}
			if err := l.Add(ctx, fp(1), Entry{KeyID: "k1", Added: added}); err != nil {
				t.Fatal(err)
			}
			e, ok, err := l.Lookup(ctx, fp(1))
			if err != nil || !ok {
				t.Fatalf("Lookup = %v, %v", ok, err)
			}
			want := Entry{KeyID: "k1", Added: time.Date(2024, 5, 6, 5, 8, 9, 0, time.UTC)}
			if e != want {
				t.Errorf("got %+v, want %+v (whole seconds, UTC)", e, want)
			}
			if _, ok, _ := l.Lookup(ctx, fp(2)); ok {
				t.Errorf("unrelated fingerprint found")
			}

			// Idempotent: the first entry is kept.
			if err := l.Add(ctx, fp(1), Entry{KeyID: "k2", Added: added.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if e, _, _ := l.Lookup(ctx, fp(1)); e != want {
				t.Errorf("second Add replaced the entry: got %+v, want %+v", e, want)
			}
			if n, err := l.Len(); n != 1 || err != nil {
				t.Errorf("Len = %d, %v; want 1", n, err)
			}

			// A zero time means now.
			before := time.Now().Add(-time.Second)
			if err := l.Add(ctx, fp(3), Entry{KeyID: "k1"}); err != nil {
				t.Fatal(err)
			}
			e, _, _ = l.Lookup(ctx, fp(3))
			if e.Added.Before(before.Truncate(time.Second)) || e.Added.After(time.Now()) {
				t.Errorf("zero Added became %v, want about now", e.Added)
			}
			if n, _ := l.Len(); n != 2 {
				t.Errorf("Len = %d, want 2", n)
			}
		})
	}
}

func TestInvalidEntry(t *testing.T) {
	ctx := context.Background()
	for _, impl := range implementations() {
		t.Run(impl.name, func(t *testing.T) {
			l := impl.open(t)
			defer l.Close()
			for _, id := range []string{"", strings.Repeat("k", maxKeyIDLen+1)} {
				if err := l.Add(ctx, fp(1), Entry{KeyID: id}); !errors.Is(err, ErrInvalidEntry) {
					t.Errorf("key ID of %d bytes: got %v, want ErrInvalidEntry", len(id), err)
				}
			}
			if err := l.Add(ctx, fp(1), Entry{KeyID: strings.Repeat("k", maxKeyIDLen)}); err != nil {
				t.Errorf("longest key ID: %v", err)
			}
		})
	}
}

func TestContextAndClose(t *testing.T) {
	for _, impl := range implementations() {
		t.Run(impl.name, func(t *testing.T) {
			l := impl.open(t)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := l.Add(ctx, fp(1), Entry{KeyID: "k"}); !errors.Is(err, context.Canceled) {
				t.Errorf("Add with canceled context: %v", err)
			}
			if _, _, err := l.Lookup(ctx, fp(1)); !errors.Is(err, context.Canceled) {
				t.Errorf("Lookup with canceled context: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			bg := context.Background()
			if err := l.Add(bg, fp(1), Entry{KeyID: "k"}); !errors.Is(err, ErrClosed) {
				t.Errorf("Add after Close: %v", err)
			}
			if _, _, err := l.Lookup(bg, fp(1)); !errors.Is(err, ErrClosed) {
				t.Errorf("Lookup after Close: %v", err)
			}
			if _, err := l.Len(); !errors.Is(err, ErrClosed) {
				t.Errorf("Len after Close: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	const workers, perWorker = 8, 25
	for _, impl := range implementations() {
		t.Run(impl.name, func(t *testing.T) {
			l := impl.open(t)
			defer l.Close()
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < perWorker; i++ {
						// Half the fingerprints are shared between workers.
						n := i
						if i%2 == 1 {
							n = w*1000 + i
						}
						if err := l.Add(ctx, fp(n), Entry{KeyID: "k"}); err != nil {
							errs <- err
							return
						}
						if _, ok, err := l.Lookup(ctx, fp(n)); err != nil || !ok {
							errs <- errors.New("entry missing right after Add")
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			shared := (perWorker + 1) / 2
			want := shared + workers*(perWorker-shared)
			if n, err := l.Len(); n != want || err != nil {
				t.Errorf("Len = %d, %v; want %d", n, err, want)
			}
		})
	}
}

func TestBoltPersists(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	b, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	added := time.Unix(1700000000, 0).UTC()
	for i := 0; i < 10; i++ {
		if err := b.Add(ctx, fp(i), Entry{KeyID: "key-a", Added: added}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b, err = OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n, err := b.Len(); n != 10 || err != nil {
		t.Errorf("after reopen Len = %d, %v; want 10", n, err)
	}
	for i := 0; i < 10; i++ {
		e, ok, err := b.Lookup(ctx, fp(i))
		if err != nil || !ok || e != (Entry{KeyID: "key-a", Added: added}) {
			t.Errorf("after reopen Lookup(%d) = %+v, %v, %v", i, e, ok, err)
		}
	}
}

func TestBoltFileMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "nested")
	path := filepath.Join(dir, "ledger.db")
	b, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ledger file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("created directory mode %v, %v; want no group/other access", fi.Mode().Perm(), err)
	}

	// A file someone made group/world readable is tightened, with a warning.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.WarnLevel)
	b, err = OpenBolt(path, BoltOptions{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after reopen %v, want 0600", fi.Mode().Perm())
	}
	if logs.Len() != 1 {
		t.Errorf("got %d warnings, want 1", logs.Len())
	}
}

func TestBoltSecondOpener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	first, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()

	// bbolt locks with flock(2), which also excludes a second open file
	// description in the same process, so this stands in for a second
	// jpegveil process.
	const timeout = 200 * time.Millisecond
	start := time.Now()
	second, err := OpenBolt(path, BoltOptions{Timeout: timeout})
	elapsed := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatal("second OpenBolt succeeded while the first holds the file")
	}
	if !errors.Is(err, ErrInUse) {
		t.Errorf("got %v, want ErrInUse", err)
	}
	if !strings.Contains(err.Error(), "ledger is in use by another jpegveil process") {
		t.Errorf("error %q is not the clear message", err)
	}
	if elapsed > timeout+2*time.Second {
		t.Errorf("second OpenBolt took %v with a %v timeout", elapsed, timeout)
	}

	// Once the first closes, the file can be opened again.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := OpenBolt(path, BoltOptions{Timeout: timeout})
	if err != nil {
		t.Fatalf("open after Close: %v", err)
	}
	third.Close()
}

func TestBoltRejectsForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a bolt file ", 1024)), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := OpenBolt(path, BoltOptions{}); err == nil {
		b.Close()
		t.Fatal("opened a file that is not a ledger")
	} else if !errors.Is(err, ErrCorrupt) {
		t.Errorf("got %v, want ErrCorrupt", err)
	}
}

func TestBoltRejectsNewerFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	b, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Simulate a file written by a future version.
	if err := b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyVersion, []byte("2")) }); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if b, err := OpenBolt(path, BoltOptions{}); err == nil {
		b.Close()
		t.Fatal("opened a ledger of an unknown format version")
	} else if !strings.Contains(err.Error(), "format version") {
		t.Errorf("got %v, want a format version error", err)
	}
}

func TestFingerprintString(t *testing.T) {
	var f Fingerprint
	f[0], f[31] = 0xab, 0x01
	if s := f.String(); len(s) != 64 || !strings.HasPrefix(s, "ab") || !strings.HasSuffix(s, "01") {
		t.Errorf("String() = %q", s)
	}
}

func BenchmarkBoltAdd(b *testing.B) {
	l, err := OpenBolt(filepath.Join(b.TempDir(), "ledger.db"), BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := l.Add(ctx, fp(i), Entry{KeyID: "0123456789abcdef"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBoltLookup(b *testing.B) {
	l, err := OpenBolt(filepath.Join(b.TempDir(), "ledger.db"), BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	const n = 10000
	// Fill in one transaction; Add would fsync n times.
	if err := l.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketFingerprints)
		for i := 0; i < n; i++ {
			f := fp(i)
			v := append([]byte{valueFormat, 0, 0, 0, 0, 0, 0, 0, 1}, "0123456789abcdef"...)
			if err := bk.Put(f[:], v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	fps := make([]Fingerprint, 2*n) // half present, half absent
	for i := range fps {
		fps[i] = fp(i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(fps)
		if _, ok, err := l.Lookup(ctx, fps[j]); err != nil || ok != (j < n) {
			b.Fatalf("Lookup(%d) = %v, %v", j, ok, err)
		}
	}
}

func BenchmarkMemoryAdd(b *testing.B) {
	l := NewMemory()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if err := l.Add(ctx, fp(i), Entry{KeyID: "0123456789abcdef"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryLookup(b *testing.B) {
	l := NewMemory()
	ctx := context.Background()
	fps := make([]Fingerprint, 20000) // half present, half absent
	for i := range fps {
		fps[i] = fp(i)
		if i < len(fps)/2 {
			_ = l.Add(ctx, fps[i], Entry{KeyID: "k"})
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := l.Lookup(ctx, fps[i%len(fps)]); err != nil {
			b.Fatal(err)
		}
	}
}
