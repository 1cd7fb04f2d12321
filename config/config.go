package config

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the proxy configuration. It is read from YAML by LoadConfig or
// ParseConfig, which decode strictly (unknown keys are errors), fill in
// defaults and validate. config.example.yaml documents every key.
type Config struct {
	// Listen is the proxy's address, host:port. Default 127.0.0.1:8080. A
	// non-loopback address requires Clients.Allow or Clients.Auth.
	Listen string `yaml:"listen"`
	// StateDir holds the key, the CA and the ledger. Default
	// $XDG_DATA_HOME/jpegveil, else ~/.local/share/jpegveil.
	StateDir string `yaml:"state_dir"`
	// KeyFile is the master key file. Default <StateDir>/key. The masking
	// mode is a property of the key and is read from this file.
	KeyFile        string               `yaml:"key_file"`
	Log            LogConfig            `yaml:"log"`
	Clients        ClientsConfig        `yaml:"clients"`
	Upstream       UpstreamConfig       `yaml:"upstream"`
	ClientTimeouts ClientTimeoutsConfig `yaml:"client_timeouts"`
	Limits         LimitsConfig         `yaml:"limits"`
	CA             CAConfig             `yaml:"ca"`
	Metadata       MetadataConfig       `yaml:"metadata"`
	Previews       PreviewsConfig       `yaml:"previews"`
	// Rules decide which requests are intercepted; the first match wins.
	Rules []Rule `yaml:"rules"`
	// Source is the absolute path of the file LoadConfig read; empty for
	// the built-in configuration and for ParseConfig.
	Source string `yaml:"-"`
}

// LogConfig selects the log level and encoding.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info (default), warn or error
	Format string `yaml:"format"` // console (default) or json
}

// ClientsConfig restricts who may use the proxy. When both are set, a client
// must be in Allow and authenticate.
type ClientsConfig struct {
	// Allow lists the client networks allowed to connect. Empty means any
	// address, which Validate only accepts for a loopback Listen or with
	// Auth. When Listen is loopback and Allow is absent, it defaults to
	// 127.0.0.0/8 and ::1/128.
	Allow []Network `yaml:"allow"`
	// Auth, when set, requires Basic proxy authentication
	// (Proxy-Authorization) from every client.
	Auth *AuthConfig `yaml:"auth"`
	// ConnectPorts are the ports clients may open tunnels (CONNECT) to,
	// besides the ports of Upstream.Resolve. Default [443].
	ConnectPorts []int `yaml:"connect_ports"`
}

// AuthConfig is the Basic proxy authentication credential.
type AuthConfig struct {
	User string `yaml:"user"`
	// PasswordFile holds the password (one trailing newline is trimmed). It
	// must be a regular file not accessible by group or others.
	PasswordFile string `yaml:"password_file"`
	// Password is read from PasswordFile by ParseConfig; it is never part of
	// the YAML and never printed.
	Password Secret `yaml:"-"`
}

// UpstreamConfig governs connections to the photo services. Upstream TLS
// certificates are always verified.
type UpstreamConfig struct {
	// CAFiles are PEM files of extra roots trusted in addition to the
	// system roots (for a self-hosted service with a private CA).
	CAFiles []string `yaml:"ca_files"`
	// Resolve overrides where a host:port is dialled, like curl --resolve:
	// keys are host:port, values ip:port. TLS still verifies the key's host.
	Resolve               map[string]string `yaml:"resolve"`
	DialTimeout           Duration          `yaml:"dial_timeout"`            // default 10s
	IdleTimeout           Duration          `yaml:"idle_timeout"`            // default 90s
	ResponseHeaderTimeout Duration          `yaml:"response_header_timeout"` // default 60s
}

// ClientTimeoutsConfig bounds the connections from clients to the proxy.
type ClientTimeoutsConfig struct {
	ReadHeader Duration `yaml:"read_header"` // default 30s
	Idle       Duration `yaml:"idle"`        // default 120s
}

