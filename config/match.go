package config

import (
	"net"
	"slices"
	"strings"
)

// Intercepts reports whether any rule names host, which decides whether a
// CONNECT to it is intercepted (TLS MITM) or tunnelled untouched. host is
// compared case-insensitively; a port, IPv6 brackets and a trailing dot are
// ignored.
func (c *Config) Intercepts(host string) bool {
	host = CanonicalHost(host)
	for i := range c.Rules {
		if c.Rules[i].matchesHost(host) {
			return true
		}
	}
	return false
}

// Match returns the first rule that matches the request, or nil. host is
// the request's host (a port is ignored) and path its URL path as decoded
// by net/url (r.URL.Path); anything from a "?" on is ignored.
func (c *Config) Match(method, host, path string) *Rule {
	host = CanonicalHost(host)
	path, _, _ = strings.Cut(path, "?")
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.matchesHost(host) && r.MatchesMethod(method) && r.MatchesPath(path) {
			return r
		}
	}
	return nil
}

// MatchesHost reports whether one of the rule's host patterns matches host
// (case-insensitive; a port, IPv6 brackets and a trailing dot are ignored).
func (r *Rule) MatchesHost(host string) bool {
	return r.matchesHost(CanonicalHost(host))
}

// matchesHost is MatchesHost for a host already passed through
// CanonicalHost.
func (r *Rule) matchesHost(host string) bool {
	for _, h := range r.Hosts {
		if matchHost(strings.ToLower(h), host) {
			return true
		}
	}
	return false
}

// MatchesMethod reports whether the rule covers method (case-insensitive).
// A rule without methods uses the default for its body kind.
func (r *Rule) MatchesMethod(method string) bool {
	methods := r.Methods
	if len(methods) == 0 {
		methods = defaultMethods(r.Body)
	}
	for _, m := range methods {
		if strings.EqualFold(m, method) {
			return true
		}
	}
	return false
}

// MatchesPath reports whether one of the rule's path patterns matches path.
// A rule without paths matches every path.
func (r *Rule) MatchesPath(path string) bool {
	if len(r.Paths) == 0 {
		return true
	}
	if path == "" {
		path = "/"
	}
	segs := strings.Split(path, "/")
	for _, p := range r.Paths {
		if matchSegments(strings.Split(p, "/"), segs) {
			return true
		}
	}
	return false
}

// RuleDomains returns the domains the interception CA may be constrained
// to: "example.org" for "*.example.org", the host itself for an exact host.
// Domains covered by another one in the list are dropped (a name constraint
// on example.org already permits a.example.org). Sorted.
func (c *Config) RuleDomains() []string {
	var domains []string
	for _, r := range c.Rules {
		for _, h := range r.Hosts {
			d := strings.TrimPrefix(strings.ToLower(h), "*.")
			if d != "" && !slices.Contains(domains, d) {
				domains = append(domains, d)
			}
		}
	}
	var out []string
	for _, d := range domains {
		covered := false
		for _, e := range domains {
			if d != e && strings.HasSuffix(d, "."+e) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// PresetDomains returns the domains of the preset services of
// config.example.yaml (Google Photos, iCloud), as RuleDomains gives them.
// The CA covers them whatever the rules say, so that turning a preset on
// later never needs a new CA on the devices.
func PresetDomains() []string { return builtin().RuleDomains() }

// CanonicalHost lower-cases host and strips a port, IPv6 brackets and one
// trailing dot, so "Photos.Google.com.:443" becomes "photos.google.com".
func CanonicalHost(host string) string {
	host = strings.ToLower(strings.TrimSpace(host))
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.TrimSuffix(host, ".")
}

// matchHost matches a lower-case host against a lower-case pattern: exact,
// or "*.suffix", which matches any name ending in ".suffix" (one or more
// labels before it) but not suffix itself.
func matchHost(pattern, host string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		return len(host) > len(suffix)+1 &&
			strings.HasSuffix(host, suffix) &&
			host[len(host)-len(suffix)-1] == '.'
	}
	return host == pattern
}

// matchSegments matches path segments against pattern segments, where a
// "**" segment matches any number (zero or more) of segments.
func matchSegments(pat, segs []string) bool {
	return wildcard(pat, segs, func(p string) bool { return p == "**" }, matchSegment)
}

// matchSegment matches one path segment against a pattern segment in which
// "*" matches any run of characters (none included) and everything else is
// literal.
func matchSegment(pat, s string) bool {
	if !strings.Contains(pat, "*") {
		return pat == s
	}
	return wildcard([]byte(pat), []byte(s), func(p byte) bool { return p == '*' }, func(p, c byte) bool { return p == c })
}

// wildcard matches s against pat, where an element for which isStar holds
// matches any run of elements (none included) and any other element p
// matches an element e when match(p, e). It is the classic wildcard
// algorithm that remembers only the last star: linear in practice,
// O(len(pat)·len(s)) at worst, never exponential.
func wildcard[P, S any](pat []P, s []S, isStar func(P) bool, match func(P, S) bool) bool {
	pi, si := 0, 0
	star, starSi := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pat) && isStar(pat[pi]):
			star, starSi = pi, si
			pi++
		case pi < len(pat) && match(pat[pi], s[si]):
			pi++
			si++
		case star >= 0:
			starSi++
			si = starSi
			pi = star + 1
		default:
			return false
		}
	}
	for pi < len(pat) && isStar(pat[pi]) {
		pi++
	}
	return pi == len(pat)
}

// ruleCovers reports whether rule a matches every request rule b matches,
// so that b, placed after a, can never match. It is conservative: it may
// miss a covering, but a reported covering is real.
func ruleCovers(a, b *Rule) bool {
	for _, hb := range b.Hosts {
		if !slices.ContainsFunc(a.Hosts, func(ha string) bool { return hostPatternCovers(ha, hb) }) {
			return false
		}
	}
	for _, mb := range effectiveMethods(b) {
		if !a.MatchesMethod(mb) {
			return false
		}
	}
	pathsB := b.Paths
	if len(pathsB) == 0 {
		pathsB = []string{"/**"}
	}
	for _, pb := range pathsB {
		if !slices.ContainsFunc(effectivePaths(a), func(pa string) bool { return pathPatternCovers(pa, pb) }) {
			return false
		}
	}
	return len(b.Hosts) > 0
}

func effectiveMethods(r *Rule) []string {
	if len(r.Methods) == 0 {
		return defaultMethods(r.Body)
	}
	return r.Methods
}

func effectivePaths(r *Rule) []string {
	if len(r.Paths) == 0 {
		return []string{"/**"}
	}
	return r.Paths
}

// hostPatternCovers reports whether host pattern a matches every host that
// pattern b matches.
func hostPatternCovers(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if a == b {
		return true
	}
	if sb, ok := strings.CutPrefix(b, "*."); ok {
		sa, ok := strings.CutPrefix(a, "*.")
		return ok && strings.HasSuffix(sb, "."+sa)
	}
	return matchHost(a, b)
}

// pathPatternCovers reports whether path pattern a matches every path that
// pattern b matches: equal patterns, a "/**" catch-all, or a literal b that
// a matches.
func pathPatternCovers(a, b string) bool {
	if a == b || a == "/**" {
		return true
	}
	if strings.Contains(b, "*") {
		return false
	}
	return matchSegments(strings.Split(a, "/"), strings.Split(b, "/"))
}
