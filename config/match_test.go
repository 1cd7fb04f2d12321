package config

import (
	"net"
	"slices"
	"strings"
	"testing"
)

func TestMatchHost(t *testing.T) {
	tests := []struct {
		pattern, host string
		want          bool
	}{
		{"*.icloud-content.com", "p42-content.icloud-content.com", true},
		{"*.icloud-content.com", "a.b.icloud-content.com", true},
		{"*.icloud-content.com", "icloud-content.com", false},
		{"*.icloud-content.com", "evilicloud-content.com", false},
		{"*.icloud-content.com", "icloud-content.com.evil.org", false},
		{"*.icloud-content.com", ".icloud-content.com", false},
		{"photos.google.com", "photos.google.com", true},
		{"photos.google.com", "x.photos.google.com", false},
		{"photos.google.com", "photos.google.co", false},
		{"photos.google.com", "google.com", false},
	}
	for _, tt := range tests {
		if got := matchHost(tt.pattern, tt.host); got != tt.want {
			t.Errorf("matchHost(%q, %q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
}

func TestCanonicalHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Photos.Google.COM", "photos.google.com"},
		{"photos.google.com:443", "photos.google.com"},
		{"photos.google.com.", "photos.google.com"},
		{"photos.google.com.:443", "photos.google.com"},
		{"[::1]:8080", "::1"},
		{"[::1]", "::1"},
		{"::1", "::1"},
	}
	for _, tt := range tests {
		if got := CanonicalHost(tt.in); got != tt.want {
			t.Errorf("CanonicalHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPathPatterns(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/v1/uploads", "/v1/uploads", true},
		{"/v1/uploads", "/v1/uploads/", false},
		{"/v1/uploads", "/v1/upload", false},
		{"/v1/uploads", "/V1/uploads", false}, // paths are case-sensitive
		{"/v1/uploads", "/v1/uploads/x", false},
		{"/**", "/", true},
		{"/**", "", true},
		{"/**", "/a/b/c.jpg", true},
		{"/api/assets/*/original", "/api/assets/0b5f-42/original", true},
		{"/api/assets/*/original", "/api/assets/a/b/original", false},
		{"/api/assets/*/original", "/api/assets/original", false},
		{"/api/assets/*/original", "/api/assets//original", true}, // * matches an empty segment
		{"/api/assets/*/original", "/api/assets/x/thumbnail", false},
		{"/remote.php/dav/files/**", "/remote.php/dav/files/alice/Photos/2024/a.jpg", true},
		{"/remote.php/dav/files/**", "/remote.php/dav/files", true}, // ** matches zero segments
		{"/remote.php/dav/files/**", "/remote.php/dav/filesystem/x", false},
		{"/remote.php/dav/files/**", "/remote.php/dav/uploads/alice/1/2", false},
		{"/_/upload/uploadmedia/**", "/_/upload/uploadmedia/interactive", true},
		{"/a/**/z", "/a/z", true},
		{"/a/**/z", "/a/b/c/z", true},
		{"/a/**/z", "/a/b/c/y", false},
		{"/a/**/z/**/q", "/a/z/z/x/q", true},
		{"/a/**/**/z", "/a/b/z", true},
		{"/files/IMG_*.jpg", "/files/IMG_0042.jpg", true},
		{"/files/IMG_*.jpg", "/files/IMG_0042.png", false},
		{"/files/*.jpg", "/files/.jpg", true},
		{"/files/*a*b*", "/files/xxaxxbxx", true},
		{"/files/*a*b", "/files/xxaxxbxxa", false},
		{"/*", "/anything", true},
		{"/*", "/a/b", false},
		{"/**/b", "/a/b", true},
		{"/**/b", "/b", true},
		{"/**/b", "/a/c", false},
	}
	for _, tt := range tests {
		r := &Rule{Paths: []string{tt.pattern}}
		if got := r.MatchesPath(tt.path); got != tt.want {
			t.Errorf("pattern %q path %q: got %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestPathPatternsNotExponential(t *testing.T) {
	// Many ** segments against a long path that almost matches: the
	// backtracking-free algorithm stays fast.
	pattern := strings.Repeat("/**/a", 30) + "/b"
	path := strings.Repeat("/a", 2000) + "/c"
	r := &Rule{Paths: []string{pattern}}
	if r.MatchesPath(path) {
		t.Errorf("unexpected match")
	}
}

func TestMethodDefaults(t *testing.T) {
	isolateEnv(t)
	c := mustParse(t, `
rules:
  - {name: raw, hosts: [a.example.org], body: raw}
  - {name: multipart, hosts: [b.example.org], body: multipart, field: file}
  - {name: resumable, hosts: [c.example.org], body: resumable, resumable: google}
  - {name: download, hosts: [d.example.org], body: download}
  - {name: explicit, hosts: [e.example.org], body: raw, methods: [patch, Post]}
`, "")
	want := map[string][]string{
		"raw":       {"POST", "PUT"},
		"multipart": {"POST", "PUT"},
		"resumable": {"POST", "PUT"},
		"download":  {"GET"},
		"explicit":  {"PATCH", "POST"},
	}
	for _, r := range c.Rules {
		if !slices.Equal(r.Methods, want[r.Name]) {
			t.Errorf("%s: methods %v, want %v", r.Name, r.Methods, want[r.Name])
		}
	}
	// A Rule built in Go without methods uses the same defaults.
	if r := (&Rule{Body: BodyDownload}); !r.MatchesMethod("GET") || r.MatchesMethod("POST") {
		t.Errorf("download rule without methods: wrong default")
	}
	if r := (&Rule{Body: BodyRaw}); !r.MatchesMethod("put") || r.MatchesMethod("GET") {
		t.Errorf("raw rule without methods: wrong default")
	}
}

func TestHostsNormalized(t *testing.T) {
	isolateEnv(t)
	c := mustParse(t, "rules:\n  - {name: up, hosts: [Photos.Example.ORG, \"*.CDN.example.org\"], body: raw}\n", "")
	if got := c.Rules[0].Hosts; !slices.Equal(got, []string{"photos.example.org", "*.cdn.example.org"}) {
		t.Errorf("hosts %v not lower-cased", got)
	}
	if !c.Intercepts("PHOTOS.example.org") || !c.Intercepts("x.Cdn.Example.Org") {
		t.Errorf("case-insensitive host match failed")
	}
}

func TestMatch(t *testing.T) {
	isolateEnv(t)
	c := mustParse(t, `
rules:
  - name: specific
    hosts: [up.example.org]
    methods: [PUT]
    paths: ["/special/*"]
    body: raw
    on_unsupported: pass
  - name: general-upload
    hosts: [up.example.org, "*.cdn.example.org"]
    paths: ["/upload/**", "/special/**"]
    body: raw
  - name: download
    hosts: ["*.cdn.example.org"]
    body: download
`, "")
	tests := []matchCase{
		{"PUT", "up.example.org", "/special/a.jpg", "specific"},
		{"put", "up.example.org:443", "/special/a.jpg?x=1", "specific"},
		{"POST", "up.example.org", "/special/a.jpg", "general-upload"}, // method differs: next rule
		{"PUT", "up.example.org", "/special/a/b.jpg", "general-upload"},
		{"POST", "up.example.org", "/upload", "general-upload"},
		{"POST", "up.example.org", "/uploads", ""},
		{"GET", "up.example.org", "/upload/a.jpg", ""},
		{"GET", "a.cdn.example.org", "/x/y.jpg", "download"},
		{"POST", "a.cdn.example.org", "/upload/y.jpg", "general-upload"},
		{"POST", "a.cdn.example.org", "/elsewhere", ""},
		{"GET", "cdn.example.org", "/x", ""},
		{"GET", "other.org", "/", ""},
		{"HEAD", "a.cdn.example.org", "/x", ""},
	}
	checkMatches(t, c, tests)
	if r := c.Match("PUT", "up.example.org", "/special/a.jpg"); r != &c.Rules[0] {
		t.Errorf("Match does not return a pointer into Rules")
	}
}

func TestIntercepts(t *testing.T) {
	c := validConfig(t)
	tests := []struct {
		host string
		want bool
	}{
		{"photoslibrary.googleapis.com", true},
		{"photoslibrary.googleapis.com:443", true},
		{"photos.google.com", true},
		{"lh3.googleusercontent.com", true},
		{"lh4.googleusercontent.com", false},
		{"p42-content.icloud-content.com", true},
		{"cvws.icloud-content.com", true},
		{"icloud-content.com", false},
		{"www.google.com", false},
		{"googleapis.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := c.Intercepts(tt.host); got != tt.want {
			t.Errorf("Intercepts(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestRuleDomains(t *testing.T) {
	c := validConfig(t)
	want := []string{"icloud-content.com", "lh3.googleusercontent.com", "photos.google.com", "photoslibrary.googleapis.com"}
	if got := c.RuleDomains(); !slices.Equal(got, want) {
		t.Errorf("RuleDomains() = %v, want %v", got, want)
	}
	c.Rules = []Rule{
		{Name: "a", Hosts: []string{"b.example.org", "*.example.org", "example.org"}, Body: BodyRaw},
		{Name: "b", Hosts: []string{"*.x.example.org", "Other.net", "*.other.net"}, Body: BodyRaw},
		{Name: "c", Hosts: []string{"z.org", "y.org"}, Body: BodyDownload},
	}
	want = []string{"example.org", "other.net", "y.org", "z.org"}
	if got := c.RuleDomains(); !slices.Equal(got, want) {
		t.Errorf("RuleDomains() = %v, want %v", got, want)
	}
}

func TestClientAllowed(t *testing.T) {
	isolateEnv(t)
	c := mustParse(t, "listen: 0.0.0.0:8080\nclients:\n  allow: [192.168.1.0/24, 10.0.0.7, \"fd00::/8\"]\n"+oneRule, "")
	tests := []struct {
		ip   string
		want bool
	}{
		{"192.168.1.1", true},
		{"192.168.1.255", true},
		{"192.168.2.1", false},
		{"10.0.0.7", true},
		{"10.0.0.8", false},
		{"::ffff:192.168.1.9", true}, // IPv4-mapped
		{"fd00::1", true},
		{"fe80::1", false},
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		if got := c.ClientAllowed(net.ParseIP(tt.ip)); got != tt.want {
			t.Errorf("ClientAllowed(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
	if c.ClientAllowed(nil) {
		t.Errorf("ClientAllowed(nil) = true")
	}

	// Loopback default.
	d := validConfig(t)
	for ip, want := range map[string]bool{"127.0.0.1": true, "127.9.9.9": true, "::1": true, "::ffff:127.0.0.1": true, "192.168.1.1": false} {
		if got := d.ClientAllowed(net.ParseIP(ip)); got != want {
			t.Errorf("default: ClientAllowed(%s) = %v, want %v", ip, got, want)
		}
	}

	// An empty allow-list (only valid with auth or loopback) admits all.
	d.Clients.Allow = nil
	if !d.ClientAllowed(net.ParseIP("203.0.113.9")) {
		t.Errorf("empty allow-list refused a client")
	}
}

func TestUnreachableRules(t *testing.T) {
	tests := []struct {
		name        string
		first, then Rule
		unreachable bool
	}{
		{"identical", Rule{Hosts: []string{"a.example.org"}, Body: BodyRaw}, Rule{Hosts: []string{"a.example.org"}, Body: BodyRaw}, true},
		{"raw then resumable on the same path", Rule{Hosts: []string{"a.example.org"}, Methods: []string{"POST"}, Paths: []string{"/v1/uploads"}, Body: BodyRaw},
			Rule{Hosts: []string{"a.example.org"}, Methods: []string{"POST"}, Paths: []string{"/v1/uploads"}, Body: BodyResumable, Resumable: ResumableGoogle}, true},
		{"wildcard covers host", Rule{Hosts: []string{"*.example.org"}, Body: BodyRaw}, Rule{Hosts: []string{"a.b.example.org"}, Paths: []string{"/x"}, Body: BodyRaw}, true},
		{"wildcard covers deeper wildcard", Rule{Hosts: []string{"*.example.org"}, Body: BodyRaw}, Rule{Hosts: []string{"*.b.example.org"}, Body: BodyRaw}, true},
		{"catch-all path covers literal", Rule{Hosts: []string{"a.example.org"}, Paths: []string{"/api/**"}, Body: BodyRaw}, Rule{Hosts: []string{"a.example.org"}, Paths: []string{"/api/assets"}, Body: BodyRaw}, true},
		{"more methods later", Rule{Hosts: []string{"a.example.org"}, Methods: []string{"POST"}, Body: BodyRaw}, Rule{Hosts: []string{"a.example.org"}, Body: BodyRaw}, false},
		{"different methods", Rule{Hosts: []string{"a.example.org"}, Body: BodyRaw}, Rule{Hosts: []string{"a.example.org"}, Body: BodyDownload}, false},
		{"narrower first", Rule{Hosts: []string{"a.example.org"}, Paths: []string{"/x"}, Body: BodyRaw}, Rule{Hosts: []string{"a.example.org"}, Body: BodyRaw}, false},
		{"exact does not cover wildcard", Rule{Hosts: []string{"example.org"}, Body: BodyRaw}, Rule{Hosts: []string{"*.example.org"}, Body: BodyRaw}, false},
		{"one host not covered", Rule{Hosts: []string{"a.example.org"}, Body: BodyRaw}, Rule{Hosts: []string{"a.example.org", "b.example.org"}, Body: BodyRaw}, false},
		{"wildcard path not compared", Rule{Hosts: []string{"a.example.org"}, Paths: []string{"/a/*/b"}, Body: BodyRaw}, Rule{Hosts: []string{"a.example.org"}, Paths: []string{"/a/*/b/**"}, Body: BodyRaw}, false},
	}
	for _, tt := range tests {
		if got := ruleCovers(&tt.first, &tt.then); got != tt.unreachable {
			t.Errorf("%s: ruleCovers = %v, want %v", tt.name, got, tt.unreachable)
		}
	}
}

// matchCase is a request and the name of the rule that should match it ("" for
// none).
type matchCase struct{ method, host, path, want string }

// checkMatches checks Config.Match against a table of requests.
func checkMatches(t *testing.T, c *Config, cases []matchCase) {
	t.Helper()
	for _, tt := range cases {
		got := ""
		if r := c.Match(tt.method, tt.host, tt.path); r != nil {
			got = r.Name
		}
		if got != tt.want {
			t.Errorf("Match(%s %s%s) = %q, want %q", tt.method, tt.host, tt.path, got, tt.want)
		}
	}
}
