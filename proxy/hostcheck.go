package proxy

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"jpegveil/config"
	"jpegveil/proxy/services"
)

// tunnel is an intercepted CONNECT tunnel, as the requests inside it see
// it (tunnelHost).
type tunnel struct {
	host string // host:port as the client CONNECTed to it
}

// admits reports whether req, read inside the tunnel, is for the tunnel's
// own origin. req.URL comes from the request's Host header or its
// absolute-form target, both chosen by the client after the CONNECT was
// checked: a request for another host (a loopback service, a host no rule
// names) would be routed there unchecked.
func (t *tunnel) admits(req *http.Request) bool {
	return sameOrigin(t.host, req.URL.Host, req.URL.Scheme) && (req.Host == "" || sameOrigin(t.host, req.Host, req.URL.Scheme))
}

// urlHost is the tunnel's host as a request URL carries it: without the
// scheme's default port, as clients write it.
func (t *tunnel) urlHost(scheme string) string {
	host, port, err := net.SplitHostPort(t.host)
	def := "443"
	if scheme == "http" {
		def = "80"
	}
	switch {
	case err != nil || port != def:
		return t.host
	case strings.Contains(host, ":"):
		return "[" + host + "]"
	}
	return host
}

// sameOrigin compares the tunnel's host:port with a request's host, which
// may leave out the scheme's default port and differ in case or a trailing
// dot.
func sameOrigin(tunnelHost, host, scheme string) bool {
	_, tport, err := net.SplitHostPort(tunnelHost)
	if err != nil {
		tport = "443"
	}
	port := "443"
	if scheme == "http" {
		port = "80"
	}
	if _, p, err := net.SplitHostPort(host); err == nil {
		port = p
	}
	return config.CanonicalHost(tunnelHost) == config.CanonicalHost(host) && tport == port
}

// misdirected refuses a request inside a tunnel that is for another host
// than the tunnel's (RFC 9110 §15.5.20: 421 Misdirected Request).
func (s *Server) misdirected(req *http.Request, t *tunnel) *http.Response {
	s.log.Warn("refused a request for another host inside a tunnel",
		zap.String("tunnel", t.host), zap.String("host", req.Host), zap.String("target", req.URL.Host),
		zap.String("client", req.RemoteAddr))
	services.Drain(req.Body)
	h := make(http.Header)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	resp := services.Respond(req, http.StatusMisdirectedRequest, h,
		"jpegveil: this connection is for "+t.host+"; a request for "+req.URL.Host+" must open its own\n")
	resp.Close = true
	return resp
}

// dialTunnel connects a CONNECT tunnel that is not intercepted to its
// destination. A failure is logged, and its reason is the error goproxy
// answers the client with (502 and the error's text): goproxy would log it
// at debug only.
func (s *Server) dialTunnel(req *http.Request, network, addr string) (net.Conn, error) {
	c, err := s.dial(req.Context(), network, addr)
	if err == nil {
		s.log.Debug("tunnelled", zap.String("host", addr), zap.String("client", req.RemoteAddr))
	}
	if err != nil {
		_, reason := failure(addr, err)
		s.log.Warn("tunnel failed", zap.String("host", addr), zap.String("client", req.RemoteAddr),
			zap.String("outcome", string(services.UpstreamError)), zap.String("reason", reason))
		return nil, errors.New("jpegveil: " + reason)
	}
	return c, nil
}
