package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/elazarl/goproxy"
	"go.uber.org/zap"

	"jpegveil/certs"
	"jpegveil/config"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/proxy/internal/aliases"
	"jpegveil/proxy/internal/authlimit"
	"jpegveil/proxy/internal/budget"
	"jpegveil/proxy/internal/direction"
	"jpegveil/proxy/internal/hashes"
	"jpegveil/proxy/internal/idle"
	"jpegveil/proxy/internal/session"
	"jpegveil/proxy/services"
	"jpegveil/veil"
)

// Server is the intercepting proxy. Only CONNECTs to hosts named in the
// rules are intercepted; every other CONNECT is tunnelled untouched.
type Server struct {
	cfg    *config.Config
	log    *zap.Logger
	ring   *keystream.Keyring
	issuer *certs.Issuer
	// generations are the CA generations the issuer signs with, oldest
	// first; the onboarding page lists them.
	generations []*certs.Generation
	listenAddr  atomic.Pointer[net.TCPAddr] // set by Serve, for the onboarding page
	upstream    *http.Transport
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	gp          *goproxy.ProxyHttpServer
	onboard     http.Handler
	crypt       *crypt
	env         *services.Env
	services    map[string]MultiRequestUploader // by the name rules give them
	byName      map[string]Service
	previews    *previews
	sums        *aliases.Checksums
	names       *aliases.Names
	auth        *authlimit.Limiter
	// tunnels carries the intercepted connections to the server of the
	// requests inside them.
	tunnels *tunnelListener
	// identifiers name where a service keeps an upload; known maps those
	// names to the fingerprints sent there (record.go).
	identifiers []UploadIdentifier
	known       knownPhotos
	health      health

	backupMissing  func() []string
	interfaceAddrs func() ([]net.Addr, error) // the machine's addresses, for the onboarding page and PAC file
	reencoders     *reencoders
}

// Deps are the long-lived resources a Server uses, which the command opens
// from the state directory.
type Deps struct {
	// Keyring holds the keys: the current one encrypts, every one
	// decrypts. Without it, Key is a keyring of one key; with it, Key is
	// nil or its current key.
	Keyring *keystream.Keyring
	Key     *keystream.Key
	// Authorities are the CA generations that issue the leaves. When nil,
	// CA alone issues them.
	Authorities *certs.Authorities
	CA          *certs.CA
	Ledger      ledger.Ledger
	// Now is the clock that ages upload sessions; nil: time.Now.
	Now func() time.Time
	// BackupMissing returns the IDs of the keys of which no backup was
	// made yet, for the onboarding page; nil: the page does not say.
	BackupMissing func() []string
	// InterfaceAddrs lists the machine's network addresses, which the
	// onboarding page and the PAC file name for a wildcard listener; nil:
	// net.InterfaceAddrs.
	InterfaceAddrs func() ([]net.Addr, error)
}

// New builds a Server from a validated config.
func New(cfg *config.Config, log *zap.Logger, deps Deps) (*Server, error) {
	if deps.Key == nil && deps.Keyring == nil || deps.CA == nil && deps.Authorities == nil || deps.Ledger == nil {
		panic("proxy: New needs a key, a CA and a ledger")
	}
	ring := deps.Keyring
	if ring == nil {
		var err error
		if ring, err = keystream.NewKeyring(deps.Key); err != nil {
			return nil, err
		}
	} else if deps.Key != nil && deps.Key.ID() != ring.Current().ID() {
		panic("proxy: Deps.Key is not the keyring's current key")
	}
	pool, err := cfg.Upstream.CertPool()
	if err != nil {
		return nil, fmt.Errorf("upstream.ca_files: %w", err)
	}
	s := &Server{cfg: cfg, log: log, ring: ring, backupMissing: deps.BackupMissing, interfaceAddrs: deps.InterfaceAddrs,
		auth: authlimit.New(deps.Now), tunnels: newTunnelListener()}
	if a := deps.Authorities; a != nil && a.Newest() != nil {
		s.issuer = a.NewIssuer(certs.IssuerOptions{})
		s.generations = a.Generations()
	} else {
		s.issuer = deps.CA.NewIssuer(certs.IssuerOptions{})
		s.generations = []*certs.Generation{{Number: 1, CA: deps.CA}}
	}
	s.initUpstream(pool)
	s.reencoders = newReencoders(cfg.StateDir, log)
	s.onboard = s.onboardingHandler()
	s.crypt = &crypt{meta: cfg.Metadata, log: log}
	s.crypt.dir = &direction.Decider{Ring: ring, Ledger: deps.Ledger, Keep: s.crypt.uploadOptions(), Scratch: new(veil.Scratch)}
	svcs := builtinServices()
	s.registerServices(svcs)
	if err := s.known.load(context.Background(), deps.Ledger); err != nil {
		return nil, fmt.Errorf("reading the photos' service identities from the ledger: %w", err)
	}
	evicted := func() {
		log.Warn("limits.max_sessions reached: the least recently used resumable upload was dropped")
	}
	s.env = &services.Env{
		Config:    cfg,
		Upstream:  s.upstream,
		Sessions:  session.NewTable(cfg.Limits.MaxSessions, cfg.Limits.SessionTTL.Duration, deps.Now, evicted),
		Memory:    budget.New(int64(cfg.Limits.BufferMemory), cfg.Limits.BufferWait.Duration),
		Hashes:    hashParser(svcs),
		NewStream: s.newStream,
	}
	if err := s.initPreviews(ring, deps.Ledger, svcs); err != nil {
		return nil, err
	}

	s.gp = s.newGoproxy()
	return s, nil
}

