package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// oneRule is the smallest valid rule set.
const oneRule = `
rules:
  - name: up
    hosts: [photos.example.org]
    body: raw
`

// isolateEnv points the default state directory at a temporary directory so
// that tests do not depend on the environment. It returns that state dir.
func isolateEnv(t *testing.T) string {
	t.Helper()
	xdg := t.TempDir()
	t.Setenv("XDG_DATA_HOME", xdg)
	return filepath.Join(xdg, "jpegveil")
}

func mustParse(t *testing.T, src, baseDir string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(src), baseDir)
	if err != nil {
		t.Fatalf("ParseConfig: %v\nconfig:\n%s", err, src)
	}
	return c
}

// problemsOf returns the field problems of a *DecodeError or
// *ValidationError, failing the test for any other error.
func problemsOf(t *testing.T, err error) []*FieldError {
	t.Helper()
	var de *DecodeError
	var ve *ValidationError
	switch {
	case errors.As(err, &de):
		return de.Problems
	case errors.As(err, &ve):
		return ve.Problems
	case err == nil:
		t.Fatalf("got no error")
	default:
		t.Fatalf("got %T %v, want *DecodeError or *ValidationError", err, err)
	}
	return nil
}

// findProblem returns the problem at path whose message contains substr.
func findProblem(problems []*FieldError, path, substr string) *FieldError {
	for _, p := range problems {
		if p.Path == path && strings.Contains(p.Err.Error(), substr) {
			return p
		}
	}
	return nil
}

