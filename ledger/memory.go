package ledger

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Memory is a Ledger held in memory, for tests. It is safe for concurrent
// use and behaves like BoltLedger, except that it forgets everything.
type Memory struct {
	mu       sync.RWMutex
	entries  map[Fingerprint]Entry
	services map[Fingerprint][]ServiceRef
	hashes   map[Fingerprint][32]byte
	aliases  memoryAliases
	closed   bool
}

var _ Ledger = (*Memory)(nil)

// NewMemory returns an empty in-memory ledger.
func NewMemory() *Memory {
	return &Memory{
		entries:  map[Fingerprint]Entry{},
		services: map[Fingerprint][]ServiceRef{},
		hashes:   map[Fingerprint][32]byte{},
	}
}

// Add implements Ledger.
func (m *Memory) Add(ctx context.Context, fp Fingerprint, e Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e, err := normalize(e)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.entries[fp]; !ok {
		m.entries[fp] = e
	}
	return nil
}

// Lookup implements Ledger.
func (m *Memory) Lookup(ctx context.Context, fp Fingerprint) (Entry, bool, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return Entry{}, false, ErrClosed
	}
	e, ok := m.entries[fp]
	return e, ok, nil
}

// Len returns the number of entries.
func (m *Memory) Len() (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0, ErrClosed
	}
	return len(m.entries), nil
}

// Close implements Ledger.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.entries = nil
	return nil
}

// RecordService implements UploadRecorder.
func (m *Memory) RecordService(ctx context.Context, fp Fingerprint, ref ServiceRef) error {
	return m.record(ctx, fp, func() error {
		if err := ref.validate(); err != nil {
			return err
		}
		m.services[fp], _ = addServices(m.services[fp], ref)
		return nil
	})
}

// RecordCiphertextHash implements UploadRecorder.
func (m *Memory) RecordCiphertextHash(ctx context.Context, fp Fingerprint, sum [32]byte) error {
	return m.record(ctx, fp, func() error {
		if _, ok := m.hashes[fp]; !ok {
			m.hashes[fp] = sum
		}
		return nil
	})
}

// Record returns everything the ledger keeps about fp.
func (m *Memory) Record(ctx context.Context, fp Fingerprint) (Record, bool, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return Record{}, false, ErrClosed
	}
	e, ok := m.entries[fp]
	if !ok {
		return Record{}, false, nil
	}
	h, hasHash := m.hashes[fp]
	return Record{Fingerprint: fp, Entry: e, Services: slices.Clone(m.services[fp]), CiphertextSHA256: h, HasHash: hasHash}, true, nil
}

func (m *Memory) record(ctx context.Context, fp Fingerprint, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch _, ok := m.entries[fp]; {
	case m.closed:
		return ErrClosed
	case !ok:
		return fmt.Errorf("%w: %s", ErrNotRecorded, fp)
	}
	return fn()
}
