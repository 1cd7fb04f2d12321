// Package ledger records which images this proxy encrypted (DESIGN.md §4).
//
// XOR encryption is its own inverse, so direction must never be guessed: an
// upload whose fingerprint is in the ledger is already encrypted and passes
// unchanged, and a download is decrypted only if its fingerprint is in the
// ledger. A fingerprint is a keyed hash of the ciphertext computed elsewhere;
// to this package it is an opaque 32-byte value. The ledger stores nothing
// but fingerprint -> (key ID, time added): no plaintext information.
//
// Durability matters: a lost entry makes a re-upload of that ciphertext look
// like plaintext, and encrypting it again would decrypt it. Add returns only
// once the entry is on disk (BoltLedger), so callers should Add before the
// ciphertext leaves the proxy.
package ledger

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Fingerprint is the keyed fingerprint of an encrypted image.
type Fingerprint [32]byte

// String returns the fingerprint in hex.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// Entry is what the ledger keeps about a fingerprint.
type Entry struct {
	// KeyID identifies the key the image was encrypted with (1 to 255
	// bytes).
	KeyID string
	// Added is when the image was first recorded. Ledgers keep it to the
	// second, in UTC; a zero Added is replaced by the current time.
	Added time.Time
}

// Ledger is a store of fingerprints of images the proxy encrypted.
// Implementations are safe for concurrent use.
type Ledger interface {
	// Add records fp. It is idempotent: if fp is already recorded, the
	// first entry is kept and Add returns nil.
	Add(ctx context.Context, fp Fingerprint, e Entry) error
	// Lookup returns the entry for fp and whether there is one.
	Lookup(ctx context.Context, fp Fingerprint) (Entry, bool, error)
	// Close releases the ledger; later calls return ErrClosed.
	Close() error
}

// Errors.
var (
	// ErrInUse means another process holds the ledger file.
	ErrInUse = errors.New("ledger is in use by another jpegveil process")
	// ErrClosed is returned by a ledger used after Close.
	ErrClosed = errors.New("ledger is closed")
	// ErrInvalidEntry is returned by Add for an entry it cannot store.
	ErrInvalidEntry = errors.New("invalid ledger entry")
	// ErrCorrupt means the ledger file holds data this package did not
	// write.
	ErrCorrupt = errors.New("ledger file is corrupt")
	// ErrTruncated means the ledger file is shorter than its own pages say.
	ErrTruncated = errors.New("ledger file is truncated")
	// ErrEmpty means the ledger file exists but has no bytes.
	ErrEmpty = errors.New("ledger file is empty (0 bytes)")
	// ErrMissing means the ledger file is gone although one existed.
	ErrMissing = errors.New("ledger file is missing")
	// ErrNotRecorded is returned when extra facts are recorded for a
	// fingerprint the ledger does not hold.
	ErrNotRecorded = errors.New("fingerprint is not in the ledger")
)

// maxKeyIDLen bounds Entry.KeyID.
const maxKeyIDLen = 255

// normalize checks e and returns it as ledgers store it: Added in whole
// seconds, UTC, the current time if zero.
func normalize(e Entry) (Entry, error) {
	if e.KeyID == "" || len(e.KeyID) > maxKeyIDLen {
		return Entry{}, fmt.Errorf("%w: key ID must be 1 to %d bytes, got %d", ErrInvalidEntry, maxKeyIDLen, len(e.KeyID))
	}
	if e.Added.IsZero() {
		e.Added = time.Now()
	}
	e.Added = time.Unix(e.Added.Unix(), 0).UTC()
	return e, nil
}
