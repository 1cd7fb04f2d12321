package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir is the shared test corpus (photos, conformance, edge),
// relative to this package.
const corpusDir = "../../../shared/corpus"

// TestCorpusDirectoryRoundTrip encrypts the whole corpus in directory mode
// with --allow-partial, decrypts the result the same way, and checks every
// file: the ciphertext has the input's size and decrypting restores the
// input byte for byte, for valid, unsupported and broken files alike.
func TestCorpusDirectoryRoundTrip(t *testing.T) {
	if _, err := os.Stat(filepath.Join(corpusDir, "photos")); err != nil {
		t.Skipf("shared corpus not found at %s: %v", corpusDir, err)
	}
	tmp := t.TempDir()
	key := filepath.Join(tmp, "key")
	enc := filepath.Join(tmp, "enc")
	dec := filepath.Join(tmp, "dec")
	mustRun(t, 0, "keygen", "-o", key)
	encOut := mustRun(t, 0, "encrypt", "-k", key, corpusDir, "-o", enc, "--allow-partial")
	decOut := mustRun(t, 0, "decrypt", "-k", key, enc, "-o", dec, "--allow-partial")
	t.Logf("encrypt: %s", lastLine(encOut))
	t.Logf("decrypt: %s", lastLine(decOut))

	var files, changed int
	err := filepath.WalkDir(corpusDir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(corpusDir, path)
		in, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		ct, err := os.ReadFile(filepath.Join(enc, rel))
		if err != nil {
			return err
		}
		pt, err := os.ReadFile(filepath.Join(dec, rel))
		if err != nil {
			return err
		}
		files++
		if len(ct) != len(in) {
			t.Errorf("%s: encrypted size %d, input %d", rel, len(ct), len(in))
		}
		if !bytes.Equal(pt, in) {
			t.Errorf("%s: decrypt(encrypt(f)) differs from f", rel)
		}
		if !bytes.Equal(ct, in) {
			changed++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files round-trip, %d of them changed by encryption", files, changed)
	if files < 100 || changed < 50 {
		t.Errorf("only %d files, %d changed: is the corpus complete?", files, changed)
	}
}

// TestCorpusEdgeStrict runs the edge folder without --allow-partial: the
// files the parser fully handles are written exactly as with
// --allow-partial, every other JPEG is listed as a failure and not written,
// and the exit status is 1.
func TestCorpusEdgeStrict(t *testing.T) {
	edge := filepath.Join(corpusDir, "edge")
	if _, err := os.Stat(edge); err != nil {
		t.Skipf("shared corpus not found at %s: %v", corpusDir, err)
	}
	tmp := t.TempDir()
	key := filepath.Join(tmp, "key")
	mustRun(t, 0, "keygen", "-o", key)
	stderr := mustRun(t, 1, "encrypt", "-k", key, edge, "-o", filepath.Join(tmp, "strict"))
	mustRun(t, 0, "encrypt", "-k", key, edge, "-o", filepath.Join(tmp, "partial"), "--allow-partial")
	entries, err := os.ReadDir(edge)
	if err != nil {
		t.Fatal(err)
	}
	var written, failed int
	for _, e := range entries {
		strict, err := os.ReadFile(filepath.Join(tmp, "strict", e.Name()))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			failed++
			if !strings.Contains(stderr, "jpegveil: "+filepath.Join(edge, e.Name())+": ") {
				t.Errorf("%s was not written and not listed", e.Name())
			}
		case err != nil:
			t.Fatal(err)
		default:
			written++
			partial, err := os.ReadFile(filepath.Join(tmp, "partial", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(strict, partial) {
				t.Errorf("%s: output differs with and without --allow-partial", e.Name())
			}
		}
	}
	t.Logf("edge: %d written, %d refused; %s", written, failed, lastLine(stderr))
	if failed == 0 {
		t.Error("no edge file was refused")
	}
}

// mustRun runs a command line in-process, checks its exit status, and
// returns its stderr.
func mustRun(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, _, stderr := runCLI(t, "", args...)
	if code != want {
		t.Fatalf("jpegveil %s: exit status %d, want %d\n%s", strings.Join(args, " "), code, want, stderr)
	}
	return stderr
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}