// LimitsConfig bounds the resources the proxy uses.
type LimitsConfig struct {
	// HashBuffer is the most body the proxy buffers to recompute a header
	// carrying a hash of the body. Default 64MiB.
	HashBuffer Size `yaml:"hash_buffer"`
	// BufferMemory is the memory all buffered uploads share: bodies held
	// for a hash header, chunks of resumable uploads and the output their
	// sessions keep. Beyond it a request waits up to BufferWait, then gets
	// 503 with Retry-After. Default 128MiB; at least twice HashBuffer.
	BufferMemory Size     `yaml:"buffer_memory"`
	BufferWait   Duration `yaml:"buffer_wait"` // default 10s
	// MaxSessions is the number of resumable upload sessions kept.
	// Default 256.
	MaxSessions int `yaml:"max_sessions"`
	// SessionTTL is how long an idle resumable upload session is kept.
	// Default 24h.
	SessionTTL Duration `yaml:"session_ttl"`
}

// CAConfig configures the interception CA.
type CAConfig struct {
	// NameConstraints restricts the CA to RuleDomains. Default true.
	NameConstraints bool `yaml:"name_constraints"`
}

// MetadataAction says what happens to one kind of photo metadata on an
// intercepted upload.
type MetadataAction string

// Metadata actions.
const (
	MetadataEncrypt MetadataAction = "encrypt"
	MetadataKeep    MetadataAction = "keep"
)

// MetadataConfig chooses, per kind of metadata, whether it is encrypted.
// Every switch defaults to encrypt.
type MetadataConfig struct {
	ExifThumbnail MetadataAction `yaml:"exif_thumbnail"`
	MPFImages     MetadataAction `yaml:"mpf_images"`
	GPS           MetadataAction `yaml:"gps"`
}

// PreviewsConfig governs the previews the proxy renders itself from the
// decrypted photo, for the rules with body api, and the cache that keeps
// them.
type PreviewsConfig struct {
	// UploadSizes are the longest sides, in pixels, rendered while a photo
	// is uploaded (the proxy holds the plaintext then), so that a grid
	// of thumbnails costs no download of the original. Default [250, 1440].
	UploadSizes []int `yaml:"upload_sizes"`
	// MemoryCache bounds the rendered previews kept in memory. Default
	// 64MiB.
	MemoryCache Size `yaml:"memory_cache"`
	// DiskCache bounds the previews kept in <state_dir>/previews,
	// encrypted under a key derived from the master key; 0 keeps none.
	DiskCache Size `yaml:"disk_cache"`
	// Quality is the JPEG quality of a rendered preview, 1 to 100.
	// Default 85.
	Quality int `yaml:"quality"`
}

// BodyKind says where the photo is in a matched request or response.
type BodyKind string

// Body kinds.
const (
	BodyRaw       BodyKind = "raw"       // the request body is the file
	BodyMultipart BodyKind = "multipart" // a form field (Rule.Field) of a multipart request is the file
	BodyResumable BodyKind = "resumable" // a resumable upload protocol (Rule.Resumable)
	BodyDownload  BodyKind = "download"  // the response body is the file
	// BodyAPI is the rest of a service's API (Rule.Service): previews of
	// the proxy's photos are rendered locally and checksums translated.
	BodyAPI BodyKind = "api"
)

// IsUpload reports whether the body kind carries a photo up to the service.
func (b BodyKind) IsUpload() bool {
	return b == BodyRaw || b == BodyMultipart || b == BodyResumable
}

// ResumableProtocol names a resumable upload protocol.
type ResumableProtocol string

// Resumable upload protocols.
const (
	// ResumableGoogle is Google's upload protocol (X-Goog-Upload-*): a
	// start request, chunks at offsets, finalize. The same endpoint also
	// accepts single-request uploads (X-Goog-Upload-Protocol: raw), which
	// the Google handler must treat as a one-chunk upload.
	ResumableGoogle ResumableProtocol = "google"
	// ResumableNextcloud is Nextcloud's chunked upload (v2): MKCOL an upload
	// directory, PUT chunks, MOVE the assembled file to its destination.
	ResumableNextcloud ResumableProtocol = "nextcloud"
)

// UnsupportedAction says what happens to an upload on an intercepted route
// whose body is not a JPEG the transform fully handles.
type UnsupportedAction string

