package proxy

import (
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// servePAC answers /proxy.pac and /wpad.dat with a proxy auto-config
// script that sends only the rule hosts (and the onboarding and probe
// hosts) through the proxy; everything else goes direct. There is no
// DIRECT fallback after the proxy: when the proxy is down, uploads to the
// rule hosts fail instead of reaching the service unencrypted.
func (s *Server) servePAC(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(s.pac(s.pacProxyAddr(r))))
}

// pacProxyAddr is the proxy address the script names: the address the
// device fetched the script from when that is the proxy's own, else the
// first address the proxy can be reached on.
func (s *Server) pacProxyAddr(r *http.Request) string {
	addr := s.listenAddr.Load()
	addrs, _ := ReachableAddrs(addr, s.interfaceAddrs)
	if slices.Contains(addrs, r.Host) {
		return r.Host
	}
	if len(addrs) > 0 {
		return addrs[0]
	}
	if addr != nil {
		return net.JoinHostPort(addr.IP.String(), strconv.Itoa(addr.Port))
	}
	return s.cfg.Listen
}

// pac returns the script for a proxy at addr (host:port).
func (s *Server) pac(addr string) string {
	exact := []string{"jpegveil", "jpegveil.proxy"}
	suffixes := []string{}
	for _, h := range s.ruleHosts() {
		if suffix, ok := strings.CutPrefix(h, "*."); ok {
			suffixes = append(suffixes, "."+suffix)
		} else {
			exact = append(exact, h)
		}
	}
	for _, gv := range s.generationViews() {
		if gv.ProbeURL != "" {
			exact = append(exact, strings.TrimSuffix(strings.TrimPrefix(gv.ProbeURL, "https://"), "/probe.png"))
		}
	}
	js := func(v []string) string {
		b, _ := json.Marshal(v) // strings only: cannot fail
		return string(b)
	}
	var b strings.Builder
	b.WriteString("// jpegveil: only the hosts in the proxy's rules go through it.\n")
	b.WriteString("function FindProxyForURL(url, host) {\n")
	b.WriteString("  host = host.toLowerCase();\n")
	quoted, _ := json.Marshal("PROXY " + addr)
	b.WriteString("  var proxy = " + string(quoted) + ";\n")
	b.WriteString("  var exact = " + js(exact) + ";\n")
	b.WriteString("  var suffixes = " + js(suffixes) + ";\n")
	b.WriteString("  for (var i = 0; i < exact.length; i++) {\n    if (host == exact[i]) return proxy;\n  }\n")
	b.WriteString("  for (var j = 0; j < suffixes.length; j++) {\n    if (dnsDomainIs(host, suffixes[j])) return proxy;\n  }\n")
	b.WriteString("  return \"DIRECT\";\n}\n")
	return b.String()
}
