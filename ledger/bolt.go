package ledger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"
)

// File layout (format version 1):
//
//	bucket "meta":         "version" -> "1"
//	bucket "fingerprints": fingerprint (32 bytes) -> value
//	bucket "services":     fingerprint -> service identities (records.go)
//	bucket "hashes":       fingerprint -> SHA-256 of the whole ciphertext file
//	bucket "aliases":      keyed lookup key -> opaque value (aliases.go)
//
// value: 1 byte value format (1), 8 bytes big-endian Unix seconds when
// added, then the key ID bytes. The "services" and "hashes" buckets were
// added within format version 1: readers that do not know them ignore them.
var (
	bucketMeta         = []byte("meta")
	bucketFingerprints = []byte("fingerprints")
	bucketServices     = []byte("services")
	bucketHashes       = []byte("hashes")
	keyVersion         = []byte("version")
)

const (
	formatVersion  = "1"
	valueFormat    = 1
	valueHeaderLen = 1 + 8

	// DefaultOpenTimeout is how long OpenBolt waits for another process to
	// release the ledger file before it returns ErrInUse.
	DefaultOpenTimeout = 2 * time.Second
)

// BoltOptions configures OpenBolt.
type BoltOptions struct {
	// Timeout bounds the wait for the file lock when another process holds
	// it; zero or negative means DefaultOpenTimeout. There is no way to wait
	// forever.
	Timeout time.Duration
	// Logger receives the ledger's log messages; nil means none.
	Logger *zap.Logger
	// ReadOnly opens an existing file without changing it, under a shared
	// lock: several readers may hold it, but not while a writer does.
	ReadOnly bool
}

// BoltLedger is a Ledger in a local bbolt file. The file is locked while
// open, so only one process uses it at a time. Each Add is committed to disk
// (fsync) before it returns.
type BoltLedger struct {
	db    *bolt.DB
	path  string
	log   *zap.Logger
	fault atomic.Pointer[FaultError]
}

var _ Ledger = (*BoltLedger)(nil)

// OpenBolt opens the ledger file at path, creating it (mode 0600, parent
// directories 0700) if needed. If another process holds it, OpenBolt gives
// up after opts.Timeout with an error wrapping ErrInUse. An existing file is
// checked before bbolt maps it (validateFile): a truncated or damaged one
// is an error wrapping ErrTruncated or ErrCorrupt, never a crash. OpenBolt
// does not know whether a ledger should exist; OpenGuarded does.
func OpenBolt(path string, opts BoltOptions) (*BoltLedger, error) {
	return openBolt(path, opts, false)
}

// openBolt is OpenBolt; validated says the caller has just run
// validateFile on path (or set the file aside), so it is not walked again.
func openBolt(path string, opts BoltOptions, validated bool) (*BoltLedger, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultOpenTimeout
	}
	fi, statErr := os.Stat(path)
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open ledger: %w", err)
		}
	} else if statErr != nil || fi.Size() == 0 {
		if statErr == nil {
			statErr = ErrEmpty
		}
		return nil, fmt.Errorf("open ledger %s: %w", path, statErr)
	}
	if !validated && statErr == nil && fi.Size() > 0 {
		if err := validateFile(path); err != nil {
			return nil, fmt.Errorf("open ledger %s: %w", path, err)
		}
	}
	var db *bolt.DB
	err := safely(path, "open", func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly})
		return err
	})
	var fe *FaultError
	switch {
	case errors.As(err, &fe):
		return nil, err
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("open ledger %s: %w (gave up after %s)", path, ErrInUse, timeout)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrChecksum):
		return nil, fmt.Errorf("open ledger %s: %w: not a ledger file (%v)", path, ErrCorrupt, err)
	case err != nil:
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	b := &BoltLedger{db: db, path: path, log: log}
	init := b.init
	if opts.ReadOnly {
		init = b.checkVersion
	}
	if err := init(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	log.Debug("ledger opened", zap.String("path", path))
	return b, nil
}

// init tightens the file mode and creates or checks the buckets.
func (b *BoltLedger) init() error {
	fi, err := os.Stat(b.path)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(b.path, 0o600); err != nil {
			return err
		}
		b.log.Warn("ledger file was accessible by group or others; changed its mode to 0600",
			zap.String("path", b.path), zap.String("old_mode", fmt.Sprintf("%04o", perm)))
	}
	return b.protect("open", func() error { return b.db.Update(b.initTx) })
}

