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
		{"connect port", func(_ *testing.T, c *Config) { c.Clients.ConnectPorts = []int{443, 0} }, "clients.connect_ports[1]", "port number", nil},
		{"buffer_memory", func(_ *testing.T, c *Config) { c.Limits.BufferMemory = c.Limits.HashBuffer }, "limits.buffer_memory", "twice limits.hash_buffer", nil},
		{"buffer_wait", func(_ *testing.T, c *Config) { c.Limits.BufferWait.Duration = 0 }, "limits.buffer_wait", "positive", nil},
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
		{"on_reencode unknown", func(_ *testing.T, c *Config) { c.Rules[0].OnReencode = "warn" }, "rules[0].on_reencode", "refuse or allow", nil},
		{"on_reencode on download", func(_ *testing.T, c *Config) { c.Rules[2].OnReencode = ReencodeAllow }, "rules[2].on_reencode", "only applies to upload rules", nil},
		{"on_unsure unknown", func(_ *testing.T, c *Config) { c.Rules[0].OnUnsure = "pass" }, "rules[0].on_unsure", "encrypt or block", nil},
		{"on_unsure on download", func(_ *testing.T, c *Config) { c.Rules[2].OnUnsure = UnsureBlock }, "rules[2].on_unsure", "only applies to upload rules", nil},
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

func TestRuleServiceAndPreviews(t *testing.T) {
	tests := []struct {
		name, rule, want string
	}{
		{"api needs a service", "{name: a, hosts: [x.example.org], body: api}", "rules[0].service: required with body api"},
		{"unknown service", "{name: a, hosts: [x.example.org], body: api, service: flickr}", "rules[0].service: must be one of"},
		{"previews only with a service", "{name: a, hosts: [x.example.org], body: download, previews: false}", "rules[0].previews: only allowed with body api or download, with service"},
		{"previews not on uploads", "{name: a, hosts: [x.example.org], body: raw, service: icloud, previews: false}", "rules[0].previews: only allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			isolateEnv(t)
			_, err := ParseConfig([]byte("state_dir: /tmp/s\nrules:\n  - "+tc.rule+"\n"), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	isolateEnv(t)
	c, err := ParseConfig([]byte("state_dir: /tmp/s\npreviews: {upload_sizes: [8]}\nrules: []\n"), "")
	if err == nil || !strings.Contains(err.Error(), "previews.upload_sizes[0]") {
		t.Fatalf("upload size 8: got %v, %v", c, err)
	}
}
