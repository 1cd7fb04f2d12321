package veil

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

// judgeWithReader runs a Reader with Options.Classify over data, fed in
// writes of size bytes through a source that says ErrInputPending between
// them, and returns its verdict, whether it was final before the end of
// the input, and its whole output.
func judgeWithReader(t *testing.T, key *keystream.Key, ring *keystream.Keyring, data []byte, size int) (Verdict, []byte, error) {
	t.Helper()
	src := &pendingSource{eof: len(data) == 0}
	r := NewReader(key, src, Options{Classify: ring})
	for read := 0; ; {
		err := r.Judge()
		if err == nil {
			break
		}
		if !errors.Is(err, jpegbits.ErrInputPending) {
			t.Fatalf("Judge: %v", err)
		}
		if read == len(data) {
			t.Fatal("Judge wants input after the end")
		}
		n := min(size, len(data)-read)
		src.buf = append(src.buf, data[read:read+n]...)
		read += n
		src.eof = read == len(data)
	}
	v := r.Verdict()
	src.buf = append(src.buf, data[len(data)-len(src.rest(data)):]...)
	src.eof = true
	out, err := io.ReadAll(r)
	return v, out, err
}

// pendingSource hands out buf, then ErrInputPending until eof is set.
type pendingSource struct {
	buf  []byte
	eof  bool
	read int
}

func (s *pendingSource) Read(p []byte) (int, error) {
	if len(s.buf) == 0 {
		if s.eof {
			return 0, io.EOF
		}
		return 0, jpegbits.ErrInputPending
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	s.read += n
	return n, nil
}

// rest is what of data the source has not been given yet.
func (s *pendingSource) rest(data []byte) []byte { return data[s.read+len(s.buf):] }

// TestFusedClassifierMatchesClassifier checks, over every corpus file and
// its ciphertexts, in both masking modes and with rings that do and do not
// hold the Reader's key, that a Reader judging while it transforms
// (Options.Classify) reaches exactly the verdict of a Classifier of its
// own, whatever the writes, and that its output is the transform's.
func TestFusedClassifierMatchesClassifier(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("shared corpus not found (%v)", err)
	}
	files, err := filepath.Glob(filepath.Join(corpusDir, "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, mode := range []keystream.Mode{keystream.ModeExtended, keystream.ModeStrict} {
		a, b := classifyKeys(t, mode)
		other := keystream.ModeStrict
		if mode == other {
			other = keystream.ModeExtended
		}
		c, _ := classifyKeys(t, other)
		rings := []*keystream.Keyring{mustRing(t, a), mustRing(t, b, a), mustRing(t, b), mustRing(t, a, c)}
		for i, f := range files {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			enc, _, encErr := encrypt(t, a, in, Options{})
			inputs := [][]byte{in}
			if encErr == nil {
				inputs = append(inputs, enc)
			}
			for j, data := range inputs {
				ring := rings[(i+j)%len(rings)]
				want := ClassifyBytes(ring, data)
				wantOut := transformBytes(t, a, data)
				for _, size := range []int{1 << 20, 4096, 1000} {
					got, out, err := judgeWithReader(t, a, ring, data, size)
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("%s (input %d, writes of %d): Reader judged %+v, Classifier %+v", f, j, size, got, want)
					}
					if err != nil || !bytes.Equal(out, wantOut) {
						t.Fatalf("%s (input %d, writes of %d): output differs from the transform's (%v)", f, j, size, err)
					}
				}
				checked++
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d inputs checked", checked)
	}
}

// transformBytes returns data transformed with key, passing what cannot
// be parsed unchanged.
func transformBytes(t *testing.T, key *keystream.Key, data []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(NewReader(key, bytes.NewReader(data), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestJudgingReaderInterrupted: a judging Reader whose Decide fails or
// passes the primary image, or whose Record fails, before the verdict is
// final says it was interrupted; one that judges to the end does not.
func TestJudgingReaderInterrupted(t *testing.T) {
	a, _ := classifyKeys(t, keystream.ModeExtended)
	ring := mustRing(t, a)
	photo := readCorpus(t, "photos/phone-12mp-q92.jpg")
	fail := errors.New("ledger down")
	for _, tc := range []struct {
		name string
		opts Options
		want bool
	}{
		{"plain", Options{}, false},
		{"Decide fails", Options{Decide: func(Fingerprint) (bool, error) { return false, fail }}, true},
		{"Decide passes", Options{Decide: func(Fingerprint) (bool, error) { return false, nil }}, true},
		{"Record fails", Options{Record: func(Fingerprint) error { return fail }}, true},
	} {
		tc.opts.Classify = ring
		r := NewReader(a, bytes.NewReader(photo), tc.opts)
		if err := r.Judge(); err != nil {
			t.Fatal(err)
		}
		if got := r.Interrupted(); got != tc.want {
			t.Errorf("%s: Interrupted %v, want %v (verdict %v)", tc.name, got, tc.want, r.Verdict())
		}
	}
}
