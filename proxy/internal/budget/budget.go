// Package budget is the one memory budget the proxy's buffered uploads
// share: bodies held whole to recompute a hash header, chunks of resumable
// uploads, and the encrypted output sessions keep between requests.
// Whatever holds such a buffer takes its size from the budget first; when
// the budget is spent, it waits a while for others to give memory back,
// then gives up with an *ExhaustedError, which the proxy answers with 503
// and Retry-After instead of holding more.
package budget

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Budget is a number of bytes shared by its Holds. A nil *Budget is
// unlimited.
type Budget struct {
	mu    sync.Mutex
	max   int64
	used  int64
	wait  time.Duration
	freed chan struct{} // closed, and replaced, whenever bytes are given back
}

// New returns a budget of max bytes; a Hold that asks for more than is
// free waits up to wait for it.
func New(max int64, wait time.Duration) *Budget {
	return &Budget{max: max, wait: wait, freed: make(chan struct{})}
}

// ExhaustedError says that a buffer could not get its memory.
type ExhaustedError struct {
	Want, Max int64
	Waited    time.Duration
}

func (e *ExhaustedError) Error() string {
	if e.Want > e.Max {
		return fmt.Sprintf("this upload needs %d bytes in memory, more than limits.buffer_memory (%d bytes) allows", e.Want, e.Max)
	}
	return fmt.Sprintf("the memory for buffered uploads (limits.buffer_memory, %d bytes) stayed in use for %v", e.Max, e.Waited)
}

// IsExhausted reports whether err is or wraps an *ExhaustedError.
func IsExhausted(err error) bool {
	var e *ExhaustedError
	return errors.As(err, &e)
}

// Used returns the bytes held now.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// take takes n bytes, waiting for them up to b.wait or until ctx ends.
func (b *Budget) take(ctx context.Context, n int64) error {
	if n > b.max {
		return &ExhaustedError{Want: n, Max: b.max}
	}
	var timeout <-chan time.Time
	start := time.Now()
	for {
		b.mu.Lock()
		if b.used+n <= b.max {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		freed := b.freed
		b.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(b.wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-freed:
		case <-timeout:
			return &ExhaustedError{Want: n, Max: b.max, Waited: time.Since(start).Round(time.Millisecond)}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// force takes n bytes whether or not they are free: for memory that is in
// use already and has to be counted.
func (b *Budget) force(n int64) {
	b.mu.Lock()
	b.used += n
	b.mu.Unlock()
}

func (b *Budget) give(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// Hold is the share of a budget one buffer holds; it grows and shrinks
// with the buffer. A nil *Hold holds nothing and never fails.
type Hold struct {
	b      *Budget
	mu     sync.Mutex
	n      int64
	closed bool
}

// NewHold returns an empty share of b (nil for a nil b).
func (b *Budget) NewHold() *Hold {
	if b == nil {
		return nil
	}
	return &Hold{b: b}
}

// Resize makes the hold n bytes, waiting for memory to grow it. After
// Close it holds nothing more.
func (h *Hold) Resize(ctx context.Context, n int64) error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || n == h.n {
		return nil
	}
	if n < h.n {
		h.b.give(h.n - n)
	} else if err := h.b.take(ctx, n-h.n); err != nil {
		return err
	}
	h.n = n
	return nil
}

// Set makes the hold n bytes at once, over the budget if need be: for a
// buffer that exists already.
func (h *Hold) Set(n int64) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if n < h.n {
		h.b.give(h.n - n)
	} else {
		h.b.force(n - h.n)
	}
	h.n = n
}

// Size returns the bytes held.
func (h *Hold) Size() int64 {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Close gives everything back; the hold takes nothing after it.
func (h *Hold) Close() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.b.give(h.n)
	h.n, h.closed = 0, true
}