func (b *BoltLedger) initTx(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	switch v := meta.Get(keyVersion); {
	case v == nil:
		if err := meta.Put(keyVersion, []byte(formatVersion)); err != nil {
			return err
		}
	case string(v) != formatVersion:
		return fmt.Errorf("ledger format version %q is not supported (this jpegveil reads version %s)", v, formatVersion)
	}
	for _, name := range [][]byte{bucketFingerprints, bucketServices, bucketHashes} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// checkVersion checks, read-only, that the file is a ledger this package
// reads.
func (b *BoltLedger) checkVersion() error {
	return b.protect("open", func() error {
		return b.db.View(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if meta == nil || tx.Bucket(bucketFingerprints) == nil {
				return fmt.Errorf("%w: not a ledger (buckets missing)", ErrCorrupt)
			}
			if v := meta.Get(keyVersion); string(v) != formatVersion {
				return fmt.Errorf("ledger format version %q is not supported (this jpegveil reads version %s)", v, formatVersion)
			}
			return nil
		})
	})
}

// Path returns the ledger file's path.
func (b *BoltLedger) Path() string { return b.path }

// Add implements Ledger. The entry is on disk when Add returns nil.
func (b *BoltLedger) Add(ctx context.Context, fp Fingerprint, e Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e, err := normalize(e)
	if err != nil {
		return err
	}
	value := encodeEntry(e)
	err = b.protect("add", func() error {
		return b.db.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket(bucketFingerprints)
			if bk.Get(fp[:]) != nil {
				return nil // keep the first entry
			}
			return bk.Put(fp[:], value)
		})
	})
	return b.wrap("add", err)
}

// Lookup implements Ledger.
func (b *BoltLedger) Lookup(ctx context.Context, fp Fingerprint) (Entry, bool, error) {
	var e Entry
	found, err := b.get(ctx, fp, func(_ *bolt.Tx, v []byte) (err error) {
		e, err = decodeEntry(fp, v)
		return err
	})
	if err != nil || !found {
		return Entry{}, false, err
	}
	return e, true, nil
}

// get calls read, in a read transaction, with the fingerprints value of fp;
// found is false (and read not called) when fp is not recorded.
func (b *BoltLedger) get(ctx context.Context, fp Fingerprint, read func(tx *bolt.Tx, v []byte) error) (found bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	err = b.protect("lookup", func() error {
		return b.db.View(func(tx *bolt.Tx) error {
			v := tx.Bucket(bucketFingerprints).Get(fp[:])
			if v == nil {
				return nil
			}
			found = true
			return read(tx, v)
		})
	})
	if err != nil {
		return false, b.wrap("lookup", err)
	}
	return found, nil
}

// Len returns the number of entries.
func (b *BoltLedger) Len() (int, error) {
	var n int
	err := b.protect("len", func() error {
		return b.db.View(func(tx *bolt.Tx) error {
			n = tx.Bucket(bucketFingerprints).Stats().KeyN
			return nil
		})
	})
	return n, b.wrap("len", err)
}

// Close implements Ledger. It releases the file lock.
func (b *BoltLedger) Close() error {
	return b.wrap("close", b.db.Close())
}

// decodeEntry decodes a fingerprints value. The key ID is copied: v is only
// valid inside its transaction.
func decodeEntry(fp Fingerprint, v []byte) (Entry, error) {
	if len(v) <= valueHeaderLen || len(v) > valueHeaderLen+maxKeyIDLen || v[0] != valueFormat {
		return Entry{}, fmt.Errorf("%w: bad entry for %s", ErrCorrupt, fp)
	}
	return Entry{
		KeyID: string(v[valueHeaderLen:]),
		Added: time.Unix(int64(binary.BigEndian.Uint64(v[1:valueHeaderLen])), 0).UTC(),
	}, nil
}

// encodeEntry is the inverse of decodeEntry; e must be normalized.
func encodeEntry(e Entry) []byte {
	value := make([]byte, valueHeaderLen+len(e.KeyID))
	value[0] = valueFormat
	binary.BigEndian.PutUint64(value[1:valueHeaderLen], uint64(e.Added.Unix()))
	copy(value[valueHeaderLen:], e.KeyID)
	return value
}

func (b *BoltLedger) wrap(op string, err error) error {
	var fe *FaultError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return err
	case errors.Is(err, bolterrors.ErrDatabaseNotOpen):
		return ErrClosed
	default:
		return fmt.Errorf("ledger %s %s: %w", op, b.path, err)
	}
}
