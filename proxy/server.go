package proxy

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/elazarl/goproxy"
	"go.uber.org/zap"

	"jpegveil/certs"
	"jpegveil/config"
	"jpegveil/keystream"
	"jpegveil/ledger"
)

// Server is the intercepting proxy. Only CONNECTs to hosts named in the
// rules are intercepted; every other CONNECT is tunnelled untouched.
type Server struct {
	cfg      *config.Config
	log      *zap.Logger
	key      *keystream.Key
	ca       *certs.CA
	issuer   *certs.Issuer
	ledger   ledger.Ledger
	upstream *http.Transport
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	gp       *goproxy.ProxyHttpServer
	onboard  http.Handler
	sessions *sessionTable // resumable uploads in progress
}

// Deps are the long-lived resources a Server uses; OpenState creates them
// from the state directory.
type Deps struct {
	Key    *keystream.Key
	CA     *certs.CA
	Ledger ledger.Ledger
}

// New builds a Server from a validated config.
func New(cfg *config.Config, log *zap.Logger, deps Deps) (*Server, error) {
	if deps.Key == nil || deps.CA == nil || deps.Ledger == nil {
		panic("proxy: New needs a key, a CA and a ledger")
	}
	pool, err := cfg.Upstream.CertPool()
	if err != nil {
		return nil, fmt.Errorf("upstream.ca_files: %w", err)
	}
	s := &Server{cfg: cfg, log: log, key: deps.Key, ca: deps.CA, ledger: deps.Ledger}
	s.issuer = deps.CA.NewIssuer(certs.IssuerOptions{})
	dialer := &net.Dialer{Timeout: cfg.Upstream.DialTimeout.Duration, KeepAlive: 30 * time.Second}
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := cfg.Upstream.ResolveAddr(addr); ok {
			addr = to
		}
		return dialer.DialContext(ctx, network, addr)
	}
	s.upstream = &http.Transport{
		DialContext: s.dial,
		// Upstream certificates are always verified: the system roots plus
		// upstream.ca_files.
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		DisableCompression:    true, // bodies pass as the service sent them
		IdleConnTimeout:       cfg.Upstream.IdleTimeout.Duration,
		ResponseHeaderTimeout: cfg.Upstream.ResponseHeaderTimeout.Duration,
		TLSHandshakeTimeout:   cfg.Upstream.DialTimeout.Duration,
		ExpectContinueTimeout: time.Second,
		MaxIdleConnsPerHost:   16,
	}
	s.onboard = s.onboardingHandler()
	s.sessions = newSessionTable(cfg.Limits.MaxSessions, cfg.Limits.SessionTTL.Duration)

	gp := goproxy.NewProxyHttpServer()
	gp.Logger = zapPrintf{log.Named("goproxy")}
	gp.Tr = s.upstream
	gp.KeepAcceptEncoding = true
	gp.ConnectDial = func(network, addr string) (net.Conn, error) {
		return s.dial(context.Background(), network, addr)
	}
	gp.NonproxyHandler = s.onboard
	rt := goproxy.RoundTripperFunc(func(req *http.Request, _ *goproxy.ProxyCtx) (*http.Response, error) {
		return s.roundTrip(req)
	})
	gp.OnRequest().DoFunc(func(r *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
		ctx.RoundTripper = rt
		return r, nil
	})
	gp.OnRequest().HandleConnectFunc(func(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		hostname := host
		if h, _, err := net.SplitHostPort(host); err == nil {
			hostname = h
		}
		if !cfg.Intercepts(hostname) {
			return goproxy.OkConnect, host
		}
		ctx.RoundTripper = rt
		return &goproxy.ConnectAction{Action: goproxy.ConnectMitm, TLSConfig: s.tlsConfigFor}, host
	})
	s.gp = gp
	return s, nil
}

// tlsConfigFor returns the TLS configuration presented to a client that
// CONNECTed to host: a short-lived leaf for host from jpegveil's CA.
func (s *Server) tlsConfigFor(host string, _ *goproxy.ProxyCtx) (*tls.Config, error) {
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	cert, err := s.issuer.Certificate(hostname)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{*cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"}, // HTTP/1.1 towards the client
	}, nil
}

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
	if proxied && !s.authorized(r) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="jpegveil"`)
		http.Error(w, "jpegveil: proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	if proxied && !addr.Addr().Unmap().IsLoopback() && s.targetsLoopback(r) {
		s.log.Warn("refused a network client's request to a loopback address", zap.String("client", r.RemoteAddr), zap.String("target", r.URL.Host))
		http.Error(w, "jpegveil: clients on the network may not reach the proxy host's own loopback services", http.StatusForbidden)
		return
	}
	if r.Method == http.MethodConnect {
		w = withIdleTimeout(w, r)
	}
	s.gp.ServeHTTP(w, r)
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

func (s *Server) authorized(r *http.Request) bool {
	auth := s.cfg.Clients.Auth
	if auth == nil {
		return true
	}
	h := r.Header.Get("Proxy-Authorization")
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return false
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(auth.User)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(pass), []byte(auth.Password.Reveal())) == 1
	return ok && userOK && passOK
}

// Serve accepts proxy clients on l until ctx is done, then shuts down.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ConnContext:       connContext,
		ReadHeaderTimeout: s.cfg.ClientTimeouts.ReadHeader.Duration,
		IdleTimeout:       s.cfg.ClientTimeouts.Idle.Duration,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(idleListener{Listener: l, idle: s.cfg.ClientTimeouts.Idle.Duration}) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(shutdown)
	s.upstream.CloseIdleConnections()
	if errors.Is(err, context.DeadlineExceeded) {
		err = hs.Close()
	}
	return err
}

// zapPrintf adapts goproxy's Printf logger to zap (debug level: goproxy only
// logs when Verbose is set).
type zapPrintf struct{ l *zap.Logger }

func (z zapPrintf) Printf(format string, v ...any) { z.l.Debug(fmt.Sprintf(format, v...)) }
