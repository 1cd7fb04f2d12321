package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the scripts run "jpegveil" as a command: testscript
// re-executes the test binary, which then runs Main.
//
// testscript.RunMain is deprecated in go-internal v1.16.0 (staticcheck
// SA1019); testscript.Main with os.Exit(Main()) is what it does.
//
// In the test binary, and only there, JPEGVEIL_TEST_ARGON2=fast gives
// keygen --passphrase tiny Argon2id parameters (app.weakArgon2), so that
// scripts run in milliseconds; the shipped command has no such switch.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"jpegveil": func() {
			a := processApp()
			a.weakArgon2 = os.Getenv("JPEGVEIL_TEST_ARGON2") == "fast"
			os.Exit(run(os.Args[1:], a))
		},
	})
}

// fixtures are copied from testdata/fixtures into every script's work
// directory. See testdata/README.md for how they were made.
var fixtures = []string{"photo.jpg", "progressive.jpg", "arith.jpg", "samsung.jpg", "ultrahdr.jpg"}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			for _, name := range fixtures {
				b, err := os.ReadFile(filepath.Join("testdata", "fixtures", name))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(env.WorkDir, name), b, 0o644); err != nil {
					return err
				}
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"truncate": cmdTruncate,
			"sizeeq":   cmdSizeEq,
			"perm":     cmdPerm,
			"noglob":   cmdNoGlob,
		},
	})
}

// truncate FILE SIZE cuts FILE to SIZE bytes.
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: truncate FILE SIZE")
	}
	n, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	ts.Check(os.Truncate(ts.MkAbs(args[0]), n))
}

// sizeeq A B checks that two files have the same size.
func cmdSizeEq(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sizeeq A B")
	}
	a, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	b, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if (a.Size() == b.Size()) == neg {
		ts.Fatalf("%s is %d bytes, %s is %d bytes", args[0], a.Size(), args[1], b.Size())
	}
}

// perm FILE MODE checks a file's permission bits (octal).
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: perm FILE MODE")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := fi.Mode().Perm(); (uint64(got) == want) == neg {
		ts.Fatalf("%s has mode %04o, want %s%04o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// noglob PATTERN... fails if a pattern matches a file (for example a
// temporary file left behind).
func cmdNoGlob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: noglob PATTERN...")
	}
	for _, pat := range args {
		m, err := filepath.Glob(ts.MkAbs(pat))
		ts.Check(err)
		if len(m) > 0 {
			ts.Fatalf("%s matches %v", pat, m)
		}
	}
}

// runCLI runs a command line in-process and returns its exit status,
// stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	a := &app{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := run(args, a)
	return code, stdout.String(), stderr.String()
}

func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	photo := filepath.Join(dir, "photo.jpg")
	b, err := os.ReadFile("testdata/fixtures/photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(photo, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "", "keygen", "-o", key); code != 0 {
		t.Fatalf("keygen: %d %s", code, stderr)
	}
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"frobnicate"}, 2},
		{[]string{"encrypt", "--nope"}, 2},
		{[]string{"encrypt", photo, "-o", "x"}, 2}, // missing -k
		{[]string{"encrypt", "-k", key}, 2},        // missing IN
		{[]string{"encrypt", "-k", key, photo}, 2}, // missing -o
		{[]string{"encrypt", "-k", key, photo, "-o", "a", "--in-place"}, 2},
		{[]string{"keygen", "--mode", "fast", "-o", "k2"}, 2},
		{[]string{"inspect"}, 2},
		{[]string{"encrypt", "-k", key, photo, "-o", photo}, 1}, // the input
		{[]string{"encrypt", "-k", key, filepath.Join(dir, "nope.jpg"), "-o", filepath.Join(dir, "o.jpg")}, 1},
		{[]string{"encrypt", "-k", filepath.Join(dir, "nokey"), photo, "-o", filepath.Join(dir, "o.jpg")}, 1},
		{[]string{"inspect", key}, 1},      // not a JPEG
		{[]string{"keygen", "-o", key}, 1}, // exists
		{[]string{"inspect", photo}, 0},
		{[]string{"--help"}, 0},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(t, "", tt.args...)
		if code != tt.want {
			t.Errorf("jpegveil %q: exit status %d, want %d (stderr %q)", tt.args, code, tt.want, stderr)
		}
		if code != 0 && (len(stderr) == 0 || stderr[len(stderr)-1] != '\n' || strings.Count(stderr, "\n") != 1) {
			t.Errorf("jpegveil %q: stderr %q is not one line", tt.args, stderr)
		}
	}
}

// TestReadErrorWhileJudging: a source that fails before the direction
// is judged ends the command with "cannot read", exit status 1, and no
// output, in either direction and before or after the first scan.
func TestReadErrorWhileJudging(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	b, err := os.ReadFile("testdata/fixtures/photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, 0, "keygen", "-o", key)
	injected := errors.New("injected failure")
	for _, d := range []string{"encrypt", "decrypt"} {
		for _, n := range []int{0, 100, len(b) / 2} {
			out := filepath.Join(dir, fmt.Sprintf("%s-%d.jpg", d, n))
			var stdout, stderr strings.Builder
			a := &app{
				stdin:  io.MultiReader(bytes.NewReader(b[:n]), iotest.ErrReader(injected)),
				stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
			}
			code := run([]string{d, "-k", key, "-", "-o", out}, a)
			if code != 1 || !strings.Contains(stderr.String(), "cannot read: injected failure") {
				t.Errorf("%s failing after %d bytes: exit status %d, stderr %q", d, n, code, stderr.String())
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s failing after %d bytes: output written", d, n)
			}
		}
	}
}

func TestKeygenIDMatchesFile(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key")
	code, stdout, stderr := runCLI(t, "", "keygen", "--mode", "strict", "-o", key)
	if code != 0 {
		t.Fatal(stderr)
	}
	var id string
	if _, err := fmt.Sscanf(stdout, "key ID: %s\n", &id); err != nil || len(id) != 16 {
		t.Fatalf("stdout %q", stdout)
	}
	b, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nid: "+id+"\n") || !strings.Contains(string(b), "\nmode: strict\n") {
		t.Errorf("key file lacks id %s or mode strict:\n%s", id, b)
	}
}

func TestFirstLine(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"secret\n", "secret", true},
		{"secret\r\n", "secret", true},
		{"secret", "secret", true},
		{"secret\nsecond line\n", "secret", true},
		{" spaces kept \n", " spaces kept ", true},
		{"\n", "", false},
		{"", "", false},
		{string(make([]byte, maxPassphraseLine+10)), "", false},
	}
	for _, tt := range tests {
		got, err := firstLine(strings.NewReader(tt.in), "test")
		if (err == nil) != tt.ok || string(got) != tt.want {
			t.Errorf("firstLine(%.20q) = %q, %v", tt.in, got, err)
		}
	}
}

// TestShippedKeygenIgnoresTestSwitch: the command as Main builds it derives
// passphrase keys with the real Argon2id parameters, whatever the
// environment says.
func TestShippedKeygenIgnoresTestSwitch(t *testing.T) {
	t.Setenv("JPEGVEIL_TEST_ARGON2", "fast")
	dir := t.TempDir()
	a := processApp()
	var stderr strings.Builder
	a.stdin, a.stdout, a.stderr = strings.NewReader("correct horse\n"), io.Discard, &stderr
	if code := run([]string{"keygen", "--passphrase", "-o", filepath.Join(dir, "k")}, a); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "argon2id-memory-kib: 65536") || strings.Contains(stderr.String(), "test-only") {
		t.Fatalf("weakened key file:\n%s\n%s", b, stderr.String())
	}
}
