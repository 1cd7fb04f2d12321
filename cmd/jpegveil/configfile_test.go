package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"jpegveil/internal/proxytest"
)

func TestConfigSearchOrder(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	xdg := filepath.Join(home, ".config", "jpegveil", "config.yaml")
	flagFile := filepath.Join(dir, "flag.yaml")
	envFile := filepath.Join(dir, "env.yaml")
	for _, f := range []string{xdg, flagFile, envFile} {
		os.MkdirAll(filepath.Dir(f), 0o700)
		os.WriteFile(f, []byte("state_dir: "+filepath.Join(dir, "state")+"\nrules:\n"+ownRule), 0o600)
	}
	env := func(vars map[string]string) *app {
		return &app{getenv: func(k string) string { return vars[k] }}
	}
	tests := []struct {
		name, flag string
		vars       map[string]string
		want       string // file; "" is the built-in configuration
	}{
		{"flag first", flagFile, map[string]string{"JPEGVEIL_CONFIG": envFile, "HOME": home}, flagFile},
		{"then the variable", "", map[string]string{"JPEGVEIL_CONFIG": envFile, "HOME": home}, envFile},
		{"then the XDG path init writes", "", map[string]string{"HOME": home}, xdg},
		{"XDG_CONFIG_HOME moves it", "", map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(dir, "none")}, ""},
		{"else built in", "", map[string]string{"HOME": filepath.Join(dir, "empty")}, ""},
	}
	for _, tc := range tests {
		cfg, src, err := env(tc.vars).loadConfig(tc.flag)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if src.Path != tc.want || cfg.Source != tc.want && tc.want != "" {
			t.Errorf("%s: loaded %q (%s), want %q", tc.name, src.Path, src, tc.want)
		}
	}
	// A file named by the flag or the variable must exist, and the error
	// names it.
	missing := filepath.Join(dir, "missing.yaml")
	for _, a := range []*app{env(map[string]string{"JPEGVEIL_CONFIG": missing}), env(nil)} {
		flag := ""
		if a.getenv("JPEGVEIL_CONFIG") == "" {
			flag = missing
		}
		if _, _, err := a.loadConfig(flag); err == nil || !strings.Contains(message(err), missing) {
			t.Errorf("missing config: %v", err)
		}
	}
}