func TestParseUnknownKey(t *testing.T) {
	isolateEnv(t)
	tests := []struct {
		name     string
		src      string
		wantLine int
		wantPath string
		wantKey  string
		wantHint string
	}{
		{"top level", "lissten: 127.0.0.1:8080\n" + oneRule, 1, "", `"lissten"`, `did you mean "listen"`},
		{"nested", "log:\n  level: info\n  formatt: json\n" + oneRule, 3, "log", `"formatt"`, `did you mean "format"`},
		{"in rule", "rules:\n  - name: up\n    hots: [a.example.org]\n    body: raw\n", 3, "rules[0]", `"hots"`, `did you mean "hosts"`},
		{"second rule", oneRule + "  - name: down\n    hosts: [a.example.org]\n    body: download\n    method: [GET]\n", 9, "rules[1]", `"method"`, `did you mean "methods"`},
		{"flow mapping", "log: {level: info, colour: true}\n" + oneRule, 1, "log", `"colour"`, ""},
		{"auth", "clients:\n  auth:\n    user: a\n    password: hunter2\n" + oneRule, 4, "clients.auth", `"password"`, ""},
		{"no hint for distant", "frobnicate: 1\n" + oneRule, 1, "", `"frobnicate"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.src), "")
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %v, want *DecodeError", err)
			}
			if !errors.Is(err, ErrUnknownKey) {
				t.Errorf("errors.Is(err, ErrUnknownKey) = false for %v", err)
			}
			if len(de.Problems) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(de.Problems), err)
			}
			p := de.Problems[0]
			if p.Line != tt.wantLine || p.Path != tt.wantPath {
				t.Errorf("got line %d path %q, want line %d path %q (%v)", p.Line, p.Path, tt.wantLine, tt.wantPath, p)
			}
			msg := err.Error()
			for _, want := range []string{fmt.Sprintf("line %d", tt.wantLine), tt.wantKey, tt.wantHint} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
			if tt.wantHint == "" && strings.Contains(msg, "did you mean") {
				t.Errorf("error %q suggests a key although none is close", msg)
			}
			if strings.Contains(msg, "config.") {
				t.Errorf("error %q leaks Go type names", msg)
			}
		})
	}
}

func TestParseUnknownKeysAllReported(t *testing.T) {
	isolateEnv(t)
	src := "aa: 1\nlog:\n  lvl: x\nrules:\n  - name: up\n    hosts: [a.example.org]\n    body: raw\n    fiel: x\n"
	_, err := ParseConfig([]byte(src), "")
	problems := problemsOf(t, err)
	if len(problems) != 3 {
		t.Fatalf("got %d problems, want 3: %v", len(problems), err)
	}
	for i, want := range []int{1, 3, 8} {
		if problems[i].Line != want {
			t.Errorf("problem %d at line %d, want %d", i, problems[i].Line, want)
		}
	}
}

func TestParseWrongTypes(t *testing.T) {
	isolateEnv(t)
	tests := []struct {
		name     string
		src      string
		wantLine int
		wantPath string
		wantMsg  string
	}{
		{"listen list", "listen: [a, b]\n" + oneRule, 1, "listen", "expected a string, got a list"},
		{"max_sessions string", "limits:\n  max_sessions: many\n" + oneRule, 2, "limits.max_sessions", "expected an integer, got string `many`"},
		{"hash_buffer unit", "limits:\n  hash_buffer: 64XB\n" + oneRule, 2, "limits.hash_buffer", `unknown unit "XB"`},
		{"hash_buffer negative", "limits:\n  hash_buffer: -5\n" + oneRule, 2, "limits.hash_buffer", "invalid size"},
		{"duration without unit", "upstream:\n  dial_timeout: 10\n" + oneRule, 2, "upstream.dial_timeout", "missing unit"},
		{"duration garbage", "client_timeouts: {idle: soon}\n" + oneRule, 1, "client_timeouts.idle", `invalid duration "soon"`},
		{"duration mapping", "limits:\n  session_ttl: {h: 1}\n" + oneRule, 2, "limits.session_ttl", "expected a duration"},
		{"bad network", "clients:\n  allow: [10.0.0.0/8, not-an-ip]\n" + oneRule, 2, "clients.allow[1]", `invalid network "not-an-ip"`},
		{"bad network block list", "clients:\n  allow:\n    - 10.0.0.0/8\n    - 10.0.0.0/33\n" + oneRule, 4, "clients.allow[1]", "invalid network"},
		{"section is a list", "limits:\n  - 1\n" + oneRule, 2, "limits", "expected a mapping, got a list"},
		{"rules is a mapping", "rules: {name: x}\n", 1, "rules", "expected a list, got a mapping"},
		{"rule is a string", "rules:\n  - up\n", 2, "rules[0]", "expected a mapping, got string `up`"},
		{"hosts is a mapping", "rules:\n  - name: up\n    hosts: {a: b}\n    body: raw\n", 3, "rules[0].hosts", "expected a list, got a mapping"},
		{"name_constraints not bool", "ca:\n  name_constraints: maybe\n" + oneRule, 2, "ca.name_constraints", "expected true or false"},
		{"resolve value list", "upstream:\n  resolve:\n    \"a.example.org:443\": [x]\n" + oneRule, 3, `upstream.resolve["a.example.org:443"]`, "expected a string"},
		{"duplicate key", "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n" + oneRule, 2, "listen", "already defined at line 1"},
		{"flow mapping list value", "log: {level: info, format: [x]}\n" + oneRule, 1, "log.format", "expected a string, got a list"},
		{"flow mapping scalar value", "limits: {hash_buffer: 1KB, max_sessions: abc}\n" + oneRule, 1, "limits.max_sessions", "expected an integer, got string `abc`"},
		{"flow list", "clients: {allow: [10.0.0.0/8, 10.0.0.0/99]}\n" + oneRule, 1, "clients.allow[1]", "invalid network"},
		{"document not a mapping", "just text\n", 1, "", "expected a mapping, got string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.src), "")
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %v, want *DecodeError", err)
			}
			p := findProblem(de.Problems, tt.wantPath, tt.wantMsg)
			if p == nil {
				t.Fatalf("no problem at %q containing %q in:\n%v", tt.wantPath, tt.wantMsg, err)
			}
			if p.Line != tt.wantLine {
				t.Errorf("problem %v at line %d, want %d", p, p.Line, tt.wantLine)
			}
			if strings.Contains(err.Error(), "config.") {
				t.Errorf("error %q leaks Go type names", err)
			}
		})
	}
}

func TestParseDocumentErrors(t *testing.T) {
	isolateEnv(t)
	tests := []struct {
		name     string
		src      string
		wantLine int
		wantMsg  string
	}{
		{"two documents", oneRule + "---\nlisten: 127.0.0.1:9\n", 7, "more than one YAML document"},
		{"empty second document", oneRule + "---\n", 0, "more than one YAML document"},
		// yaml.v3 reports parser errors (as opposed to scanner errors) one
		// line early, so the line of this one is not checked.
		{"syntax", "listen: 127.0.0.1:1\nrules:\n  - name: [unclosed\n", 0, "invalid YAML"},
		{"tab indentation", "log:\n\tlevel: info\n", 2, "invalid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.src), "")
			var de *DecodeError
			if !errors.As(err, &de) || len(de.Problems) != 1 {
				t.Fatalf("got %v, want a *DecodeError with one problem", err)
			}
			p := de.Problems[0]
			if !strings.Contains(p.Err.Error(), tt.wantMsg) {
				t.Errorf("got %v, want it to contain %q", p, tt.wantMsg)
			}
			if tt.wantLine != 0 && p.Line != tt.wantLine {
				t.Errorf("got line %d, want %d (%v)", p.Line, tt.wantLine, p)
			}
		})
	}
}

func TestParseEmptyDocumentNeedsRules(t *testing.T) {
	isolateEnv(t)
	for _, src := range []string{"", "# only a comment\n", "{}\n"} {
		_, err := ParseConfig([]byte(src), "")
		problems := problemsOf(t, err)
		if len(problems) != 1 || problems[0].Path != "rules" {
			t.Errorf("%q: got %v, want a single rules problem", src, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	stateDir := isolateEnv(t)
	c := mustParse(t, oneRule, "")
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, "127.0.0.1:8080"},
		{"state_dir", c.StateDir, stateDir},
		{"key_file", c.KeyFile, filepath.Join(stateDir, "key")},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "console"},
		{"clients.allow", fmt.Sprint(c.Clients.Allow), "[127.0.0.0/8 ::1/128]"},
		{"clients.auth", c.Clients.Auth == nil, true},
		{"upstream.dial_timeout", c.Upstream.DialTimeout.Duration, 10 * time.Second},
		{"upstream.idle_timeout", c.Upstream.IdleTimeout.Duration, 90 * time.Second},
		{"upstream.response_header_timeout", c.Upstream.ResponseHeaderTimeout.Duration, 60 * time.Second},
		{"client_timeouts.read_header", c.ClientTimeouts.ReadHeader.Duration, 30 * time.Second},
		{"client_timeouts.idle", c.ClientTimeouts.Idle.Duration, 120 * time.Second},
		{"limits.hash_buffer", c.Limits.HashBuffer, 64 * MiB},
		{"limits.max_sessions", c.Limits.MaxSessions, 256},
		{"limits.session_ttl", c.Limits.SessionTTL.Duration, 24 * time.Hour},
		{"ca.name_constraints", c.CA.NameConstraints, true},
		{"metadata.exif_thumbnail", c.Metadata.ExifThumbnail, MetadataEncrypt},
		{"metadata.mpf_images", c.Metadata.MPFImages, MetadataEncrypt},
		{"metadata.gps", c.Metadata.GPS, MetadataEncrypt},
		{"rules[0].methods", fmt.Sprint(c.Rules[0].Methods), "[POST PUT]"},
		{"rules[0].paths", fmt.Sprint(c.Rules[0].Paths), "[/**]"},
		{"rules[0].on_unsupported", c.Rules[0].OnUnsupported, UnsupportedBlock},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestDefaultsExplicitValuesKept(t *testing.T) {
	isolateEnv(t)
	c := mustParse(t, `
listen: 127.0.0.2:9000
ca: {name_constraints: false}
limits: {hash_buffer: 1KB, max_sessions: 3, session_ttl: 1m}
metadata: {gps: keep}
clients: {allow: []}
`+oneRule, "")
	if c.Listen != "127.0.0.2:9000" || c.CA.NameConstraints || c.Limits.HashBuffer != 1000 ||
		c.Limits.MaxSessions != 3 || c.Limits.SessionTTL.Duration != time.Minute || c.Metadata.GPS != MetadataKeep ||
		c.Metadata.ExifThumbnail != MetadataEncrypt {
		t.Errorf("explicit values not kept: %+v", c)
	}
	if len(c.Clients.Allow) != 0 {
		t.Errorf("explicit empty allow-list replaced by %v", c.Clients.Allow)
	}
}

func TestExplicitZeroRefused(t *testing.T) {
	isolateEnv(t)
	tests := []struct{ src, path, def string }{
		{"upstream:\n  dial_timeout: 0s\n", "upstream.dial_timeout", "10s"},
		{"client_timeouts: {idle: 0}\n", "client_timeouts.idle", "2m0s"},
		{"limits:\n  hash_buffer: 0\n", "limits.hash_buffer", "64MiB"},
		{"limits:\n  max_sessions: 0\n", "limits.max_sessions", "256"},
		{"limits:\n  session_ttl: 0h\n", "limits.session_ttl", "24h0m0s"},
	}
	for _, tt := range tests {
		_, err := ParseConfig([]byte(tt.src+oneRule), "")
		problems := problemsOf(t, err)
		if len(problems) != 1 || problems[0].Path != tt.path || problems[0].Line == 0 ||
			!strings.Contains(problems[0].Error(), "default ("+tt.def+")") {
			t.Errorf("%q: got %v, want one problem at %s naming the default %s", tt.src, err, tt.path, tt.def)
		}
	}
	// Null (key without value) means absent: the default applies.
	c := mustParse(t, "limits:\n  max_sessions:\n"+oneRule, "")
	if c.Limits.MaxSessions != 256 {
		t.Errorf("null max_sessions = %d, want the default", c.Limits.MaxSessions)
	}
}

func TestDefaultStateDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	tests := []struct {
		xdg, want string
	}{
		{"/data/xdg", "/data/xdg/jpegveil"},
		{"", filepath.Join(home, ".local", "share", "jpegveil")},
		{"relative/xdg", filepath.Join(home, ".local", "share", "jpegveil")}, // XDG requires absolute paths
	}
	for _, tt := range tests {
		t.Setenv("XDG_DATA_HOME", tt.xdg)
		if got := defaultStateDir(); got != tt.want {
			t.Errorf("XDG_DATA_HOME=%q: got %q, want %q", tt.xdg, got, tt.want)
		}
	}
}

func TestPathsResolvedAgainstBaseDir(t *testing.T) {
	isolateEnv(t)
	base := t.TempDir()
	home := t.TempDir()
	t.Setenv("HOME", home)
	c := mustParse(t, "state_dir: state\n"+oneRule, base)
	if want := filepath.Join(base, "state"); c.StateDir != want {
		t.Errorf("state_dir = %q, want %q", c.StateDir, want)
	}
	if want := filepath.Join(base, "state", "key"); c.KeyFile != want {
		t.Errorf("key_file = %q, want %q", c.KeyFile, want)
	}
	c = mustParse(t, "state_dir: /abs/state\nkey_file: ~/my.key\n"+oneRule, base)
	if c.StateDir != "/abs/state" || c.KeyFile != filepath.Join(home, "my.key") {
		t.Errorf("state_dir %q key_file %q", c.StateDir, c.KeyFile)
	}
}

// validConfig returns a valid Config to break one rule of in a test.
func validConfig(t *testing.T) *Config {
	t.Helper()
	isolateEnv(t)
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig does not validate: %v", err)
	}
	return c
}

// writePasswordFile writes a password file with the given mode.
func writePasswordFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(t *testing.T, c *Config)
		path    string
		msg     string
		wantErr error // optional sentinel
	}{
		{"listen not host:port", func(_ *testing.T, c *Config) { c.Listen = "8080" }, "listen", "must be host:port", nil},
		{"listen bad port", func(_ *testing.T, c *Config) { c.Listen = "127.0.0.1:http" }, "listen", "not a number", nil},
		{"listen bad host", func(_ *testing.T, c *Config) { c.Listen = "bad_host!:8080" }, "listen", "neither an IP address", nil},
		{"open proxy all interfaces", func(_ *testing.T, c *Config) { c.Listen, c.Clients.Allow = ":8080", nil }, "clients", "clients.allow", ErrOpenProxy},
		{"open proxy 0.0.0.0", func(_ *testing.T, c *Config) { c.Listen, c.Clients.Allow = "0.0.0.0:8080", nil }, "clients", "reachable from other machines", ErrOpenProxy},
		{"open proxy ::", func(_ *testing.T, c *Config) { c.Listen, c.Clients.Allow = "[::]:8080", []Network{} }, "clients", "clients.auth", ErrOpenProxy},
		{"open proxy LAN name", func(_ *testing.T, c *Config) { c.Listen, c.Clients.Allow = "myhost.lan:8080", nil }, "clients", "", ErrOpenProxy},
		{"allow everything", func(_ *testing.T, c *Config) {
			c.Listen, c.Clients.Allow = "0.0.0.0:8080", []Network{MustNetwork("10.0.0.0/8"), MustNetwork("0.0.0.0/0")}
		}, "clients.allow[1]", "admits every address", ErrOpenProxy},
		{"invalid network", func(_ *testing.T, c *Config) { c.Clients.Allow = []Network{{}} }, "clients.allow[0]", "not a valid network", nil},
		{"state_dir unknown", func(_ *testing.T, c *Config) { c.StateDir = "" }, "state_dir", "required", nil},
		{"key_file unexpanded", func(_ *testing.T, c *Config) { c.KeyFile = "~bob/key" }, "key_file", "cannot expand", nil},
		{"log level", func(_ *testing.T, c *Config) { c.Log.Level = "verbose" }, "log.level", `not "verbose"`, nil},
		{"log format", func(_ *testing.T, c *Config) { c.Log.Format = "xml" }, "log.format", `not "xml"`, nil},
		{"auth without user", func(t *testing.T, c *Config) {
			c.Clients.Auth = &AuthConfig{PasswordFile: writePasswordFile(t, "pw", 0o600)}
		}, "clients.auth.user", "required", nil},
		{"auth user with colon", func(t *testing.T, c *Config) {
			c.Clients.Auth = &AuthConfig{User: "a:b", PasswordFile: writePasswordFile(t, "pw", 0o600)}
		}, "clients.auth.user", "':'", nil},
		{"auth without password file", func(_ *testing.T, c *Config) { c.Clients.Auth = &AuthConfig{User: "alice"} }, "clients.auth.password_file", "required", nil},
		{"auth password file missing", func(t *testing.T, c *Config) {
			c.Clients.Auth = &AuthConfig{User: "alice", PasswordFile: filepath.Join(t.TempDir(), "nope")}
		}, "clients.auth.password_file", "no such file", os.ErrNotExist},
		{"auth password file world readable", func(t *testing.T, c *Config) {
			c.Clients.Auth = &AuthConfig{User: "alice", PasswordFile: writePasswordFile(t, "pw", 0o644)}
		}, "clients.auth.password_file", "chmod 600", ErrInsecurePermissions},
		{"auth password file group readable", func(t *testing.T, c *Config) {
			c.Clients.Auth = &AuthConfig{User: "alice", PasswordFile: writePasswordFile(t, "pw", 0o640)}
		}, "clients.auth.password_file", "0640", ErrInsecurePermissions},
		{"auth password file empty", func(t *testing.T, c *Config) {
			c.Clients.Auth = &AuthConfig{User: "alice", PasswordFile: writePasswordFile(t, "\n", 0o600)}
		}, "clients.auth.password_file", "is empty", nil},
		{"auth password file is a directory", func(t *testing.T, c *Config) {
			c.Clients.Auth = &AuthConfig{User: "alice", PasswordFile: t.TempDir()}
		}, "clients.auth.password_file", "not a regular file", nil},
		{"ca file missing", func(t *testing.T, c *Config) {
			c.Upstream.CAFiles = []string{filepath.Join(t.TempDir(), "nope.pem")}
		}, "upstream.ca_files[0]", "no such file", nil},
		{"ca file not PEM", func(t *testing.T, c *Config) {
			p := filepath.Join(t.TempDir(), "ca.pem")
			if err := os.WriteFile(p, []byte("not pem"), 0o644); err != nil {
				t.Fatal(err)
			}
			c.Upstream.CAFiles = []string{p}
		}, "upstream.ca_files[0]", "no PEM certificate", nil},
		{"resolve key without port", func(_ *testing.T, c *Config) { c.Upstream.Resolve = map[string]string{"a.example.org": "127.0.0.1:1"} }, `upstream.resolve["a.example.org"]`, "key must be host:port", nil},
		{"resolve key bad port", func(_ *testing.T, c *Config) {
			c.Upstream.Resolve = map[string]string{"a.example.org:0": "127.0.0.1:1"}
		}, `upstream.resolve["a.example.org:0"]`, "port number", nil},
		{"resolve value not IP", func(_ *testing.T, c *Config) {
			c.Upstream.Resolve = map[string]string{"a.example.org:443": "b.example.org:443"}
		}, `upstream.resolve["a.example.org:443"]`, "not an IP address", nil},
		{"resolve value without port", func(_ *testing.T, c *Config) {
			c.Upstream.Resolve = map[string]string{"a.example.org:443": "127.0.0.1"}
		}, `upstream.resolve["a.example.org:443"]`, "ip:port", nil},
		{"resolve duplicate by case", func(_ *testing.T, c *Config) {
			c.Upstream.Resolve = map[string]string{"A.example.org:443": "127.0.0.1:1", "a.example.org:443": "127.0.0.1:2"}
		}, `upstream.resolve["a.example.org:443"]`, "same host:port", nil},
		{"timeout zero", func(_ *testing.T, c *Config) { c.Upstream.DialTimeout.Duration = 0 }, "upstream.dial_timeout", "positive", nil},
		{"timeout negative", func(_ *testing.T, c *Config) { c.ClientTimeouts.Idle.Duration = -time.Second }, "client_timeouts.idle", "positive", nil},
		{"hash_buffer", func(_ *testing.T, c *Config) { c.Limits.HashBuffer = -1 }, "limits.hash_buffer", "positive", nil},
		{"max_sessions", func(_ *testing.T, c *Config) { c.Limits.MaxSessions = 0 }, "limits.max_sessions", "positive", nil},
		{"session_ttl", func(_ *testing.T, c *Config) { c.Limits.SessionTTL.Duration = 0 }, "limits.session_ttl", "positive", nil},
		{"metadata", func(_ *testing.T, c *Config) { c.Metadata.GPS = "strip" }, "metadata.gps", "encrypt or keep", nil},
		{"no rules", func(_ *testing.T, c *Config) { c.Rules = nil }, "rules", "at least one rule", nil},
		{"rule without name", func(_ *testing.T, c *Config) { c.Rules[1].Name = "" }, "rules[1].name", "required", nil},
		{"duplicate rule name", func(_ *testing.T, c *Config) { c.Rules[3].Name = c.Rules[0].Name }, "rules[3].name", "also rules[0]", nil},
		{"rule without hosts", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = nil }, "rules[0].hosts", "at least one host", nil},
		{"host bare star", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = []string{"*"} }, "rules[0].hosts[0]", "bare *", nil},
		{"host wildcard in the middle", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = []string{"a.*.example.org"} }, "rules[0].hosts[0]", "whole first label", nil},
		{"host partial wildcard label", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = []string{"*foo.example.org"} }, "rules[0].hosts[0]", "whole first label", nil},
		{"host double wildcard", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = []string{"*.*.example.org"} }, "rules[0].hosts[0]", "whole first label", nil},
		{"host with port", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = []string{"a.example.org:443"} }, "rules[0].hosts[0]", "without a port", nil},
		{"host IP", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = []string{"192.168.1.2"} }, "rules[0].hosts[0]", "IP addresses", nil},
		{"host underscore", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = []string{"a_b.example.org"} }, "rules[0].hosts[0]", "only letters", nil},
		{"host trailing dot", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = []string{"a.example.org."} }, "rules[0].hosts[0]", "empty label", nil},
		{"host hyphen", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = []string{"-a.example.org"} }, "rules[0].hosts[0]", "hyphen", nil},
		{"host wildcard TLD", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = []string{"*.com"} }, "rules[0].hosts[0]", "top-level domain", nil},
		{"host empty", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = []string{""} }, "rules[0].hosts[0]", "empty host", nil},
		{"method not a token", func(_ *testing.T, c *Config) { c.Rules[0].Methods = []string{"POST", "GE T"} }, "rules[0].methods[1]", "not an HTTP method", nil},
		{"method empty", func(_ *testing.T, c *Config) { c.Rules[0].Methods = []string{""} }, "rules[0].methods[0]", "not an HTTP method", nil},
		{"path without slash", func(_ *testing.T, c *Config) { c.Rules[0].Paths = []string{"v1/uploads"} }, "rules[0].paths[0]", "must start with /", nil},
		{"path with query", func(_ *testing.T, c *Config) { c.Rules[0].Paths = []string{"/v1/uploads?x=1"} }, "rules[0].paths[0]", "without query", nil},
		{"path partial double star", func(_ *testing.T, c *Config) { c.Rules[0].Paths = []string{"/v1/up**"} }, "rules[0].paths[0]", "whole path segment", nil},
		{"body missing", func(_ *testing.T, c *Config) { c.Rules[3].Body = "" }, "rules[3].body", "required", nil},
		{"body unknown", func(_ *testing.T, c *Config) { c.Rules[3].Body = "form" }, "rules[3].body", `not "form"`, nil},
		{"multipart without field", func(_ *testing.T, c *Config) { c.Rules[3].Body = BodyMultipart }, "rules[3].field", "required with body multipart", nil},
		{"field without multipart", func(_ *testing.T, c *Config) { c.Rules[3].Field = "file" }, "rules[3].field", "only allowed with body multipart", nil},
		{"resumable without protocol", func(_ *testing.T, c *Config) { c.Rules[0].Resumable = "" }, "rules[0].resumable", "required with body resumable", nil},
		{"resumable unknown protocol", func(_ *testing.T, c *Config) { c.Rules[0].Resumable = "tus" }, "rules[0].resumable", `not "tus"`, nil},
		{"resumable on raw rule", func(_ *testing.T, c *Config) { c.Rules[3].Resumable = ResumableGoogle }, "rules[3].resumable", "only allowed with body resumable", nil},
		{"on_unsupported unknown", func(_ *testing.T, c *Config) { c.Rules[0].OnUnsupported = "warn" }, "rules[0].on_unsupported", "block or pass", nil},
		{"on_unsupported on download", func(_ *testing.T, c *Config) { c.Rules[2].OnUnsupported = UnsupportedPass }, "rules[2].on_unsupported", "only applies to upload rules", nil},
		{"unreachable rule", func(_ *testing.T, c *Config) {
			r := c.Rules[0]
			r.Name = "copy"
			c.Rules = append(c.Rules, r)
		}, "rules[5]", "unreachable: rules[0] (google-photos-library-upload)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.mutate(t, c)
			err := c.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want *ValidationError", err)
			}
			if len(ve.Problems) != 1 {
				t.Errorf("got %d problems, want 1: %v", len(ve.Problems), err)
			}
			p := findProblem(ve.Problems, tt.path, tt.msg)
			if p == nil {
				t.Fatalf("no problem at %q containing %q in: %v", tt.path, tt.msg, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(err, %v) = false for %v", tt.wantErr, err)
			}
			if !strings.Contains(err.Error(), tt.path+": ") {
				t.Errorf("error %q does not name the field path %q", err, tt.path)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(t *testing.T, c *Config)
	}{
		{"LAN listen with allow-list", func(_ *testing.T, c *Config) {
			c.Listen, c.Clients.Allow = "0.0.0.0:8080", []Network{MustNetwork("192.168.1.0/24")}
		}},
		{"LAN listen with auth", func(t *testing.T, c *Config) {
			c.Listen, c.Clients.Allow = "[::]:8080", nil
			c.Clients.Auth = &AuthConfig{User: "alice", PasswordFile: writePasswordFile(t, "pw\n", 0o600)}
		}},
		{"auth allows /0", func(t *testing.T, c *Config) {
			c.Listen, c.Clients.Allow = ":8080", []Network{MustNetwork("0.0.0.0/0")}
			c.Clients.Auth = &AuthConfig{User: "alice", PasswordFile: writePasswordFile(t, "pw\n", 0o400)}
		}},
		{"localhost listen", func(_ *testing.T, c *Config) { c.Listen, c.Clients.Allow = "localhost:0", nil }},
		{"IPv6 loopback listen", func(_ *testing.T, c *Config) { c.Listen, c.Clients.Allow = "[::1]:8080", nil }},
		{"resolve", func(_ *testing.T, c *Config) {
			c.Upstream.Resolve = map[string]string{"photos.example.org:443": "127.0.0.1:8443", "b.example.org:8443": "[::1]:443"}
		}},
		{"multipart", func(_ *testing.T, c *Config) { c.Rules[3].Body, c.Rules[3].Field = BodyMultipart, "assetData" }},
		{"single-label host", func(_ *testing.T, c *Config) { c.Rules[0].Hosts = []string{"nas"} }},
		{"more specific rule first", func(_ *testing.T, c *Config) {
			c.Rules = append([]Rule{{Name: "narrow", Hosts: []string{"p1.icloud-content.com"}, Methods: []string{"POST"}, Paths: []string{"/x"}, Body: BodyRaw, OnUnsupported: UnsupportedPass}}, c.Rules...)
		}},
		{"same host different paths", func(_ *testing.T, c *Config) {
			r := c.Rules[0]
			r.Name, r.Paths = "other", []string{"/v2/uploads"}
			c.Rules = append(c.Rules, r)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.mutate(t, c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidateCollectsAllProblems(t *testing.T) {
	c := validConfig(t)
	c.Log.Level = "loud"
	c.Limits.MaxSessions = -1
	c.Rules[0].Hosts = []string{"*"}
	c.Rules[2].Body = "stream"
	err := c.Validate()
	problems := problemsOf(t, err)
	want := []string{"log.level", "limits.max_sessions", "rules[0].hosts[0]", "rules[2].body"}
	if len(problems) != len(want) {
		t.Fatalf("got %d problems, want %d: %v", len(problems), len(want), err)
	}
	for i, p := range problems {
		if p.Path != want[i] {
			t.Errorf("problem %d at %q, want %q", i, p.Path, want[i])
		}
	}
	if !strings.Contains(err.Error(), "4 problems") {
		t.Errorf("error %q does not count the problems", err)
	}
}

func TestValidationErrorHasLines(t *testing.T) {
	isolateEnv(t)
	src := `listen: 127.0.0.1:8080
log:
  level: loud
rules:
  - name: up
    hosts: [photos.example.org]
    body: multipart
  - name: down
    hosts:
      - photos.example.org
      - "*"
    body: download
`
	_, err := ParseConfig([]byte(src), "")
	problems := problemsOf(t, err)
	want := map[string]int{"log.level": 3, "rules[0].field": 5, "rules[1].hosts[1]": 11}
	if len(problems) != len(want) {
		t.Fatalf("got %v, want %d problems", err, len(want))
	}
	for _, p := range problems {
		if p.Line != want[p.Path] {
			t.Errorf("%s at line %d, want %d", p.Path, p.Line, want[p.Path])
		}
	}
}

func TestLoadConfigNamesFile(t *testing.T) {
	isolateEnv(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "jpegveil.yaml")
	if err := os.WriteFile(path, []byte("log: {level: loud}\n"+oneRule), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.File != path {
		t.Fatalf("got %v, want a *ValidationError for %s", err, path)
	}
	if want := "invalid config " + path + ": line 1: log.level: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %q, want prefix %q", err, want)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
}

func TestPasswordFile(t *testing.T) {
	tests := []struct {
		content string
		want    string
	}{
		{"hunter2", "hunter2"},
		{"hunter2\n", "hunter2"},
		{"hunter2\r\n", "hunter2"},
		{"hunter2\n\n", "hunter2\n"}, // only one newline is trimmed
		{" spaced \n", " spaced "},
	}
	for _, tt := range tests {
		isolateEnv(t)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "pw"), []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		src := "listen: 0.0.0.0:8080\nclients:\n  auth: {user: alice, password_file: pw}\n" + oneRule
		c := mustParse(t, src, dir) // relative password_file resolved against the config dir
		if got := c.Clients.Auth.Password.Reveal(); got != tt.want {
			t.Errorf("content %q: password %q, want %q", tt.content, got, tt.want)
		}
		if len(c.Clients.Allow) != 0 {
			t.Errorf("non-loopback listen got a default allow-list %v", c.Clients.Allow)
		}
	}
}

func TestPasswordFileTooLarge(t *testing.T) {
	p := writePasswordFile(t, strings.Repeat("x", maxPasswordFile+1), 0o600)
	if _, err := readPasswordFile(p); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("got %v, want a too-large error", err)
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	const pw = "hunter2-secret"
	isolateEnv(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, "clients:\n  auth: {user: alice, password_file: pw}\n"+oneRule, dir)
	if c.Clients.Auth.Password.Reveal() != pw {
		t.Fatalf("password not loaded")
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&zbuf), zap.DebugLevel))
	log.Info("config", zap.Any("config", c), zap.Any("auth", c.Clients.Auth), zap.Stringer("pw", c.Clients.Auth.Password), zap.Any("secret", c.Clients.Auth.Password))
	outputs := map[string]string{
		"%v":       fmt.Sprintf("%v", c.Clients.Auth.Password),
		"%s":       fmt.Sprintf("%s", c.Clients.Auth.Password),
		"%q":       fmt.Sprintf("%q", c.Clients.Auth.Password),
		"%x":       fmt.Sprintf("%x", c.Clients.Auth.Password),
		"%d":       fmt.Sprintf("%d", c.Clients.Auth.Password),
		"%#v":      fmt.Sprintf("%#v", c.Clients.Auth.Password),
		"%+v cfg":  fmt.Sprintf("%+v", *c.Clients.Auth),
		"%#v cfg":  fmt.Sprintf("%#v", *c.Clients.Auth),
		"String()": c.Clients.Auth.Password.String(),
		"json":     string(js),
		"zap":      zbuf.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, pw) || strings.Contains(out, fmt.Sprintf("%x", pw)) {
			t.Errorf("%s leaks the password: %s", name, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s does not show [redacted]: %s", name, out)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    Size
		wantErr bool
	}{
		{"0", 0, false},
		{"1048576", 1 << 20, false},
		{"64MiB", 64 << 20, false},
		{"64mib", 64 << 20, false},
		{"512KiB", 512 << 10, false},
		{"512 KiB", 512 << 10, false},
		{"1GB", 1e9, false},
		{"1gb", 1e9, false},
		{"2GiB", 2 << 30, false},
		{"3TB", 3e12, false},
		{"1TiB", 1 << 40, false},
		{"10B", 10, false},
		{"7KB", 7000, false},
		{"5MB", 5e6, false},
		{" 42 ", 42, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"1.5GiB", 0, true},
		{"-1", 0, true},
		{"64M", 0, true},
		{"64 XB", 0, true},
		{"9223372036854775807", 9223372036854775807, false},
		{"9223372036854775808", 0, true},
		{"9000000TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		in   Size
		want string
	}{
		{0, "0B"},
		{64 * MiB, "64MiB"},
		{3 * KiB, "3KiB"},
		{1536, "1536B"},
		{1e9, "1GB"},
		{1000, "1KB"},
		{1001, "1001B"},
		{GiB, "1GiB"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
		if back, err := ParseSize(tt.in.String()); err != nil || back != tt.in {
			t.Errorf("ParseSize(%q) = %d, %v; want round trip to %d", tt.in.String(), back, err, int64(tt.in))
		}
	}
}

func TestDurationYAML(t *testing.T) {
	isolateEnv(t)
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"10s", 10 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{"24h", 24 * time.Hour, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"\"2m\"", 2 * time.Minute, ""},
		{"10", 0, "missing unit"},
		{"1d", 0, "invalid duration"},
		{"fast", 0, "invalid duration"},
		{"[1s]", 0, "expected a duration"},
	}
	for _, tt := range tests {
		c, err := ParseConfig([]byte("upstream:\n  dial_timeout: "+tt.in+"\n"+oneRule), "")
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "upstream.dial_timeout") {
				t.Errorf("%s: got %v, want error containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if c.Upstream.DialTimeout.Duration != tt.want {
			t.Errorf("%s: got %v, want %v", tt.in, c.Upstream.DialTimeout.Duration, tt.want)
		}
	}
}

func TestParseNetwork(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"127.0.0.0/8", "127.0.0.0/8", false},
		{"10.1.2.3/8", "10.0.0.0/8", false}, // host bits cleared
		{"192.168.1.7", "192.168.1.7/32", false},
		{"::1", "::1/128", false},
		{"fd00::/8", "fd00::/8", false},
		{"fe80::1%eth0", "", true},
		{"10.0.0.0/33", "", true},
		{"example.org", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := ParseNetwork(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseNetwork(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got.String() != tt.want {
			t.Errorf("ParseNetwork(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
