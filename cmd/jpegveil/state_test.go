package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"jpegveil/config"
)

// serveOnce runs `serve` with args on the configuration in dir until it
// prints its address (then stops it) or exits by itself. It returns the exit
// status, whether it started, and what it wrote to standard error.
func serveOnce(t *testing.T, cfgFile string, args ...string) (code int, started bool, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errb := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(append([]string{"serve", "--config", cfgFile}, args...), &app{ctx: ctx, stdout: io.Discard, stderr: errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }})
	}()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case code := <-done:
			return code, false, errb.String()
		case <-deadline:
			t.Fatalf("serve neither started nor stopped: %s", errb.String())
		case <-time.After(10 * time.Millisecond):
		}
		if strings.Contains(errb.String(), "jpegveil proxy on http://") {
			cancel()
			return <-done, true, errb.String()
		}
	}
}

// stateConfig writes a configuration that listens on an ephemeral port with
// its state in a new directory, and returns its path and the ledger's.
func stateConfig(t *testing.T) (cfgFile, ledgerPath string) {
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	cfgFile = filepath.Join(dir, "config.yaml")
	conf := regexp.MustCompile(`(?m)^listen:.*$`).ReplaceAll(config.WithStateDir(config.ExampleConfig(), stateDir), []byte("listen: 127.0.0.1:0"))
	if err := os.WriteFile(cfgFile, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgFile, filepath.Join(stateDir, "ledger.db")
}

// TestServeRefusesLostLedger: once a ledger existed, serve does not start
// on a missing, empty or damaged one, which would make every earlier photo
// look like plaintext (and encrypting a ciphertext again decrypts it). It
// says in one line what happened and how to recover, and --new-ledger
// starts a new one on purpose.
func TestServeRefusesLostLedger(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(path string) error
		what   string
	}{
		{"missing", os.Remove, "missing"},
		{"empty", func(p string) error { return os.Truncate(p, 0) }, "empty"},
		{"truncated", func(p string) error { return os.Truncate(p, 4096+100) }, "ledger"},
		{"garbage", func(p string) error { return os.WriteFile(p, []byte(strings.Repeat("not a ledger ", 5000)), 0o600) }, "corrupt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgFile, ledgerPath := stateConfig(t)
			if code, started, errs := serveOnce(t, cfgFile); !started || code != 0 {
				t.Fatalf("first start: exit %d: %s", code, errs)
			}
			if err := tc.damage(ledgerPath); err != nil {
				t.Fatal(err)
			}
			code, started, errs := serveOnce(t, cfgFile)
			if started || code != 1 {
				t.Fatalf("serve started (exit %d) on a %s ledger: %s", code, tc.name, errs)
			}
			if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, ledgerPath) || !strings.Contains(errs, tc.what) ||
				!strings.Contains(errs, "--new-ledger") || !strings.Contains(errs, "ledger import") {
				t.Fatalf("error is not one line naming the file, what happened and the recovery: %q", errs)
			}
			if code, started, errs := serveOnce(t, cfgFile, "--new-ledger"); !started || code != 0 {
				t.Fatalf("--new-ledger: exit %d: %s", code, errs)
			}
			if code, started, errs := serveOnce(t, cfgFile); !started || code != 0 {
				t.Fatalf("start after --new-ledger: exit %d: %s", code, errs)
			}
		})
	}
}

// TestServeKeepsDailyCopies: serve writes today's copy of the ledger at
// start, where the recovery message of a lost ledger points.
func TestServeKeepsDailyCopies(t *testing.T) {
	cfgFile, ledgerPath := stateConfig(t)
	if code, started, errs := serveOnce(t, cfgFile); !started || code != 0 {
		t.Fatalf("serve: exit %d: %s", code, errs)
	}
	copyPath := filepath.Join(filepath.Dir(ledgerPath), "ledger-copies", "ledger-"+time.Now().UTC().Format("2006-01-02")+".db")
	if _, err := os.Stat(copyPath); err != nil {
		t.Fatalf("no daily copy: %v", err)
	}
	os.Remove(ledgerPath)
	_, _, errs := serveOnce(t, cfgFile)
	if !strings.Contains(errs, copyPath) {
		t.Fatalf("the recovery message does not name the daily copy %s: %q", copyPath, errs)
	}
}
