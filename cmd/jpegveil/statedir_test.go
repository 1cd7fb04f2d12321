package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSharedStateDirIsTightenedOrRefused: a state directory that group or
// others may enter is made private (0700) and the user is told so; one
// that belongs to another user is refused, and the message says why.
func TestSharedStateDirIsTightenedOrRefused(t *testing.T) {
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	if err := os.Mkdir(stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(stateDir, 0o755) // whatever the umask
	var out, errb bytes.Buffer
	env := &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}
	if code := run([]string{"init", "--config", filepath.Join(dir, "config.yaml"), "--state-dir", stateDir}, env); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errb.String())
	}
	fi, err := os.Stat(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Fatalf("state directory left at mode %04o", perm)
	}
	if msg := errb.String(); !strings.Contains(msg, stateDir) || !strings.Contains(msg, "0755") || !strings.Contains(msg, "0700") {
		t.Fatalf("the user was not told that the state directory was tightened: %q", msg)
	}

	// Another user's directory: not ours to change.
	foreign := filepath.Join(dir, "foreign")
	if err := os.Mkdir(foreign, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(foreign, os.Getuid()+1, -1); err != nil {
		t.Logf("cannot give a directory to another user here (%v): refusal not checked", err)
		return
	}
	os.Chmod(foreign, 0o755)
	errb.Reset()
	if code := run([]string{"init", "--config", filepath.Join(dir, "config2.yaml"), "--state-dir", foreign}, env); code == 0 {
		t.Fatal("init accepted a shared state directory that belongs to another user")
	}
	if msg := errb.String(); !strings.Contains(msg, foreign) || !strings.Contains(msg, "0755") || !strings.Contains(msg, "chmod 700") {
		t.Fatalf("refusal does not say what is wrong and how to fix it: %q", msg)
	}
}
