// Package idle closes client connections that stay idle too long after
// net/http has handed them over by hijacking (CONNECT tunnels), where its
// own timeouts no longer apply.
package idle

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// idleConn closes a client connection that stays idle too long once it has
// left the outer net/http server's hands: CONNECT tunnels are hijacked,
// and that server's timeouts no longer apply to them. Every read or write
// moves the deadline, so a slow but moving upload is never cut; before
// hijacking, net/http manages the deadlines itself.
//
// After hijacking, a deadline set explicitly (by the server of an
// intercepted tunnel: the header timeout, or a deadline in the past to
// abort a read) is remembered, and the idle deadline never goes past it:
// bytes trickling in do not stretch the time a client has for its
// headers.
type idleConn struct {
	net.Conn
	idle     time.Duration
	hijacked atomic.Bool

	mu              sync.Mutex
	readBy, writeBy time.Time    // set explicitly; zero: none
	refreshed       atomic.Int64 // when refresh last moved the deadlines, in Unix ns
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.refresh()
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	c.refresh()
	return c.Conn.Write(p)
}

// refresh moves both deadlines to the idle timeout from now, or to the
// explicit deadline when that comes first. A sixteenth of the timeout
// after the last move is close enough: a stream of small reads and writes
// does not reset the deadlines for each one.
func (c *idleConn) refresh() {
	if !c.hijacked.Load() {
		return
	}
	now := time.Now()
	if now.UnixNano()-c.refreshed.Load() < int64(c.idle/16) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshed.Store(now.UnixNano())
	idle := now.Add(c.idle)
	c.Conn.SetReadDeadline(sooner(idle, c.readBy))
	c.Conn.SetWriteDeadline(sooner(idle, c.writeBy))
}

func (c *idleConn) SetDeadline(t time.Time) error {
	return c.setExplicit(t, &c.readBy, &c.writeBy, c.Conn.SetDeadline)
}

func (c *idleConn) SetReadDeadline(t time.Time) error {
	return c.setExplicit(t, &c.readBy, nil, c.Conn.SetReadDeadline)
}

func (c *idleConn) SetWriteDeadline(t time.Time) error {
	return c.setExplicit(t, &c.writeBy, nil, c.Conn.SetWriteDeadline)
}

// setExplicit remembers the explicit deadline t in by (and by2) and sets
// it with set, brought forward to the idle timeout once hijacked.
func (c *idleConn) setExplicit(t time.Time, by, by2 *time.Time, set func(time.Time) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	*by = t
	if by2 != nil {
		*by2 = t
	}
	if c.hijacked.Load() {
		t = sooner(time.Now().Add(c.idle), t)
	}
	return set(t)
}

// sooner returns the earlier of a and the explicit deadline b (zero: none).
func sooner(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// Listener wraps accepted connections in idleConn, which closes them
// after Timeout without a read or write once they are hijacked.
type Listener struct {
	net.Listener
	Timeout time.Duration
}

func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &idleConn{Conn: c, idle: l.Timeout}, nil
}

type connKey struct{}

// ConnContext, as an http.Server's ConnContext, remembers the connection
// of each request, so that ArmOnHijack can find it.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if ic, ok := c.(*idleConn); ok {
		return context.WithValue(ctx, connKey{}, ic)
	}
	return ctx
}

// armingWriter arms the idle timeout of its connection once it has been
// hijacked. Not before: until Hijack returns, net/http still moves the
// deadlines itself (it aborts its background read with a deadline in the
// past), and a deadline set by idleConn would undo that and stall the
// hijack.
type armingWriter struct {
	http.ResponseWriter
	ic *idleConn
}

func (w armingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("idle: connection cannot be hijacked")
	}
	c, rw, err := h.Hijack()
	if err == nil {
		w.ic.hijacked.Store(true)
	}
	return c, rw, err
}

// ArmOnHijack returns w armed to start the idle timeout of r's connection
// when it is hijacked.
func ArmOnHijack(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	if ic, ok := r.Context().Value(connKey{}).(*idleConn); ok {
		return armingWriter{ResponseWriter: w, ic: ic}
	}
	return w
}
