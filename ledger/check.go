package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"
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
	b, err := openBolt(path, BoltOptions{ReadOnly: true, Timeout: timeout}, true)
	switch {
	case errors.Is(err, ErrInUse):
		return CheckReport{}, fmt.Errorf("ledger %s: %w (check a daily copy, or stop the proxy first)", path, ErrInUse)
	case err != nil:
		return CheckReport{}, err
	}
	defer b.Close()
	rep := CheckReport{KeyIDs: map[string]int{}}
	err = b.consistency(ctx, func(r Record) error {
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
	if err != nil {
		return CheckReport{}, b.wrap("check", err)
	}
	return rep, nil
}
