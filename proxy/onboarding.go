package proxy

import (
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"jpegveil/certs"
	"jpegveil/proxy/internal/setup"
)

// onboardingHosts are names that reach the onboarding page through the
// proxy, like mitmproxy's mitm.it: with the proxy set, open http://jpegveil/.
// The page is also served to requests sent to the proxy's own address, so
// a phone can open it before it has any proxy setting or certificate.
func isOnboardingHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "jpegveil" || h == "jpegveil.proxy"
}

// ReachableAddrs returns the host:port pairs a device on the network can
// enter to reach a proxy listening on addr (see setup.ReachableAddrs).
func ReachableAddrs(addr *net.TCPAddr, interfaceAddrs func() ([]net.Addr, error)) (addrs []string, loopbackOnly bool) {
	return setup.ReachableAddrs(addr, interfaceAddrs)
}

func (s *Server) onboardingHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /proxy.pac", s.servePAC)
	mux.HandleFunc("GET /wpad.dat", s.servePAC)
	mux.HandleFunc("GET /qr.png", func(w http.ResponseWriter, r *http.Request) {
		png, err := setup.QR(s.view(r).PageURL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		setup.WriteFile(w, "image/png", png, "")
	})
	mux.HandleFunc("GET /{file}", s.serveCertificate)
	return mux
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	page, err := setup.Page(s.view(r))
	if err != nil {
		http.Error(w, "onboarding page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	setup.WriteFile(w, "text/html; charset=utf-8", page, "")
}

// view gathers what the page shows to the device that sent r.
func (s *Server) view(r *http.Request) *setup.View {
	return setup.NewView(r, setup.Input{
		Listen:         s.cfg.Listen,
		Addr:           s.listenAddr.Load(),
		InterfaceAddrs: s.interfaceAddrs,
		ConfigFile:     s.cfg.Source,
		Auth:           s.cfg.Clients.Auth != nil,
		KeyID:          s.keyIDs(),
		Status:         s.setupStatus(),
		Generations:    s.generationViews(),
	})
}

// servePAC answers /proxy.pac and /wpad.dat with a proxy auto-config
// script that sends only the rule hosts (and the onboarding and probe
// hosts) through the proxy.
func (s *Server) servePAC(w http.ResponseWriter, r *http.Request) {
	var probes []string
	for _, gv := range s.generationViews() {
		if gv.ProbeURL != "" {
			probes = append(probes, strings.TrimSuffix(strings.TrimPrefix(gv.ProbeURL, "https://"), "/probe.png"))
		}
	}
	addr := setup.PACProxyAddr(r.Host, s.listenAddr.Load(), s.interfaceAddrs, s.cfg.Listen)
	w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(setup.PAC(addr, s.ruleHosts(), probes)))
}

func (s *Server) generationViews() []setup.Generation {
	now := time.Now()
	issuing := map[*certs.Generation][]string{}
	for _, h := range s.ruleHosts() {
		if g := s.generationFor(strings.TrimPrefix(h, "*."), now); g != nil && !slices.Contains(issuing[g], h) {
			issuing[g] = append(issuing[g], h)
		}
	}
	var out []setup.Generation
	for _, g := range s.generations {
		cert := g.CA.Certificate()
		if !now.Before(cert.NotAfter) {
			continue
		}
		domains := "any site (no name constraints)"
		if !g.Unconstrained() {
			domains = strings.Join(g.Domains(), ", ")
		}
		gv := setup.Generation{
			Number:      g.Number,
			Fingerprint: g.CA.Fingerprint(),
			NotAfter:    cert.NotAfter.UTC().Format("2 January 2006"),
			Domains:     domains,
			Needed:      len(issuing[g]) > 0,
			Hosts:       strings.Join(issuing[g], ", "),
		}
		if h := s.probeHost(g); h != "" {
			gv.ProbeURL = "https://" + h + "/probe.png"
		}
		out = append(out, gv)
	}
	return out
}

// ruleHosts are the host patterns of every rule, in order, once each.
func (s *Server) ruleHosts() []string {
	var hosts []string
	for _, r := range s.cfg.Rules {
		for _, h := range r.Hosts {
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	return hosts
}

// serveCertificate serves the CA generations' certificates (see
// setup.ServeCertificate).
func (s *Server) serveCertificate(w http.ResponseWriter, r *http.Request) {
	var needed []int
	for _, gv := range s.generationViews() {
		if gv.Needed {
			needed = append(needed, gv.Number)
		}
	}
	setup.ServeCertificate(w, r, s.generations, needed)
}
