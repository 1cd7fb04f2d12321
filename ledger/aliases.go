package ledger

import (
	"context"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// AliasStore keeps opaque keyed values beside the fingerprints: the proxy
// maps the checksum a client computes over a photo to the checksum of the
// ciphertext the service stores, and back. The proxy derives both key and
// value under its own subkey (a keyed hash, a sealed checksum), so the
// ledger still holds nothing a reader could tie to a plaintext.
type AliasStore interface {
	// RecordAlias stores value under key; the first value stored is kept.
	RecordAlias(ctx context.Context, key [32]byte, value []byte) error
	// Alias returns the value stored under key, if any.
	Alias(ctx context.Context, key [32]byte) ([]byte, bool, error)
}

// maxAliasValue bounds an alias value.
const maxAliasValue = 256

var (
	_ AliasStore = (*BoltLedger)(nil)
	_ AliasStore = (*Memory)(nil)
)

// bucketAliases is "aliases": keyed lookup key (32 bytes) -> value.
var bucketAliases = []byte("aliases")

func checkAlias(value []byte) error {
	if len(value) == 0 || len(value) > maxAliasValue {
		return fmt.Errorf("%w: alias value must be 1 to %d bytes, got %d", ErrInvalidEntry, maxAliasValue, len(value))
	}
	return nil
}

// RecordAlias implements AliasStore.
func (b *BoltLedger) RecordAlias(ctx context.Context, key [32]byte, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkAlias(value); err != nil {
		return err
	}
	err := b.protect("record alias", func() error {
		return b.db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists(bucketAliases)
			if err != nil || bk.Get(key[:]) != nil {
				return err
			}
			return bk.Put(key[:], value)
		})
	})
	return b.wrap("record alias", err)
}

// Alias implements AliasStore.
func (b *BoltLedger) Alias(ctx context.Context, key [32]byte) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var out []byte
	err := b.protect("lookup alias", func() error {
		return b.db.View(func(tx *bolt.Tx) error {
			// A ledger from before aliases, opened read-only, lacks the
			// bucket.
			if bk := tx.Bucket(bucketAliases); bk != nil {
				if v := bk.Get(key[:]); v != nil {
					out = append([]byte(nil), v...)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, false, b.wrap("lookup alias", err)
	}
	return out, out != nil, nil
}

// memoryAliases is the Memory ledger's alias map.
type memoryAliases struct {
	mu sync.RWMutex
	m  map[[32]byte][]byte
}

// RecordAlias implements AliasStore.
func (m *Memory) RecordAlias(ctx context.Context, key [32]byte, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkAlias(value); err != nil {
		return err
	}
	m.aliases.mu.Lock()
	defer m.aliases.mu.Unlock()
	if m.aliases.m == nil {
		m.aliases.m = map[[32]byte][]byte{}
	}
	if _, ok := m.aliases.m[key]; !ok {
		m.aliases.m[key] = append([]byte(nil), value...)
	}
	return nil
}

// Alias implements AliasStore.
func (m *Memory) Alias(ctx context.Context, key [32]byte) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	m.aliases.mu.RLock()
	defer m.aliases.mu.RUnlock()
	v, ok := m.aliases.m[key]
	return append([]byte(nil), v...), ok, nil
}
