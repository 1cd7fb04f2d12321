package jpegbits

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// seedFiles are the fuzz seeds kept in the repository, so the seed corpus
// is never empty even without the shared corpus.
func seedFiles(t testing.TB) []string {
	files, err := filepath.Glob("testdata/seed/*.jpg")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestFuzzSeedsPresent(t *testing.T) {
	if n := len(seedFiles(t)); n < 5 {
		t.Fatalf("only %d fuzz seeds in testdata/seed; the seed corpus must never be empty", n)
	}
}

// FuzzTransform checks the invariants of FORMAT.md §1 on any input: same
// length, same 0xFF bytes, nothing changed after a reported error, applying
// the transform twice restores the input, the same error both ways, and
// streaming gives the same bytes as the whole-buffer transform.
func FuzzTransform(f *testing.F) {
	seeds := seedFiles(f)
	if extra, _ := filepath.Glob(filepath.Join(corpusDir, "conformance", "*size-*.jpg")); len(extra) > 0 {
		seeds = append(seeds, extra...)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, mode := range []Mode{Extended, Strict} {
			enc, _, err := checkInvariants(t, in, mode)
			tr := NewReader(iotest.HalfReader(bytes.NewReader(in)), Options{Mode: mode, Keystream: &testKeystream{}})
			got, rerr := io.ReadAll(tr)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if !bytes.Equal(got, enc) {
				t.Fatalf("%v: streamed output differs at byte %d", mode, firstDiffFrom(enc, got, 0))
			}
			if (err == nil) != (tr.Err() == nil) {
				t.Fatalf("%v: streamed error %v, whole %v", mode, tr.Err(), err)
			}
			if err != nil && !isParseError(err) {
				t.Fatalf("%v: untyped error %v", mode, err)
			}
		}
	})
}
