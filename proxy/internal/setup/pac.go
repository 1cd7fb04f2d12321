package setup

import (
	"encoding/json"
	"net"
	"slices"
	"strconv"
	"strings"
)

// PACProxyAddr is the proxy address the script names: the address the
// device fetched the script from (host) when that is the proxy's own, else
// the first address the proxy listening on addr can be reached on, else
// listen as configured.
func PACProxyAddr(host string, addr *net.TCPAddr, interfaceAddrs func() ([]net.Addr, error), listen string) string {
	addrs, _ := ReachableAddrs(addr, interfaceAddrs)
	if slices.Contains(addrs, host) {
		return host
	}
	if len(addrs) > 0 {
		return addrs[0]
	}
	if addr != nil {
		return net.JoinHostPort(addr.IP.String(), strconv.Itoa(addr.Port))
	}
	return listen
}

// PAC returns the proxy auto-config script for a proxy at addr (host:port)
// that sends only the rule hosts (patterns, "*.example.com" for a domain's
// subdomains), the onboarding names and the given probe hosts through the
// proxy; everything else goes direct. There is no DIRECT fallback after
// the proxy: when the proxy is down, uploads to the rule hosts fail
// instead of reaching the service unencrypted.
func PAC(addr string, ruleHosts, probeHosts []string) string {
	exact := []string{"jpegveil", "jpegveil.proxy"}
	suffixes := []string{}
	for _, h := range ruleHosts {
		if suffix, ok := strings.CutPrefix(h, "*."); ok {
			suffixes = append(suffixes, "."+suffix)
		} else {
			exact = append(exact, h)
		}
	}
	exact = append(exact, probeHosts...)
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
