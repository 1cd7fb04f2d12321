package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"jpegveil/config"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInitThenServe runs `init`, then `serve` with the configuration it
// wrote (on an ephemeral port), fetches the onboarding page and stops it.
func TestInitThenServe(t *testing.T) {
	cfgFile := initForServe(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"serve", "--config", cfgFile}, &app{ctx: ctx, stdout: io.Discard, stderr: stderr, stdin: strings.NewReader(""), getenv: func(string) string { return "" }})
	}()
	m := waitServeAddr(t, stderr, done)
	resp, err := http.Get("http://" + m[1] + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), m[2]) {
		t.Fatalf("onboarding page: %s without the key ID", resp.Status)
	}
	// Until a backup is made, serve's start and the page say so, once.
	const notice = "No backup of your key has been made yet"
	if strings.Count(stderr.String(), notice+" (key ID "+m[2]+")") != 1 || strings.Count(string(page), notice) != 1 {
		t.Fatalf("serve's start or the page does not say once that no backup was made:\n%s", stderr.String())
	}
	if code, _, errs := runCLI(t, "", "key", "backup", "--config", cfgFile, "--qr-dir", t.TempDir()); code != 0 {
		t.Fatalf("key backup: %s", errs)
	}
	resp, err = http.Get("http://" + m[1] + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), notice) {
		t.Error("the page still says no backup was made after one was")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited with %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// initForServe runs `jpegveil init` in a fresh directory, checks what it
// creates and that a second init does not overwrite the configuration, and
// sets the configuration to listen on a free loopback port. It returns the
// configuration file.
func initForServe(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "conf", "config.yaml")
	stateDir := filepath.Join(dir, "state")
	var out, errb bytes.Buffer
	if code := run([]string{"init", "--config", cfgFile, "--state-dir", stateDir}, &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errb.String())
	}
	for _, f := range []string{"key", "ca.pem", "ca-key.pem", "ledger.db"} {
		if _, err := os.Stat(filepath.Join(stateDir, f)); err != nil {
			t.Fatalf("init did not create %s: %v", f, err)
		}
	}
	if st, _ := os.Stat(filepath.Join(stateDir, "key")); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	// A second init never overwrites the configuration.
	errb.Reset()
	if code := run([]string{"init", "--config", cfgFile}, &app{stdout: io.Discard, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}); code == 0 {
		t.Fatal("init overwrote an existing configuration")
	}
	if !strings.Contains(errb.String(), "already exists: this installation is set up") {
		t.Errorf("a second init says %q, not that the installation is set up", errb.String())
	}
	listenOnFreeLoopbackPort(t, cfgFile)
	return cfgFile
}

// waitServeAddr waits for the running serve to print its address and key
// ID, and returns them as the submatches 1 and 2 of its start line.
func waitServeAddr(t *testing.T, stderr *syncBuffer, done <-chan int) []string {
	t.Helper()
	addrRE := regexp.MustCompile(`jpegveil proxy on http://(\S+) \(key ID ([0-9a-f]{16})\)`)
	var m []string
	for i := 0; i < 200 && m == nil; i++ {
		select {
		case code := <-done:
			t.Fatalf("serve exited early with %d: %s", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		m = addrRE.FindStringSubmatch(stderr.String())
	}
	if m == nil {
		t.Fatalf("serve did not print its address: %s", stderr.String())
	}
	return m
}

func TestNewLogger(t *testing.T) {
	for _, lc := range []config.LogConfig{{Level: "debug", Format: "console"}, {Level: "warn", Format: "json"}} {
		l, err := newLogger(lc)
		if err != nil {
			t.Errorf("%+v: %v", lc, err)
			continue
		}
		if l.Core().Enabled(zap.DebugLevel) != (lc.Level == "debug") {
			t.Errorf("%+v: wrong level", lc)
		}
	}
	if _, err := newLogger(config.LogConfig{Level: "info", Format: "xml"}); err == nil {
		t.Errorf("unknown format accepted")
	}
}

// listenOnFreeLoopbackPort rewrites the configuration file's listen
// address to a free port on 127.0.0.1.
func listenOnFreeLoopbackPort(t *testing.T, cfgFile string) {
	t.Helper()
	conf, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	conf = regexp.MustCompile(`(?m)^listen:.*$`).ReplaceAll(conf, []byte("listen: 127.0.0.1:0"))
	if err := os.WriteFile(cfgFile, conf, 0o600); err != nil {
		t.Fatal(err)
	}
}
