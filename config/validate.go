package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// ErrInsecurePermissions is wrapped by the error for a password file that
// group or others can access.
var ErrInsecurePermissions = errors.New("file is accessible by group or others")

// ErrOpenProxy is wrapped by the error for a listener reachable from other
// machines with nothing restricting who may use it.
var ErrOpenProxy = errors.New("refusing to run an open proxy")

// maxPasswordFile bounds how much of a password file is read.
const maxPasswordFile = 4096

// validator collects problems.
type validator struct {
	problems []*FieldError
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, &FieldError{Path: path, Err: fmt.Errorf(format, args...)})
}

func (v *validator) addErr(path string, err error) {
	v.problems = append(v.problems, &FieldError{Path: path, Err: err})
}

// Validate checks the configuration and returns a *ValidationError listing
// every problem with its field path, or nil. It expects defaults to have been
// applied (ParseConfig and DefaultConfig do that). It reads the files the
// config names (password file, CA files) but changes nothing.
func (c *Config) Validate() error {
	v := &validator{}
	c.validateListen(v)
	for _, f := range []struct{ path, value string }{
		{"state_dir", c.StateDir},
		{"key_file", c.KeyFile},
	} {
		switch {
		case f.value == "":
			v.add(f.path, "required (no default: neither $XDG_DATA_HOME nor a home directory is known)")
		case strings.HasPrefix(f.value, "~"):
			v.add(f.path, "cannot expand %q: only ~/ is expanded, and only when a home directory is known", f.value)
		}
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		v.add("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "console", "json") {
		v.add("log.format", "must be console or json, not %q", c.Log.Format)
	}
	c.validateClients(v)
	c.validatePreviews(v)
	c.validateUpstream(v)
	for _, d := range []struct {
		path string
		d    Duration
	}{
		{"upstream.dial_timeout", c.Upstream.DialTimeout},
		{"upstream.idle_timeout", c.Upstream.IdleTimeout},
		{"upstream.response_header_timeout", c.Upstream.ResponseHeaderTimeout},
		{"client_timeouts.read_header", c.ClientTimeouts.ReadHeader},
		{"client_timeouts.idle", c.ClientTimeouts.Idle},
		{"limits.session_ttl", c.Limits.SessionTTL},
		{"limits.buffer_wait", c.Limits.BufferWait},
	} {
		if d.d.Duration <= 0 {
			v.add(d.path, "must be positive, not %s", d.d.Duration)
		}
	}
	if c.Limits.HashBuffer <= 0 {
		v.add("limits.hash_buffer", "must be positive, not %d", int64(c.Limits.HashBuffer))
	}
	if c.Limits.HashBuffer > 0 && c.Limits.BufferMemory < 2*c.Limits.HashBuffer {
		v.add("limits.buffer_memory", "must be at least twice limits.hash_buffer (%s), which a chunk of a resumable upload takes with its encrypted copy, not %s", 2*c.Limits.HashBuffer, c.Limits.BufferMemory)
	}
	if c.Limits.MaxSessions <= 0 {
		v.add("limits.max_sessions", "must be positive, not %d", c.Limits.MaxSessions)
	}
	for _, m := range []struct {
		path string
		a    MetadataAction
	}{
		{"metadata.exif_thumbnail", c.Metadata.ExifThumbnail},
		{"metadata.mpf_images", c.Metadata.MPFImages},
		{"metadata.gps", c.Metadata.GPS},
	} {
		if m.a != MetadataEncrypt && m.a != MetadataKeep {
			v.add(m.path, "must be encrypt or keep, not %q", m.a)
		}
	}
	c.validateRules(v)
	if len(v.problems) > 0 {
		return &ValidationError{Problems: v.problems}
	}
	return nil
}

func (c *Config) validateListen(v *validator) {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		v.add("listen", "must be host:port, such as 127.0.0.1:8080, not %q", c.Listen)
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		v.add("listen", "port %q is not a number from 0 to 65535", port)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			if err := validDNSName(host); err != nil {
				v.add("listen", "host %q is neither an IP address nor a valid host name", host)
				return
			}
		}
	}
	if listenIsLoopback(c.Listen) || c.Clients.Auth != nil {
		return
	}
	if len(c.Clients.Allow) == 0 {
		v.addErr("clients", fmt.Errorf("%w: listen address %q is reachable from other machines, so set clients.allow (the client networks allowed) or clients.auth (proxy authentication)", ErrOpenProxy, c.Listen))
		return
	}
	single := false
	for i, n := range c.Clients.Allow {
		if n.IsValid() && n.Bits() == 0 {
			single = true
			v.addErr(fmt.Sprintf("clients.allow[%d]", i), fmt.Errorf("%w: %s admits every address; narrow it or set clients.auth", ErrOpenProxy, n))
		}
	}
	if single {
		return
	}
	for _, f := range []struct {
		name string
		zero netip.Addr
	}{{"IPv4", netip.IPv4Unspecified()}, {"IPv6", netip.IPv6Unspecified()}} {
		if admitsFamily(c.Clients.Allow, f.zero) {
			v.addErr("clients.allow", fmt.Errorf("%w: together these networks admit every %s address; narrow them or set clients.auth", ErrOpenProxy, f.name))
		}
	}
}

