package proxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// idleConn closes a client connection that stays idle too long once it has
// left net/http's hands: CONNECT tunnels and intercepted TLS sessions are
// hijacked by goproxy, and net/http's timeouts no longer apply to them.
// Every read or write moves the deadline, so a slow but moving upload is
// never cut; before hijacking, net/http manages the deadlines itself.
type idleConn struct {
	net.Conn
	idle     time.Duration
	hijacked atomic.Bool
}

func (c *idleConn) Read(p []byte) (int, error) {
	if c.hijacked.Load() {
		c.Conn.SetDeadline(time.Now().Add(c.idle))
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	if c.hijacked.Load() {
		c.Conn.SetDeadline(time.Now().Add(c.idle))
	}
	return c.Conn.Write(p)
}

// idleListener wraps accepted connections in idleConn.
type idleListener struct {
	net.Listener
	idle time.Duration
}

func (l idleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &idleConn{Conn: c, idle: l.idle}, nil
}

type connKey struct{}

// connContext remembers the connection of each request, so that ServeHTTP
// can arm its idle timeout when goproxy hijacks it.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if ic, ok := c.(*idleConn); ok {
		return context.WithValue(ctx, connKey{}, ic)
	}
	return ctx
}

// armingWriter arms the idle timeout of its connection once goproxy has
// hijacked it. Not before: until Hijack returns, net/http still moves the
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
		return nil, nil, errors.New("proxy: connection cannot be hijacked")
	}
	c, rw, err := h.Hijack()
	if err == nil {
		w.ic.hijacked.Store(true)
	}
	return c, rw, err
}

// withIdleTimeout returns w armed to start the idle timeout when hijacked.
func withIdleTimeout(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	if ic, ok := r.Context().Value(connKey{}).(*idleConn); ok {
		return armingWriter{ResponseWriter: w, ic: ic}
	}
	return w
}
