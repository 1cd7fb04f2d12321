package certs

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// hostName is a normalized certificate subject: exactly one of dns or ip is
// set.
type hostName struct {
	dns string     // lowercase ASCII DNS name, no trailing dot
	ip  netip.Addr // IP literal, IPv4-mapped IPv6 unmapped, no zone
}

func (h hostName) isIP() bool { return h.ip.IsValid() }

// String is the form used in errors and as the cache key.
func (h hostName) String() string {
	if h.isIP() {
		return h.ip.String()
	}
	return h.dns
}

// parseHost normalizes a host as it appears in SNI, a CONNECT line or a Host
// header. It strips an optional :port and IPv6 brackets, lowercases, and
// drops one trailing dot.
func parseHost(raw string) (hostName, error) {
	bad := func(reason string) (hostName, error) {
		return hostName{}, &InvalidHostError{Host: raw, Reason: reason}
	}
	if raw == "" {
		return bad("empty host name")
	}
	s := raw
	bracketed := strings.HasPrefix(s, "[")
	if h, port, err := net.SplitHostPort(s); err == nil {
		if port != "" {
			if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
				return bad("invalid port " + strconv.Quote(port))
			}
		}
		s = h
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	addr, err := netip.ParseAddr(s)
	if bracketed && (err != nil || !addr.Is6()) {
		return bad("brackets are only for IPv6 addresses")
	}
	if err == nil {
		if addr.Zone() != "" {
			return bad("IPv6 zone identifiers cannot appear in a certificate")
		}
		return hostName{ip: addr.Unmap()}, nil
	}
	name, reason := normalizeDNSName(s)
	if reason != "" {
		return bad(reason)
	}
	return hostName{dns: name}, nil
}

// normalizeDNSName lowercases s, strips one trailing dot and checks that it
// is a plain LDH DNS name (underscores allowed, as real hosts use them). It
// returns a non-empty reason when s is not acceptable.
func normalizeDNSName(s string) (name, reason string) {
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	switch {
	case s == "":
		return "", "empty host name"
	case len(s) > 253:
		return "", "longer than 253 characters"
	case strings.Contains(s, "*"):
		return "", "wildcards are not accepted"
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" {
			return "", "empty label"
		}
		if len(label) > 63 {
			return "", "label longer than 63 characters"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", "label starts or ends with a hyphen"
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			case c >= 0x80:
				return "", "non-ASCII name (use the punycode xn-- form)"
			default:
				return "", "invalid character " + strconv.QuoteRune(rune(c))
			}
		}
	}
	return s, ""
}

// normalizeDomains validates and canonicalizes CAOptions.PermittedDomains:
// lowercased, deduplicated and sorted, so the same rules always give the same
// constraint list.
func normalizeDomains(domains []string) ([]string, error) {
	out := make([]string, 0, len(domains))
	for _, d := range domains {
		bad := func(reason string) error { return &InvalidDomainError{Domain: d, Reason: reason} }
		switch {
		case strings.HasPrefix(d, "*."):
			return nil, bad("a name constraint already covers every subdomain; drop the \"*.\"")
		case strings.HasPrefix(d, "."):
			// Go reads ".example.com" as "subdomains only", but RFC 5280 has no
			// such form for DNS names, so other verifiers may read it differently.
			return nil, bad("leading dot; use the bare domain, which also covers its subdomains")
		case strings.Contains(d, ":"), strings.Contains(d, "/"):
			return nil, bad("a domain name, not a host:port, IP address or URL")
		}
		if _, err := netip.ParseAddr(d); err == nil {
			return nil, bad("IP addresses cannot be permitted; the CA issues for DNS names only")
		}
		name, reason := normalizeDNSName(d)
		if reason != "" {
			return nil, bad(reason)
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// domainWithin reports whether DNS name falls within a dNSName constraint
// as RFC 5280 4.2.1.10 defines it. Adding labels on the left still matches,
// so "example.com" covers "example.com" and "a.example.com" but not
// "badexample.com". It also accepts Go's leading-dot "subdomains only" form,
// so CAs created elsewhere are evaluated the way crypto/x509 evaluates them.
func domainWithin(name, constraint string) bool {
	constraint = strings.ToLower(strings.TrimSuffix(constraint, "."))
	if constraint == "" {
		return true
	}
	if strings.HasPrefix(constraint, ".") {
		return len(name) > len(constraint) && strings.HasSuffix(name, constraint)
	}
	return name == constraint || strings.HasSuffix(name, "."+constraint)
}

func ipWithin(ip netip.Addr, nets []*net.IPNet) bool {
	for _, n := range nets {
		if n.Contains(net.IP(ip.AsSlice())) {
			return true
		}
	}
	return false
}
