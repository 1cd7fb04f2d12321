package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// CheckReport is what CheckFile found in a sound ledger file.
type CheckReport struct {
	Records      int
	WithServices int
	WithHash     int
	KeyIDs       map[string]int // records per key ID
}

// CheckFile checks the ledger file at path without changing it: its pages
// before mapping (validateFile), bbolt's consistency check over every page,
// the format version, and every record. It opens the file read-only, so it
// cannot run while a proxy holds the file (ErrInUse): check a daily copy
// then, or stop the proxy. A problem is an error wrapping ErrEmpty,
// ErrTruncated or ErrCorrupt.
func CheckFile(ctx context.Context, path string, timeout time.Duration) (CheckReport, error) {
	if timeout <= 0 {
		timeout = DefaultOpenTimeout
	}
	if err := validateFile(path); err != nil {
		return CheckReport{}, fmt.Errorf("ledger %s: %w", path, err)
	}
	var db *bolt.DB
	err := safely(path, "check", func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout})
		return err
	})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return CheckReport{}, fmt.Errorf("ledger %s: %w (check a daily copy, or stop the proxy first)", path, ErrInUse)
	case err != nil:
		return CheckReport{}, fmt.Errorf("ledger %s: %w: %v", path, ErrCorrupt, err)
	}
	b := &BoltLedger{db: db, path: path}
	defer b.Close()
	err = b.protect("check", func() error {
		return db.View(func(tx *bolt.Tx) error {
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
	if err != nil {
		return CheckReport{}, b.wrap("check", err)
	}
	if err := b.consistency(); err != nil {
		return CheckReport{}, b.wrap("check", err)
	}
	rep := CheckReport{KeyIDs: map[string]int{}}
	err = b.Records(ctx, func(r Record) error {
		rep.Records++
		rep.KeyIDs[r.KeyID]++
		if len(r.Services) > 0 {
			rep.WithServices++
		}
		if r.HasHash {
			rep.WithHash++
		}
		return nil
	})
	return rep, err
}