// initUpstream sets up the dialer (with upstream.resolve) and the
// transport to the services, which trusts pool.
func (s *Server) initUpstream(pool *x509.CertPool) {
	cfg := s.cfg
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
}

// registerServices notes which of svcs upload across requests and which
// name their uploads.
func (s *Server) registerServices(svcs []Service) {
	s.services = make(map[string]MultiRequestUploader)
	for _, svc := range svcs {
		if m, ok := svc.(MultiRequestUploader); ok {
			s.services[svc.Name()] = m
		}
		if id, ok := svc.(UploadIdentifier); ok {
			s.identifiers = append(s.identifiers, id)
		}
	}
}

// newStream starts the encryption of an upload on rule that spans several
// requests, its memory counted in the budget.
func (s *Server) newStream(rule *config.Rule, algs ...hashes.Alg) *session.Stream {
	st := s.crypt.newStream(rule, algs...)
	st.Account(s.env.Memory.NewHold())
	return st
}

// newGoproxy wires goproxy: every request goes through roundTrip. A
// CONNECT to a host the rules name never reaches it (ServeHTTP intercepts
// it); every other CONNECT is tunnelled.
func (s *Server) newGoproxy() *goproxy.ProxyHttpServer {
	gp := goproxy.NewProxyHttpServer()
	gp.Logger = zapPrintf{s.log.Named("goproxy")}
	gp.Tr = s.upstream
	gp.KeepAcceptEncoding = true
	gp.ConnectDialWithReq = s.dialTunnel
	gp.NonproxyHandler = s.onboard
	// Every request gets an answer: a failure is a status with a reason
	// (failure.go), never an error that goproxy would turn into a closed
	// connection.
	rt := goproxy.RoundTripperFunc(func(req *http.Request, _ *goproxy.ProxyCtx) (*http.Response, error) {
		var t *tunnel
		if host := tunnelHost(req); host != "" {
			t = &tunnel{host: host}
		}
		return s.serve(req, t), nil
	})
	gp.OnRequest().DoFunc(func(r *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
		if s.isProbeHost(r.URL.Hostname()) {
			return r, probeResponse(r)
		}
		ctx.RoundTripper = rt
		return r, nil
	})
	// A request that failed before it reached roundTrip gets 502 Bad
	// Gateway (RFC 9110 §15.6.3) with the reason, not goproxy's 500.
	gp.OnResponse().DoFunc(func(resp *http.Response, ctx *goproxy.ProxyCtx) *http.Response {
		if resp == nil && ctx.Error != nil {
			return failed(ctx.Req, ctx.Error)
		}
		return resp
	})
	return gp
}

// Serve accepts proxy clients on l until ctx is done, then shuts down.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ConnContext:       idle.ConnContext,
		ReadHeaderTimeout: s.cfg.ClientTimeouts.ReadHeader.Duration,
		IdleTimeout:       s.cfg.ClientTimeouts.Idle.Duration,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
	}
	if a, ok := l.Addr().(*net.TCPAddr); ok {
		s.listenAddr.Store(a)
	}
	inner := s.newTunnelServer()
	go inner.Serve(s.tunnels)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(idle.Listener{Listener: l, Timeout: s.cfg.ClientTimeouts.Idle.Duration}) }()
	select {
	case err := <-errc:
		inner.Close()
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	innerDone := make(chan error, 1)
	go func() { innerDone <- inner.Shutdown(shutdown) }()
	err := hs.Shutdown(shutdown)
	if errors.Is(<-innerDone, context.DeadlineExceeded) {
		inner.Close()
	}
	s.previews.drain()
	s.CloseIdleConnections()
	if errors.Is(err, context.DeadlineExceeded) {
		err = hs.Close()
	}
	return err
}

// zapPrintf adapts goproxy's Printf logger to zap (debug level: goproxy only
// logs when Verbose is set).
type zapPrintf struct{ l *zap.Logger }

func (z zapPrintf) Printf(format string, v ...any) { z.l.Debug(fmt.Sprintf(format, v...)) }

// Uploads returns the number of uploads in progress that span several
// requests (resumable and chunked uploads with a session).
func (s *Server) Uploads() int { return s.env.Sessions.Len() }

// BufferedBytes returns the memory buffered uploads hold now, of
// limits.buffer_memory.
func (s *Server) BufferedBytes() int64 { return s.env.Memory.Used() }

// WaitPreviews returns once the previews being rendered from uploads are
// in the cache.
func (s *Server) WaitPreviews() { s.previews.drain() }

// CloseIdleConnections closes the proxy's idle connections to the
// services, as http.Client's method of that name does.
func (s *Server) CloseIdleConnections() { s.upstream.CloseIdleConnections() }

// initPreviews sets up the services by name, the preview cache, the
// checksum map and the names (after s.env).
// The map and the names are recorded under the current key and looked up
// under every key of the ring, so a rotation keeps them.
func (s *Server) initPreviews(ring *keystream.Keyring, led ledger.Ledger, svcs []Service) error {
	s.byName = make(map[string]Service)
	for _, svc := range svcs {
		s.byName[svc.Name()] = svc
	}
	var err error
	if s.previews, err = newPreviews(s.cfg, ring.Current()); err != nil {
		return fmt.Errorf("previews: %w", err)
	}
	var sumKeys [][]byte
	for _, k := range ring.Keys() {
		sumKeys = append(sumKeys, k.ChecksumKey())
	}
	s.sums = &aliases.Checksums{Keys: sumKeys}
	s.names = &aliases.Names{Keys: sumKeys, Brief: s.previews.cache}
	if as, ok := led.(ledger.AliasStore); ok {
		s.sums.Store = as
		s.names.Store = as
	}
	s.env.Checksums, s.env.Names = s.sums, s.names
	return nil
}
