package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// maxHeaderBytes bounds the header block of a request, from a proxy client
// and inside an intercepted tunnel alike. Browsers send at most 256 KiB.
const maxHeaderBytes = 256 << 10

// The requests inside an intercepted tunnel are served by an http.Server
// of the proxy's own (Server.tunnelled), fed the decrypted connections by
// intercept, so that client_timeouts.read_header, the header size limit
// and the idle timeout hold inside a tunnel as they do outside. (goproxy's
// own interception reads the requests in a tunnel with http.ReadRequest,
// which has neither a deadline nor a size limit.)

// intercepts reports whether a CONNECT to host is intercepted: a host the
// rules name, or a CA probe the proxy answers itself.
func (s *Server) intercepts(host string) bool {
	return s.cfg.Intercepts(host) || s.isProbeHost(host)
}

// intercept answers a CONNECT to a host the rules name: it takes over the
// connection, terminates TLS with a leaf from jpegveil's CA and hands the
// connection to the tunnelled server.
func (s *Server) intercept(w http.ResponseWriter, r *http.Request) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "jpegveil: this connection cannot carry a tunnel", http.StatusInternalServerError)
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		s.log.Warn("cannot take over a CONNECT", zap.String("client", r.RemoteAddr), zap.Error(err))
		return
	}
	var c net.Conn = conn
	if n := rw.Reader.Buffered(); n > 0 {
		// The client sent its first bytes (a TLS ClientHello) in the same
		// write as the CONNECT.
		early, _ := rw.Reader.Peek(n)
		c = &prefixConn{Conn: conn, r: io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)}
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	cfg, err := s.tlsConfigFor(r.URL.Host, nil)
	if err != nil {
		s.log.Warn("no certificate for an intercepted host", zap.String("host", r.URL.Host), zap.Error(err))
		conn.Close()
		return
	}
	tc := tls.Server(c, cfg)
	// The handshake is held to the time a client has for its headers.
	tc.SetDeadline(time.Now().Add(s.cfg.ClientTimeouts.ReadHeader.Duration))
	if err := tc.Handshake(); err != nil {
		s.log.Debug("TLS handshake with a client failed", zap.String("client", r.RemoteAddr), zap.String("host", r.URL.Host), zap.Error(err))
		tc.Close()
		return
	}
	tc.SetDeadline(time.Time{})
	s.tunnels.deliver(&tunnelConn{Conn: tc, host: r.URL.Host})
}

// serveTunnelled proxies a request read from an intercepted tunnel.
func (s *Server) serveTunnelled(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		http.Error(w, "jpegveil: CONNECT inside a tunnel", http.StatusMethodNotAllowed)
		return
	}
	if !r.URL.IsAbs() {
		r.URL.Host = r.Host
		if r.URL.Host == "" {
			r.URL.Host = tunnelHost(r)
		}
	}
	r.URL.Scheme = "https"
	s.gp.ServeHTTP(w, r)
}

// newTunnelServer returns the server of the requests in intercepted
// tunnels.
func (s *Server) newTunnelServer() *http.Server {
	return &http.Server{
		Handler:           http.HandlerFunc(s.serveTunnelled),
		ReadHeaderTimeout: s.cfg.ClientTimeouts.ReadHeader.Duration,
		IdleTimeout:       s.cfg.ClientTimeouts.Idle.Duration,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          zap.NewStdLog(s.log.Named("tunnel")),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if tc, ok := c.(*tunnelConn); ok {
				return context.WithValue(ctx, tunnelKey{}, tc)
			}
			return ctx
		},
	}
}

// tunnelConn is the decrypted connection of an intercepted tunnel.
type tunnelConn struct {
	*tls.Conn
	host string // host:port of the CONNECT
}

type tunnelKey struct{}

// tunnelHost returns the host:port of the CONNECT that opened the tunnel a
// request came through, or "" outside tunnels.
func tunnelHost(r *http.Request) string {
	if tc, ok := r.Context().Value(tunnelKey{}).(*tunnelConn); ok {
		return tc.host
	}
	return ""
}

// prefixConn is a connection whose first bytes were read already.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// tunnelListener hands the tunnelled server the connections intercept
// decrypted.
type tunnelListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	addr   net.Addr
}

func newTunnelListener() *tunnelListener {
	return &tunnelListener{conns: make(chan net.Conn), closed: make(chan struct{}), addr: &net.TCPAddr{}}
}

// deliver passes c to the server, or closes it once the proxy stops.
func (l *tunnelListener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *tunnelListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *tunnelListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *tunnelListener) Addr() net.Addr { return l.addr }