// listenIsLoopback reports whether a listen address only accepts local
// connections: a loopback IP or "localhost". An empty host (all interfaces)
// or any other name is not loopback.
func listenIsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

func (c *Config) validateClients(v *validator) {
	for i, n := range c.Clients.Allow {
		if !n.IsValid() {
			v.add(fmt.Sprintf("clients.allow[%d]", i), "not a valid network")
		}
	}
	for i, p := range c.Clients.ConnectPorts {
		if p < 1 || p > 65535 {
			v.add(fmt.Sprintf("clients.connect_ports[%d]", i), "must be a port number from 1 to 65535, not %d", p)
		}
	}
	a := c.Clients.Auth
	if a == nil {
		return
	}
	switch {
	case a.User == "":
		v.add("clients.auth.user", "required")
	case strings.ContainsRune(a.User, ':'):
		v.add("clients.auth.user", "must not contain ':' (Basic authentication separates user and password with it)")
	case strings.ContainsFunc(a.User, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		v.add("clients.auth.user", "must not contain control characters")
	}
	switch {
	case a.PasswordFile == "" && a.Password == "":
		v.add("clients.auth.password_file", "required: a file holding the proxy password")
	case a.PasswordFile != "":
		if _, err := readPasswordFile(a.PasswordFile); err != nil {
			v.addErr("clients.auth.password_file", err)
		}
	}
}

// readPasswordFile reads a password: a regular file, not accessible by group
// or others (on systems with Unix permissions), at most 4 KiB, non-empty
// after trimming one trailing newline. Errors never contain the content.
func readPasswordFile(path string) (Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("%s: %w (mode %04o); run: chmod 600 %s", path, ErrInsecurePermissions, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPasswordFile+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxPasswordFile {
		return "", fmt.Errorf("%s is larger than %d bytes; it should hold only the password", path, maxPasswordFile)
	}
	s := string(data)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return Secret(s), nil
}

func (c *Config) validateUpstream(v *validator) {
	for i, f := range c.Upstream.CAFiles {
		path := fmt.Sprintf("upstream.ca_files[%d]", i)
		if f == "" {
			v.add(path, "empty file name")
			continue
		}
		if err := appendPEMFile(x509.NewCertPool(), f); err != nil {
			v.addErr(path, err)
		}
	}
	keys := make([]string, 0, len(c.Upstream.Resolve))
	for k := range c.Upstream.Resolve {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]string{}
	for _, k := range keys {
		path := fmt.Sprintf("upstream.resolve[%q]", k)
		if first, dup := seen[strings.ToLower(k)]; dup {
			v.add(path, "same host:port as %q", first)
			continue
		}
		seen[strings.ToLower(k)] = k
		host, port, err := net.SplitHostPort(k)
		if err != nil {
			v.add(path, "key must be host:port, such as photos.example.org:443")
		} else {
			if err := validDNSName(host); err != nil {
				v.add(path, "key host %q: %v", host, err)
			}
			if err := validPort(port); err != nil {
				v.add(path, "key port: %v", err)
			}
		}
		val := c.Upstream.Resolve[k]
		vhost, vport, err := net.SplitHostPort(val)
		if err != nil {
			v.add(path, "value must be ip:port, such as 127.0.0.1:8443, not %q", val)
			continue
		}
		if _, err := netip.ParseAddr(vhost); err != nil {
			v.add(path, "value %q: %q is not an IP address", val, vhost)
		}
		if err := validPort(vport); err != nil {
			v.add(path, "value port: %v", err)
		}
	}
}

func validPort(p string) error {
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("%q is not a port number from 1 to 65535", p)
	}
	return nil
}

func (c *Config) validateRules(v *validator) {
	if len(c.Rules) == 0 {
		v.add("rules", "at least one rule is required; without rules the proxy intercepts nothing")
		return
	}
	names := map[string]int{}
	for i := range c.Rules {
		r := &c.Rules[i]
		p := fmt.Sprintf("rules[%d]", i)
		switch first, dup := names[r.Name]; {
		case strings.TrimSpace(r.Name) == "":
			v.add(p+".name", "required")
		case dup:
			v.add(p+".name", "duplicate name %q (also rules[%d])", r.Name, first)
		default:
			names[r.Name] = i
		}
		if len(r.Hosts) == 0 {
			v.add(p+".hosts", "at least one host is required")
		}
		for j, h := range r.Hosts {
			if err := validHostPattern(h); err != nil {
				v.addErr(fmt.Sprintf("%s.hosts[%d]", p, j), err)
			}
		}
		for j, m := range r.Methods {
			if !validToken(m) {
				v.add(fmt.Sprintf("%s.methods[%d]", p, j), "%q is not an HTTP method", m)
			}
		}
		for j, pat := range r.Paths {
			if err := validPathPattern(pat); err != nil {
				v.addErr(fmt.Sprintf("%s.paths[%d]", p, j), err)
			}
		}
		switch r.Body {
		case BodyRaw, BodyMultipart, BodyResumable, BodyDownload, BodyAPI:
		case "":
			v.add(p+".body", "required: raw, multipart, resumable, download or api")
		default:
			v.add(p+".body", "must be raw, multipart, resumable, download or api, not %q", r.Body)
		}
		validateRuleService(v, p, r)
		switch {
		case r.Body == BodyMultipart && r.Field == "":
			v.add(p+".field", "required with body multipart: the form field that carries the file (Immich: assetData)")
		case r.Body != BodyMultipart && r.Field != "":
			v.add(p+".field", "only allowed with body multipart")
		}
		switch {
		case r.Body == BodyResumable && r.Resumable == "":
			v.add(p+".resumable", "required with body resumable: google or nextcloud")
		case r.Body == BodyResumable && r.Resumable != ResumableGoogle && r.Resumable != ResumableNextcloud:
			v.add(p+".resumable", "must be google or nextcloud, not %q", r.Resumable)
		case r.Body != BodyResumable && r.Resumable != "":
			v.add(p+".resumable", "only allowed with body resumable")
		}
		validatePolicies(v, p, r)
	}
	for j := range c.Rules {
		for i := 0; i < j; i++ {
			if ruleCovers(&c.Rules[i], &c.Rules[j]) {
				v.add(fmt.Sprintf("rules[%d]", j), "unreachable: rules[%d] (%s) comes first and matches every request this rule matches; put the more specific rule first", i, c.Rules[i].Name)
				break
			}
		}
	}
}

// validHostPattern checks a rule host: a DNS name, or "*." and a DNS name of
// at least two labels.
func validHostPattern(h string) error {
	switch {
	case h == "":
		return errors.New("empty host")
	case h == "*" || h == "*.":
		return errors.New("a bare * would intercept every host; name the hosts")
	case strings.ContainsAny(h, ":[]"):
		return fmt.Errorf("%q: hosts are DNS names without a port", h)
	}
	name, wildcard := strings.CutPrefix(h, "*.")
	if strings.Contains(name, "*") {
		return fmt.Errorf("%q: * is only allowed as the whole first label, as in *.example.com", h)
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return fmt.Errorf("%q: IP addresses are not supported; use a host name", h)
	}
	if err := validDNSName(name); err != nil {
		return fmt.Errorf("%q: %w", h, err)
	}
	if wildcard && !strings.Contains(name, ".") {
		return fmt.Errorf("%q would cover a whole top-level domain", h)
	}
	return nil
}

// validDNSName checks a host name: labels of 1 to 63 letters, digits and
// hyphens, not starting or ending with a hyphen, 253 bytes at most.
func validDNSName(name string) error {
	if name == "" {
		return errors.New("empty host name")
	}
	if len(name) > 253 {
		return errors.New("host name longer than 253 bytes")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" {
			return errors.New("empty label (leading, trailing or double dot)")
		}
		if len(label) > 63 {
			return fmt.Errorf("label %q longer than 63 bytes", label)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with a hyphen", label)
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-') {
				return fmt.Errorf("label %q has character %q; only letters, digits and hyphens are allowed", label, ch)
			}
		}
	}
	return nil
}

