package proxy

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/elazarl/goproxy"
	"go.uber.org/zap"

	"jpegveil/certs"
	"jpegveil/config"
)

// probePrefix starts the host names of the CA probes: a device that has the
// proxy set and trusts a CA generation can fetch
// https://jpegveil-probe.<domain>/probe.png, which the proxy answers itself
// without contacting anyone. The onboarding page uses it to tell whether
// the device trusts each generation.
const probePrefix = "jpegveil-probe."

// tlsConfigFor returns the TLS configuration presented to a client that
// CONNECTed to host. The leaf is issued during the handshake: when no CA
// generation may issue for host, the handshake ends with a TLS alert and
// a log line saying what to do. goproxy would otherwise answer an error of
// this function with a plain-text 502 written into the TLS stream, which
// clients report as a protocol error and which explains nothing.
func (s *Server) tlsConfigFor(host string, _ *goproxy.ProxyCtx) (*tls.Config, error) {
	hostname := config.CanonicalHost(host)
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"}, // HTTP/1.1 towards the client
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			cert, err := s.issuer.Certificate(hostname)
			if err != nil {
				s.log.Error("TLS handshake refused: no CA generation may issue a certificate for this host",
					zap.String("host", hostname), zap.Error(err), zap.String("fix", issueFix(hostname, err)))
			}
			return cert, err
		},
	}, nil
}

// issueFix says what the user can do about a host no generation issues for.
func issueFix(host string, err error) string {
	var expired *certs.CAExpiredError
	if errors.As(err, &expired) {
		return "the CA generation for this host has expired: run `jpegveil ca rotate`, install the new generation on your devices, then restart serve"
	}
	if strings.HasPrefix(host, "[") || strings.ContainsAny(host, ":") || isIPv4(host) {
		return "a name-constrained CA never issues for IP addresses: name the service by a host name, or set ca.name_constraints: false and restart serve"
	}
	return "restart serve (it adds a CA generation for every rule domain) or run `jpegveil ca add " + host + "`, then install the new generation on your devices from the onboarding page"
}

func isIPv4(host string) bool {
	return strings.Trim(host, "0123456789.") == "" && strings.Count(host, ".") == 3
}

// generationFor returns the live generation that issues for host: the
// oldest one that permits it (certs.Authorities), or nil.
func (s *Server) generationFor(host string, now time.Time) *certs.Generation {
	for _, g := range s.generations {
		if now.Before(g.CA.Certificate().NotAfter) && g.CA.Permits(host) {
			return g
		}
	}
	return nil
}

// isProbeHost reports whether host is a CA probe the proxy answers itself.
func (s *Server) isProbeHost(host string) bool {
	h := config.CanonicalHost(host)
	return strings.HasPrefix(h, probePrefix) && s.generationFor(h, time.Now()) != nil
}

// probeHost returns the probe host whose leaf generation g issues, or ""
// when every host g permits is issued by an older generation (a rotated
// generation, until the older one is retired).
func (s *Server) probeHost(g *certs.Generation) string {
	domains := g.Domains()
	if g.Unconstrained() {
		domains = []string{"invalid"} // RFC 2606: never a real host
	}
	now := time.Now()
	for _, d := range domains {
		if h := probePrefix + d; s.generationFor(h, now) == g {
			return h
		}
	}
	return ""
}

// probePNG is a 1x1 transparent PNG.
var probePNG = []byte("\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0b\x49\x44\x41\x54\x78\x9c\x63\x60\x00\x02\x00\x00\x05\x00\x01\x7a\x5e\xab\x3f\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82")

// probeResponse answers a request to a probe host: reaching it over TLS
// proves that the device trusts the generation that issued its leaf.
func probeResponse(req *http.Request) *http.Response {
	resp := goproxy.NewResponse(req, "image/png", http.StatusOK, string(probePNG))
	resp.Header.Set("Cache-Control", "no-store")
	resp.Header.Set("Access-Control-Allow-Origin", "*")
	return resp
}
