package session

import (
	"sync"
	"time"
)

// Table holds the upload sessions of one proxy: at most max of them, each
// dropped after ttl without a request.
type Table struct {
	mu      sync.Mutex
	m       map[string]*Session
	max     int
	ttl     time.Duration
	now     func() time.Time
	onEvict func()
}

// Session is one resumable upload. mu serializes its requests; State is
// what the service's protocol keeps of it.
type Session struct {
	mu       sync.Mutex
	key      string
	lastUsed time.Time // guarded by the table's mu
	gone     bool      // removed from the table; guarded by the table's mu
	// State is the protocol's own record of the upload.
	State any
}

// NewTable returns an empty table of at most max sessions, each kept ttl
// after its last request by the clock now (nil: time.Now). onEvict, if not nil, is called when a session is
// dropped to make room for a new one.
func NewTable(max int, ttl time.Duration, now func() time.Time, onEvict func()) *Table {
	if max < 1 { // Validate refuses it; a proxy built without it gets the default
		max = 256
	}
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	if now == nil {
		now = time.Now
	}
	return &Table{m: make(map[string]*Session), max: max, ttl: ttl, now: now, onEvict: onEvict}
}

// Acquire returns the live session for key, locked, or nil. The caller
// unlocks it with Release.
func (t *Table) Acquire(key string) *Session {
	t.mu.Lock()
	t.expireLocked()
	sess := t.m[key]
	if sess != nil {
		sess.lastUsed = t.now()
	}
	t.mu.Unlock()
	if sess == nil {
		return nil
	}
	sess.mu.Lock()
	t.mu.Lock()
	gone := sess.gone
	t.mu.Unlock()
	if gone { // removed while this request waited for it
		sess.mu.Unlock()
		return nil
	}
	return sess
}

// Release unlocks a session from Acquire and marks it used now.
func (t *Table) Release(sess *Session) {
	t.mu.Lock()
	sess.lastUsed = t.now()
	t.mu.Unlock()
	sess.mu.Unlock()
}

// Add stores a new session under key, replacing one there. When the table
// is full, expired sessions go first, then the least recently used idle
// one.
func (t *Table) Add(key string, state any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked()
	if old := t.m[key]; old != nil {
		old.drop()
		delete(t.m, key)
	}
	for len(t.m) >= t.max {
		var victim *Session
		for _, s := range t.m {
			if victim == nil || s.lastUsed.Before(victim.lastUsed) {
				if s.mu.TryLock() { // idle: nobody is in a request with it
					s.mu.Unlock()
					victim = s
				}
			}
		}
		if victim == nil {
			// Every session is in a request right now: take the oldest
			// anyway; its next request will be refused.
			for _, s := range t.m {
				if victim == nil || s.lastUsed.Before(victim.lastUsed) {
					victim = s
				}
			}
		}
		victim.drop()
		delete(t.m, victim.key)
		if t.onEvict != nil {
			t.onEvict()
		}
	}
	t.m[key] = &Session{key: key, lastUsed: t.now(), State: state}
}

// Remove drops the session under key if it is sess (nil: any).
func (t *Table) Remove(key string, sess *Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur := t.m[key]; cur != nil && (sess == nil || cur == sess) {
		cur.drop()
		delete(t.m, key)
	}
}

// Len returns the number of live sessions.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked()
	return len(t.m)
}

func (t *Table) expireLocked() {
	now := t.now()
	for k, s := range t.m {
		if now.Sub(s.lastUsed) > t.ttl {
			s.drop()
			delete(t.m, k)
		}
	}
}

// Releaser is a session state that holds memory of the proxy's budget,
// given back when the session is dropped.
type Releaser interface{ Release() }

// drop marks the session removed and gives its memory back; the table's
// mu is held. A request still in the session finds it gone at its next
// Acquire.
func (s *Session) drop() {
	s.gone = true
	if r, ok := s.State.(Releaser); ok {
		r.Release()
	}
}

// Key is the key the session is stored under.
func (s *Session) Key() string { return s.key }
