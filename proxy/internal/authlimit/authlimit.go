// Package authlimit slows down failed proxy authentications per client
// address, so that guessing the proxy password takes days, not seconds.
package authlimit

import (
	"net/netip"
	"sync"
	"time"
)

// Failed proxy authentications are slowed down per client address: the
// first few are answered at once (a user mistyping), then the address has
// to wait before its credentials are checked again, twice as long after
// each further failure. Guessing the password from one address becomes a
// matter of days instead of seconds, and one address's lockout never
// affects another.
const (
	freeAuthFailures  = 5
	firstAuthBackoff  = time.Second
	maxAuthBackoff    = 5 * time.Minute
	forgetAuthFailure = time.Hour // an address that stops failing is forgiven
	maxAuthAddresses  = 4096      // bounds the memory an address-hopping client can take
)

// Limiter counts the failed proxy authentications of client addresses
// (an IPv4 address, or the /64 of an IPv6 address, which one client
// usually has whole).
type Limiter struct {
	mu  sync.Mutex
	now func() time.Time
	by  map[netip.Addr]*authFailures
}

type authFailures struct {
	n     int
	last  time.Time
	until time.Time // no check before then
}

// New returns a Limiter on the clock now; nil: time.Now.
func New(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now, by: make(map[netip.Addr]*authFailures)}
}

// authKey is the address failures are counted under.
func authKey(a netip.Addr) netip.Addr {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// Wait returns how long the client at a must wait before its credentials
// are checked again; 0 means now.
func (l *Limiter) Wait(a netip.Addr) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.by[authKey(a)]
	if f == nil {
		return 0
	}
	return max(0, f.until.Sub(l.now()))
}

// Failed records a failed authentication from a and returns the number of
// failures so far and the wait it starts (0 for none).
func (l *Limiter) Failed(a netip.Addr) (int, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now, k := l.now(), authKey(a)
	f := l.by[k]
	if f != nil && now.Sub(f.last) > forgetAuthFailure {
		f = nil
	}
	if f == nil {
		l.makeRoom(now)
		f = &authFailures{}
		l.by[k] = f
	}
	f.n++
	f.last = now
	if f.n <= freeAuthFailures {
		return f.n, 0
	}
	d := maxAuthBackoff
	if shift := f.n - freeAuthFailures - 1; shift < 20 {
		d = min(firstAuthBackoff<<shift, maxAuthBackoff)
	}
	f.until = now.Add(d)
	return f.n, d
}

// Succeeded forgets the failures of a.
func (l *Limiter) Succeeded(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.by, authKey(a))
}

// makeRoom keeps the table under maxAuthAddresses: forgiven addresses go
// first, then any.
func (l *Limiter) makeRoom(now time.Time) {
	if len(l.by) < maxAuthAddresses {
		return
	}
	for k, f := range l.by {
		if now.Sub(f.last) > forgetAuthFailure {
			delete(l.by, k)
		}
	}
	for k := range l.by {
		if len(l.by) < maxAuthAddresses {
			return
		}
		delete(l.by, k)
	}
}
