package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeAfterKeyRotate: after `jpegveil key rotate` the state
// directory's key file is a keyring of two keys. serve starts with it,
// encrypts with the new key (the one it names), and the onboarding page
// shows both key IDs, the new one as current.
func TestServeAfterKeyRotate(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	stateDir := filepath.Join(dir, "state")
	quiet := func(stdout io.Writer) *app {
		return &app{stdout: stdout, stderr: io.Discard, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}
	}
	if code := run([]string{"init", "--config", cfgFile, "--state-dir", stateDir}, quiet(io.Discard)); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	var before, after strings.Builder
	keyFile := filepath.Join(stateDir, "key")
	if code := run([]string{"key", "list", "-k", keyFile}, quiet(&before)); code != 0 {
		t.Fatalf("key list: exit %d", code)
	}
	oldID := strings.Fields(before.String())[0]
	if code := run([]string{"key", "rotate", "-k", keyFile}, quiet(&after)); code != 0 {
		t.Fatalf("key rotate: exit %d", code)
	}
	newID := strings.TrimSpace(after.String())

	listenOnFreeLoopbackPort(t, cfgFile)
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	exited := false
	go func() {
		done <- run([]string{"serve", "--config", cfgFile}, &app{ctx: ctx, stdout: io.Discard, stderr: stderr, stdin: strings.NewReader(""), getenv: func(string) string { return "" }})
	}()
	defer func() {
		cancel()
		if exited {
			return
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	addrRE := regexp.MustCompile(`jpegveil proxy on http://(\S+) \(key ID ([0-9a-f]{16})\)`)
	var m []string
	for deadline := time.Now().Add(5 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case code := <-done:
			exited = true
			t.Fatalf("serve with a rotated keyring exited with %d: %s", code, stderr.String())
		default:
		}
		m = addrRE.FindStringSubmatch(stderr.String())
	}
	if m == nil {
		t.Fatalf("serve did not print its address: %s", stderr.String())
	}
	if m[2] != newID {
		t.Errorf("serve names key %s, want the new current key %s", m[2], newID)
	}
	resp, err := http.Get("http://" + m[1] + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if i, j := strings.Index(string(page), newID), strings.Index(string(page), oldID); i < 0 || j < i {
		t.Errorf("onboarding page does not show the new key %s (current) before the old one %s", newID, oldID)
	}
}
