package proxy

import (
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/elazarl/goproxy"

	"go.uber.org/zap"

	"jpegveil/config"
	"jpegveil/proxy/services"
)

// tunnel is an intercepted CONNECT tunnel, as the requests inside it see
// it (goproxy hands it on in ProxyCtx.UserData).
type tunnel struct {
	host string // host:port as the client CONNECTed to it
}

// admits reports whether req, read inside the tunnel, is for the tunnel's
// own origin. goproxy builds req.URL from the request's Host header or its
// absolute-form target, both chosen by the client after the CONNECT was
// checked: a request for another host (a loopback service, a host no rule
// names) would be routed there unchecked.
func (t *tunnel) admits(req *http.Request) bool {
	return sameOrigin(t.host, req.URL.Host, req.URL.Scheme) && (req.Host == "" || sameOrigin(t.host, req.Host, req.URL.Scheme))
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

// tunnelFailed answers a CONNECT whose destination could not be reached
// with a status and the reason, and logs it: goproxy would log at debug
// only.
func (s *Server) tunnelFailed(w io.Writer, ctx *goproxy.ProxyCtx, err error) {
	host := ctx.Req.URL.Host
	code, reason := failure(host, err)
	s.log.Warn("tunnel failed", zap.String("host", host), zap.String("client", ctx.Req.RemoteAddr),
		zap.String("outcome", string(services.UpstreamError)), zap.String("reason", reason))
	body := "jpegveil: " + reason + "\n"
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(body), body)
}
