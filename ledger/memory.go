package ledger

import (
	"context"
	"sync"
)

// Memory is a Ledger held in memory, for tests. It is safe for concurrent
// use and behaves like BoltLedger, except that it forgets everything.
type Memory struct {
	mu      sync.RWMutex
	entries map[Fingerprint]Entry
	closed  bool
}

var _ Ledger = (*Memory)(nil)

// NewMemory returns an empty in-memory ledger.
func NewMemory() *Memory {
	return &Memory{entries: map[Fingerprint]Entry{}}
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