// Unsupported-body actions.
const (
	UnsupportedBlock UnsupportedAction = "block" // refuse the request (default: fail closed)
	UnsupportedPass  UnsupportedAction = "pass"  // forward it unchanged
)

// UnsureAction says what happens to an upload whose direction neither the
// ledger nor the classifier can tell (FORMAT.md §34.3: an image too small
// or too flat, noise, or the ciphertext of a key not in the keyring).
type UnsureAction string

// Unsure-upload actions.
const (
	// UnsureEncrypt encrypts it with the current key (default): a
	// plaintext never goes up in clear; only a ciphertext of ours too small
	// to recognise, and unknown to the ledger, would be decrypted.
	UnsureEncrypt UnsureAction = "encrypt"
	// UnsureBlock refuses it: nothing goes up that the proxy cannot place.
	UnsureBlock UnsureAction = "block"
)

// Rule selects requests to intercept and says how their body carries the
// photo. After ParseConfig, Hosts are lower case, Methods upper case, and
// Methods, Paths and OnUnsupported hold their defaults.
type Rule struct {
	// Name identifies the rule in logs and errors; required and unique.
	Name string `yaml:"name"`
	// Hosts are exact host names or "*.suffix", which matches any
	// subdomain of suffix at any depth but not suffix itself. No ports.
	Hosts []string `yaml:"hosts"`
	// Methods default to POST and PUT for uploads, GET for downloads.
	Methods []string `yaml:"methods"`
	// Paths are patterns on the URL path (without query): "*" matches
	// within one segment, a "**" segment any number of segments; anything
	// else is literal. Default "/**".
	Paths []string `yaml:"paths"`
	Body  BodyKind `yaml:"body"`
	// Field is the multipart form field that carries the file; required
	// for, and only allowed with, Body multipart.
	Field string `yaml:"field"`
	// Resumable is the protocol; required for, and only allowed with, Body
	// resumable.
	Resumable ResumableProtocol `yaml:"resumable"`
	// OnUnsupported applies to upload rules only; default block.
	OnUnsupported UnsupportedAction `yaml:"on_unsupported"`
	// OnReencode applies to upload rules only; default refuse.
	OnReencode ReencodeAction `yaml:"on_reencode"`
	// OnUnsure applies to upload rules only; default (and empty, in a
	// rule built in code) encrypt.
	OnUnsure UnsureAction `yaml:"on_unsure"`
	// Service names the photo service whose protocol the rule's requests
	// speak (immich, google, nextcloud, icloud); required with body api.
	// On an upload rule it lets the proxy read the service's ID for the
	// photo from the answer and render its previews.
	Service string `yaml:"service"`
	// Previews, on a rule with body api or download that names its
	// service, says whether previews of the proxy's photos are rendered
	// locally (default true); checksums are translated either way.
	Previews *bool `yaml:"previews"`
}

// RendersPreviews reports whether the rule's previews are rendered
// locally.
func (r *Rule) RendersPreviews() bool {
	return (r.Body == BodyAPI || r.Body == BodyDownload) && r.Service != "" && (r.Previews == nil || *r.Previews)
}

// ReencodeAction says what happens to uploads on a rule whose service was
// seen to re-encode the photos jpegveil uploaded (by `jpegveil verify`),
// which loses them: a re-encoded ciphertext cannot be decrypted.
type ReencodeAction string

// Reencode actions.
const (
	ReencodeRefuse ReencodeAction = "refuse" // refuse uploads with why and how to fix the service (default)
	ReencodeAllow  ReencodeAction = "allow"  // upload anyway
)

const appName = "jpegveil"

// DefaultListen is the listen address of the default configuration.
const DefaultListen = "127.0.0.1:8080"

// defaultMethods returns the methods a rule with body b matches by default.
func defaultMethods(b BodyKind) []string {
	if b == BodyDownload {
		return []string{"GET"}
	}
	if b == BodyAPI {
		return []string{"GET", "POST", "PUT"}
	}
	return []string{"POST", "PUT"}
}

// builtin decodes the embedded config.example.yaml, whose active settings
// are the defaults: every default value is written there, documented, and
// nowhere in Go. It panics if the embedded file does not decode, which
// TestExampleConfigIsDefault rules out.
func builtin() *Config {
	c := &Config{}
	if _, err := decodeStrict(exampleConfig, c); err != nil {
		panic("config: the embedded example does not decode: " + err.Error())
	}
	return c
}

