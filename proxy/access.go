package proxy

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"jpegveil/proxy/internal/idle"
)

// ServeHTTP checks that the client may use the proxy, then proxies.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	addr, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !s.cfg.ClientAddrAllowed(addr.Addr().Unmap()) {
		s.log.Warn("client not allowed", zap.String("client", r.RemoteAddr))
		http.Error(w, "jpegveil: this client is not allowed to use the proxy", http.StatusForbidden)
		return
	}
	proxied := r.Method == http.MethodConnect || r.URL.IsAbs()
	if proxied && isOnboardingHost(r.URL.Hostname()) && r.Method != http.MethodConnect {
		s.onboard.ServeHTTP(w, r)
		return
	}
	if proxied && !s.authenticate(w, r, addr.Addr()) {
		return
	}
	if r.Method == http.MethodConnect && !s.cfg.ConnectAllowed(connectPort(r)) {
		s.log.Warn("refused a tunnel to a port not in clients.connect_ports", zap.String("client", r.RemoteAddr), zap.String("target", r.URL.Host))
		http.Error(w, "jpegveil: tunnels may go to the ports in clients.connect_ports and upstream.resolve only, not to port "+connectPort(r), http.StatusForbidden)
		return
	}
	if proxied && !addr.Addr().Unmap().IsLoopback() && s.targetsLoopback(r) {
		s.log.Warn("refused a network client's request to a loopback address", zap.String("client", r.RemoteAddr), zap.String("target", r.URL.Host))
		http.Error(w, "jpegveil: clients on the network may not reach the proxy host's own loopback services", http.StatusForbidden)
		return
	}
	if r.Method == http.MethodConnect {
		w = idle.ArmOnHijack(w, r)
		if s.intercepts(r.URL.Hostname()) {
			s.intercept(w, r)
			return
		}
	}
	s.gp.ServeHTTP(w, r)
}

// connectPort is the port a CONNECT would dial: goproxy dials 80 when the
// target names none.
func connectPort(r *http.Request) string {
	if p := r.URL.Port(); p != "" {
		return p
	}
	return "80"
}

// targetsLoopback reports whether a proxied request would reach a loopback
// address of the proxy host, which a client on the network must not get at
// through the proxy (local admin pages, databases). A destination that
// upstream.resolve maps explicitly is the user's choice and allowed.
func (s *Server) targetsLoopback(r *http.Request) bool {
	host, port := r.URL.Hostname(), r.URL.Port()
	if port == "" {
		port = map[bool]string{true: "443", false: "80"}[r.Method == http.MethodConnect || r.URL.Scheme == "https"]
	}
	if _, ok := s.cfg.Upstream.ResolveAddr(net.JoinHostPort(host, port)); ok {
		return false
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().IsLoopback() || ip.IsUnspecified()
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	ips, _ := net.DefaultResolver.LookupNetIP(ctx, "ip", h)
	for _, ip := range ips {
		if ip.Unmap().IsLoopback() || ip.IsUnspecified() {
			return true
		}
	}
	return false
}

// authenticate checks the proxy credentials of a request from client, when
// clients.auth asks for them, and answers the request if they do not do:
// 407 for missing or wrong credentials, 429 while the client's address
// has to wait after repeated failures. Failures are logged, never with
// what was sent.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, client netip.Addr) bool {
	if s.cfg.Clients.Auth == nil {
		return true
	}
	if d := s.auth.Wait(client); d > 0 {
		secs := strconv.Itoa(int((d + time.Second - 1) / time.Second))
		w.Header().Set("Retry-After", secs)
		http.Error(w, "jpegveil: too many failed proxy authentications from this address; try again in "+secs+" s", http.StatusTooManyRequests)
		return false
	}
	given, ok := s.credentials(r)
	switch {
	case ok:
		s.auth.Succeeded(client)
		return true
	case given:
		n, d := s.auth.Failed(client)
		s.log.Warn("proxy authentication failed: wrong user or password", zap.String("client", r.RemoteAddr), zap.Int("failures", n))
		if d > 0 {
			s.log.Warn("repeated proxy authentication failures: this address is slowed down", zap.String("client", r.RemoteAddr), zap.Int("failures", n), zap.Duration("wait", d))
		}
	}
	w.Header().Set("Proxy-Authenticate", `Basic realm="jpegveil"`)
	http.Error(w, "jpegveil: proxy authentication required", http.StatusProxyAuthRequired)
	return false
}

// credentials reports whether r carries Basic proxy credentials at all,
// and whether they are clients.auth's.
func (s *Server) credentials(r *http.Request) (given, ok bool) {
	auth := s.cfg.Clients.Auth
	h := r.Header.Get("Proxy-Authorization")
	if h == "" {
		return false, false
	}
	scheme, cred, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return true, false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return true, false
	}
	user, pass, found := strings.Cut(string(raw), ":")
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(auth.User)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(pass), []byte(auth.Password.Reveal())) == 1
	return true, found && userOK && passOK
}