// validToken reports whether s is an HTTP token (RFC 9110 section 5.6.2),
// the syntax of a method.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(ch)) {
			return false
		}
	}
	return true
}

// validPathPattern checks a path pattern: starts with "/", no query or
// fragment, "**" only as a whole segment.
func validPathPattern(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%q must start with /", p)
	}
	if strings.ContainsAny(p, "?#") {
		return fmt.Errorf("%q: patterns match the URL path only, without query or fragment", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if strings.Contains(seg, "**") && seg != "**" {
			return fmt.Errorf("%q: ** must be a whole path segment, as in /a/**/b; use * within a segment", p)
		}
	}
	return nil
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

// Services are the names rule.service accepts.
var Services = []string{"google", "icloud", "immich", "nextcloud"}

func validateRuleService(v *validator, p string, r *Rule) {
	switch {
	case r.Body == BodyAPI && r.Service == "":
		v.add(p+".service", "required with body api: %s", strings.Join(Services, ", "))
	case r.Service != "" && !oneOf(r.Service, Services...):
		v.add(p+".service", "must be one of %s, not %q", strings.Join(Services, ", "), r.Service)
	}
	if r.Previews != nil && ((r.Body != BodyAPI && r.Body != BodyDownload) || r.Service == "") {
		v.add(p+".previews", "only allowed with body api or download, with service")
	}
}

func (c *Config) validatePreviews(v *validator) {
	for i, n := range c.Previews.UploadSizes {
		if n < 16 || n > 8192 {
			v.add(fmt.Sprintf("previews.upload_sizes[%d]", i), "must be 16 to 8192 pixels, not %d", n)
		}
	}
	if c.Previews.MemoryCache < 0 {
		v.add("previews.memory_cache", "must be positive")
	}
	if c.Previews.DiskCache < 0 {
		v.add("previews.disk_cache", "must be 0 (none) or positive")
	}
	if c.Previews.Quality < 1 || c.Previews.Quality > 100 {
		v.add("previews.quality", "must be 1 to 100, not %d", c.Previews.Quality)
	}
}

// validatePolicies checks the upload policies of the rule r at p.
func validatePolicies(v *validator, p string, r *Rule) {
	switch {
	case r.Body == BodyDownload && r.OnUnsupported != "":
		v.add(p+".on_unsupported", "only applies to upload rules; downloads that are not photos this proxy encrypted always pass unchanged")
	case r.Body.IsUpload() && r.OnUnsupported != UnsupportedBlock && r.OnUnsupported != UnsupportedPass:
		v.add(p+".on_unsupported", "must be block or pass, not %q", r.OnUnsupported)
	}
	switch {
	case r.Body == BodyDownload && r.OnReencode != "":
		v.add(p+".on_reencode", "only applies to upload rules")
	case r.Body.IsUpload() && r.OnReencode != "" && r.OnReencode != ReencodeRefuse && r.OnReencode != ReencodeAllow:
		// "" is refuse: a rule built in Go without defaults fails closed.
		v.add(p+".on_reencode", "must be refuse or allow, not %q", r.OnReencode)
	}
	switch {
	case r.Body == BodyDownload && r.OnUnsure != "":
		v.add(p+".on_unsure", "only applies to upload rules; a download is decrypted only when the ledger or the classifier knows it for a ciphertext of a key in the keyring")
	case r.Body.IsUpload() && r.OnUnsure != "" && r.OnUnsure != UnsureEncrypt && r.OnUnsure != UnsureBlock:
		v.add(p+".on_unsure", "must be encrypt or block, not %q", r.OnUnsure)
	}
}