// DefaultRules returns the rules of the default configuration, those of
// config.example.yaml: Google Photos (Library API and web) and iCloud.
func DefaultRules() []Rule { return builtin().Rules }

// DefaultConfig returns the built-in configuration, config.example.yaml:
// loopback listen, the default state directory and DefaultRules, with every
// default filled in. It is not validated: call Validate (it fails, for
// example, when no home directory is known to place the state directory
// in).
func DefaultConfig() *Config {
	c := builtin()
	c.applyDefaults()
	return c
}

// applyDefaults fills in every unset field from the example configuration
// and normalizes case. It runs after decoding and before Validate; it never
// fails (Validate reports what could not be defaulted).
func (c *Config) applyDefaults() {
	d := builtin()
	if c.Listen == "" {
		c.Listen = d.Listen
	}
	if c.StateDir == "" {
		c.StateDir = defaultStateDir()
	}
	if c.KeyFile == "" && c.StateDir != "" {
		c.KeyFile = filepath.Join(c.StateDir, "key")
	}
	setString(&c.Log.Level, d.Log.Level)
	setString(&c.Log.Format, d.Log.Format)
	if c.Clients.Allow == nil && listenIsLoopback(c.Listen) {
		c.Clients.Allow = d.Clients.Allow
	}
	if c.Clients.ConnectPorts == nil {
		c.Clients.ConnectPorts = d.Clients.ConnectPorts
	}
	setDuration(&c.Upstream.DialTimeout, d.Upstream.DialTimeout.Duration)
	setDuration(&c.Upstream.IdleTimeout, d.Upstream.IdleTimeout.Duration)
	setDuration(&c.Upstream.ResponseHeaderTimeout, d.Upstream.ResponseHeaderTimeout.Duration)
	setDuration(&c.ClientTimeouts.ReadHeader, d.ClientTimeouts.ReadHeader.Duration)
	setDuration(&c.ClientTimeouts.Idle, d.ClientTimeouts.Idle.Duration)
	if c.Limits.HashBuffer == 0 {
		c.Limits.HashBuffer = d.Limits.HashBuffer
	}
	if c.Limits.BufferMemory == 0 {
		c.Limits.BufferMemory = d.Limits.BufferMemory
	}
	setDuration(&c.Limits.BufferWait, d.Limits.BufferWait.Duration)
	if c.Limits.MaxSessions == 0 {
		c.Limits.MaxSessions = d.Limits.MaxSessions
	}
	setDuration(&c.Limits.SessionTTL, d.Limits.SessionTTL.Duration)
	setString(&c.Metadata.ExifThumbnail, d.Metadata.ExifThumbnail)
	setString(&c.Metadata.MPFImages, d.Metadata.MPFImages)
	setString(&c.Metadata.GPS, d.Metadata.GPS)
	if c.Previews.UploadSizes == nil {
		c.Previews.UploadSizes = d.Previews.UploadSizes
	}
	if c.Previews.MemoryCache == 0 {
		c.Previews.MemoryCache = d.Previews.MemoryCache
	}
	if c.Previews.Quality == 0 {
		c.Previews.Quality = d.Previews.Quality
	}
	for i := range c.Rules {
		c.Rules[i].applyDefaults()
	}
}

// applyDefaults normalizes the case of hosts and methods and fills in the
// methods, paths, on_unsupported, on_reencode and on_unsure policies a
// rule leaves out.
func (r *Rule) applyDefaults() {
	for j, h := range r.Hosts {
		r.Hosts[j] = strings.ToLower(strings.TrimSpace(h))
	}
	if len(r.Methods) == 0 {
		r.Methods = defaultMethods(r.Body)
	}
	for j, m := range r.Methods {
		r.Methods[j] = strings.ToUpper(strings.TrimSpace(m))
	}
	if len(r.Paths) == 0 {
		r.Paths = []string{"/**"}
	}
	if r.OnUnsupported == "" && r.Body.IsUpload() {
		r.OnUnsupported = UnsupportedBlock
	}
	if r.OnReencode == "" && r.Body.IsUpload() {
		r.OnReencode = ReencodeRefuse
	}
	if r.OnUnsure == "" && r.Body.IsUpload() {
		r.OnUnsure = UnsureEncrypt
	}
}

