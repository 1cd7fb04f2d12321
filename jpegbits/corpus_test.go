package jpegbits

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// corpusDir is the shared test corpus, relative to this package.
const corpusDir = "../../shared/corpus"

// corpusFiles lists the files of a corpus folder, skipping the test when the
// corpus is not there.
func corpusFiles(t testing.TB, folder string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, folder, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("corpus folder %s not found; the shared corpus is needed for this test", filepath.Join(corpusDir, folder))
	}
	return files
}

// allCorpusFiles lists the files of every corpus folder: photos,
// conformance and edge cases.
func allCorpusFiles(t testing.TB) []string {
	var files []string
	for _, folder := range []string{"photos", "conformance", "edge"} {
		files = append(files, corpusFiles(t, folder)...)
	}
	return files
}

// testKeystream is a deterministic keystream that depends on everything it
// is told, like the real one, without any cryptography.
type testKeystream struct {
	state [32]byte
}

func (k *testKeystream) Segment(seg []byte) {
	k.state = sha256.Sum256(append(k.state[:], seg...))
}

func (k *testKeystream) Chunk(c Chunk, dst []byte) {
	k.state = sha256.Sum256(append(k.state[:], c.Skeleton...))
	block := k.state
	for i := range dst {
		if i%32 == 0 {
			block = sha256.Sum256(block[:])
		}
		dst[i] = block[i%32]
	}
}

func transformWith(t testing.TB, in []byte, mode Mode) ([]byte, *Stats, error) {
	t.Helper()
	out, st, err := TransformBytes(in, Options{Mode: mode, Keystream: &testKeystream{}})
	if err != nil && !isParseError(err) {
		t.Fatalf("I/O error: %v", err)
	}
	return out, st, err
}

// checkInvariants checks FORMAT.md §1 invariants 1–3 and 5 on one input.
func checkInvariants(t *testing.T, in []byte, mode Mode) (enc []byte, st *Stats, err error) {
	t.Helper()
	enc, st, err = transformWith(t, in, mode)
	if len(enc) != len(in) {
		t.Fatalf("length changed: %d -> %d", len(in), len(enc))
	}
	for i := range in {
		if (in[i] == 0xFF) != (enc[i] == 0xFF) {
			t.Fatalf("0xFF created or destroyed at byte %d: %02x -> %02x", i, in[i], enc[i])
		}
		if i > 0 && in[i-1] == 0xFF && in[i] != enc[i] {
			t.Fatalf("byte %d after 0xFF changed", i)
		}
	}
	if off, ok := ErrorOffset(err); ok {
		if i := firstDiffFrom(in, enc, off); i >= 0 {
			t.Fatalf("byte %d changed after the error offset %d (%v)", i, off, err)
		}
	}
	dec, st2, err2 := transformWith(t, enc, mode)
	if !bytes.Equal(dec, in) {
		t.Fatalf("transform twice differs from input at byte %d", firstDiffFrom(in, dec, 0))
	}
	if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
		t.Fatalf("error differs between plaintext (%v) and ciphertext (%v)", err, err2)
	}
	if st.EncryptBits != st2.EncryptBits {
		t.Fatalf("mask differs: %d vs %d encrypted bits", st.EncryptBits, st2.EncryptBits)
	}
	return enc, st, err
}

func firstDiffFrom(a, b []byte, from int64) int {
	for i := int(from); i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func TestCorpusValidFiles(t *testing.T) {
	for _, folder := range []string{"photos", "conformance"} {
		for _, path := range corpusFiles(t, folder) {
			t.Run(folder+"/"+filepath.Base(path), func(t *testing.T) {
				in, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				for _, mode := range []Mode{Extended, Strict} {
					enc, st, err := checkInvariants(t, in, mode)
					if err != nil {
						t.Logf("%v: %v", mode, err)
						var ue *UnsupportedError
						if folder == "photos" && !errors.As(err, &ue) {
							t.Errorf("photo failed to parse: %v", err)
						}
					}
					if _, derr := jpeg.Decode(bytes.NewReader(in)); derr == nil {
						if _, eerr := jpeg.Decode(bytes.NewReader(enc)); eerr != nil {
							t.Errorf("%v: original decodes with image/jpeg, transformed does not: %v", mode, eerr)
						}
					}
					if err == nil && st.EncryptBits == 0 && len(st.Scans) > 0 {
						t.Errorf("%v: nothing encrypted", mode)
					}
				}
			})
		}
	}
}

func TestCorpusEdgeFiles(t *testing.T) {
	for _, path := range corpusFiles(t, "edge") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, _, err = TransformBytes(in, Options{Mode: Extended, Keystream: &testKeystream{}})
			// A hang guard, not a speed goal: these files are at most a
			// few hundred KB, and the work bound keeps any input finite.
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v, want under 1 s", d)
			}
			if err != nil && !isParseError(err) {
				t.Fatalf("untyped error %v", err)
			}
			checkInvariants(t, in, Extended)
		})
	}
}