func TestCACommands(t *testing.T) {
	in := newInstallation(t, googleRule)
	ca := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := run(append([]string{"ca", "--config", in.cfgFile}, args...), &app{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
		return out.String() + errb.String(), code
	}
	if out, code := ca("show"); code != 0 || !strings.Contains(out, "No CA") {
		t.Fatalf("show before any CA: %d %s", code, out)
	}
	_, _, stop := in.start()
	stop()
	if out, code := ca("show"); code != 0 || !strings.Contains(out, "install: issues for photos.google.com, *.icloud-content.com") {
		t.Fatalf("show: %d %s", code, out)
	}
	if out, code := ca("add", "photos.google.com"); code != 0 || !strings.Contains(out, "Already covered") {
		t.Fatalf("add of a covered domain: %d %s", code, out)
	}
	if out, code := ca("add", "immich.example.org"); code != 0 || !strings.Contains(out, "Created CA generation 2") {
		t.Fatalf("add: %d %s", code, out)
	}
	if out, code := ca("rotate"); code != 0 || !strings.Contains(out, "Created CA generation 3") {
		t.Fatalf("rotate: %d %s", code, out)
	}
	if out, code := ca("retire", "1"); code != 0 || !strings.Contains(out, "retired-ca.pem") {
		t.Fatalf("retire 1: %d %s", code, out)
	}
	if out, code := ca("show"); code != 0 || !strings.Contains(out, "3  ") || !strings.Contains(out, "install: issues for photos.google.com") {
		t.Fatalf("after retiring 1, generation 3 should issue for the Google host: %s", out)
	}
	if out, code := ca("retire", "x"); code != 2 {
		t.Fatalf("retire x: %d %s", code, out)
	}
}

// The start-up lines name addresses a device can use (never [::]) and a
// curl example on a host of the loaded rules. The machine's network
// addresses are stand-ins (documentation prefixes); serve listens on
// loopback only.
func TestBannerNamesUsableAddressesAndRuleHost(t *testing.T) {
	tests := []struct {
		name, listen string
		machine      func() ([]net.Addr, error)
		want         string // with PORT for the port
	}{
		{"wildcard", "0.0.0.0:0", proxytest.InterfaceAddrs("127.0.0.1/8", "::1/128", "fe80::1/64", "192.0.2.10/24", "2001:db8::10/64"),
			"jpegveil proxy on http://192.0.2.10:PORT (key ID %s)\n  Devices enter as proxy: 192.0.2.10:PORT, [2001:db8::10]:PORT\n  Set-up page: http://192.0.2.10:PORT/ "},
		{"wildcard on a machine with loopback only", "0.0.0.0:0", proxytest.InterfaceAddrs("127.0.0.1/8", "::1/128"),
			"jpegveil proxy on http://127.0.0.1:PORT (key ID %s)\n  This machine has no network address besides loopback"},
		{"loopback", "127.0.0.1:0", proxytest.InterfaceAddrs("127.0.0.1/8", "192.0.2.10/24"),
			"jpegveil proxy on http://127.0.0.1:PORT (key ID %s)\n  Only this machine can use it (listen: 127.0.0.1:0)."},
	}
	for _, tc := range tests {
		in := newInstallation(t, immichRule)
		in.interfaceAddrs = tc.machine
		conf, _ := os.ReadFile(in.cfgFile)
		os.WriteFile(in.cfgFile, []byte(strings.Replace(string(conf), "listen: 127.0.0.1:0", "listen: "+tc.listen+"\nclients: {allow: [127.0.0.0/8]}", 1)), 0o600)
		_, out, stop := in.start()
		stop()
		if strings.Contains(out, "[::]") || strings.Contains(out, "http://0.0.0.0") {
			t.Fatalf("%s: the banner shows an unspecified address:\n%s", tc.name, out)
		}
		port := regexp.MustCompile(`Try: curl -x http://127\.0\.0\.1:(\d+) `).FindStringSubmatch(out)
		id := regexp.MustCompile(`\(key ID (\w+)\)`).FindStringSubmatch(out)
		if port == nil || id == nil {
			t.Fatalf("%s: no curl example on this machine's loopback address, or no key ID:\n%s", tc.name, out)
		}
		if want := fmt.Sprintf(strings.ReplaceAll(tc.want, "PORT", port[1]), id[1]); !strings.Contains(out, want) {
			t.Fatalf("%s: the banner does not say\n%s\n in:\n%s", tc.name, want, out)
		}
		if !regexp.MustCompile(`(?m)^  Try: curl -x http://\S+ --cacert \S+ https://immich\.example\.org/$`).MatchString(out) {
			t.Fatalf("%s: the curl example does not name the rule host:\n%s", tc.name, out)
		}
		if !strings.Contains(out, "config: "+in.cfgFile+" (from --config)") {
			t.Fatalf("%s: the banner does not say which config it loaded:\n%s", tc.name, out)
		}
	}
}

// serve, without --config, loads the configuration init wrote.
func TestServeLoadsWhatInitWrote(t *testing.T) {
	home := t.TempDir()
	env := func(k string) string { return map[string]string{"HOME": home}[k] }
	var out, errb bytes.Buffer
	if code := run([]string{"init", "--state-dir", filepath.Join(home, "state")}, &app{stdout: &out, stderr: &errb, getenv: env}); code != 0 {
		t.Fatalf("init: %d %s", code, errb.String())
	}
	written := filepath.Join(home, ".config", "jpegveil", "config.yaml")
	if !strings.Contains(out.String(), "Next: jpegveil serve\n") {
		t.Fatalf("init does not say that plain serve will do:\n%s", out.String())
	}
	_, src, err := (&app{getenv: env}).loadConfig("")
	if err != nil || src.Path != written || src.Origin != "the XDG config path" {
		t.Fatalf("serve would load %v (%v), want %s", src, err, written)
	}
}