func setString[S ~string](s *S, def S) {
	if *s == "" {
		*s = def
	}
}

func setDuration(d *Duration, def time.Duration) {
	if d.Duration == 0 {
		d.Duration = def
	}
}

// defaultStateDir is $XDG_DATA_HOME/jpegveil if XDG_DATA_HOME is an absolute
// path, else ~/.local/share/jpegveil, else "" (Validate then reports it).
func defaultStateDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, appName)
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "share", appName)
	}
	return ""
}

// resolvePaths makes the file paths of the config absolute: "~/" is
// expanded to the home directory and relative paths are resolved against
// baseDir (the config file's directory). Empty paths stay empty; when no
// home directory is known, "~" paths are left alone for Validate to report.
func (c *Config) resolvePaths(baseDir string) {
	c.StateDir = resolvePath(baseDir, c.StateDir)
	c.KeyFile = resolvePath(baseDir, c.KeyFile)
	if a := c.Clients.Auth; a != nil {
		a.PasswordFile = resolvePath(baseDir, a.PasswordFile)
	}
	for i, f := range c.Upstream.CAFiles {
		c.Upstream.CAFiles[i] = resolvePath(baseDir, f)
	}
}

func resolvePath(baseDir, p string) string {
	if p == "" {
		return ""
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return p
		}
		return filepath.Join(home, p[1:])
	}
	if filepath.IsAbs(p) || baseDir == "" || strings.HasPrefix(p, "~") {
		return filepath.Clean(p)
	}
	return filepath.Join(baseDir, p)
}

// loadSecrets reads the password file. It runs after Validate, which has
// already checked the file.
func (c *Config) loadSecrets() error {
	a := c.Clients.Auth
	if a == nil || a.PasswordFile == "" {
		return nil
	}
	pw, err := readPasswordFile(a.PasswordFile)
	if err != nil {
		return err
	}
	a.Password = pw
	return nil
}

// ClientAllowed reports whether a client at ip may use the proxy according
// to Clients.Allow. An empty allow-list admits every address (Validate only
// accepts that for a loopback listener or with authentication). Proxy
// authentication, if configured, is checked separately.
func (c *Config) ClientAllowed(ip net.IP) bool {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	return c.ClientAddrAllowed(addr)
}

// ClientAddrAllowed is ClientAllowed for a netip.Addr.
func (c *Config) ClientAddrAllowed(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	if len(c.Clients.Allow) == 0 {
		return true
	}
	addr = addr.Unmap().WithZone("")
	for _, n := range c.Clients.Allow {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// ConnectAllowed reports whether a client may open a tunnel to port: one of
// Clients.ConnectPorts or the port of an Upstream.Resolve key.
func (c *Config) ConnectAllowed(port string) bool {
	n, err := strconv.Atoi(port)
	if err != nil {
		return false
	}
	if slices.Contains(c.Clients.ConnectPorts, n) {
		return true
	}
	for k := range c.Upstream.Resolve {
		if _, p, err := net.SplitHostPort(k); err == nil && p == port {
			return true
		}
	}
	return false
}

// ResolveAddr returns the address to dial for hostport ("host:port") if
// Upstream.Resolve overrides it. Host names compare case-insensitively.
func (u *UpstreamConfig) ResolveAddr(hostport string) (string, bool) {
	for k, v := range u.Resolve {
		if strings.EqualFold(k, hostport) {
			return v, true
		}
	}
	return "", false
}

// CertPool returns the roots for verifying upstream TLS: the system roots
// plus every certificate in CAFiles.
func (u *UpstreamConfig) CertPool() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, f := range u.CAFiles {
		if err := appendPEMFile(pool, f); err != nil {
			return nil, err
		}
	}
	return pool, nil
}

func appendPEMFile(pool *x509.CertPool, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !pool.AppendCertsFromPEM(data) {
		return fmt.Errorf("%s: no PEM certificate found", path)
	}
	return nil
}
