package veil

import (
	"bytes"
	"errors"
	"fmt"
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
// them, and returns its verdict and its whole output. Its buffers come
// from scratch (nil: allocated).
func judgeWithReader(t *testing.T, key *keystream.Key, ring *keystream.Keyring, data []byte, size int, scratch *Scratch) (Verdict, []byte, error) {
	t.Helper()
	src := &pendingSource{eof: len(data) == 0}
	r := NewReader(key, src, Options{Classify: ring, Scratch: scratch})
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
// own, whatever the writes, and that its output is the transform's. The
// Readers borrow their buffers from one Scratch, all but the first of each
// input: every judging reuses what earlier ones handed back.
func TestFusedClassifierMatchesClassifier(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("shared corpus not found (%v)", err)
	}
	files, err := filepath.Glob(filepath.Join(corpusDir, "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	scratch := new(Scratch)
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
				for k, size := range []int{1 << 20, 1 << 20, 4096, 1000} {
					sc := scratch
					if k == 0 {
						sc = nil
					}
					got, out, err := judgeWithReader(t, a, ring, data, size, sc)
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("%s (input %d, writes of %d, scratch %v): Reader judged %+v, Classifier %+v", f, j, size, sc != nil, got, want)
					}
					if err != nil || !bytes.Equal(out, wantOut) {
						t.Fatalf("%s (input %d, writes of %d, scratch %v): output differs from the transform's (%v)", f, j, size, sc != nil, err)
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

// TestScratchSharedConcurrently judges the corpus photos and their
// ciphertexts in four goroutines at once, all borrowing from one Scratch
// (as a proxy's requests do), and checks every verdict and output against
// a Reader that allocates its own. Run with -race (make race).
func TestScratchSharedConcurrently(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "photos", "*"))
	if err != nil || len(files) == 0 {
		t.Skipf("shared corpus not found (%v)", err)
	}
	a, b := classifyKeys(t, keystream.ModeExtended)
	ring := mustRing(t, b, a)
	type want struct {
		v   Verdict
		out []byte
	}
	var inputs [][]byte
	var wants []want
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, data := range [][]byte{in, transformBytes(t, a, in)} {
			v, out, err := judgeWithReader(t, b, ring, data, 1<<20, nil)
			if err != nil && !IsParseError(err) {
				t.Fatal(err)
			}
			inputs, wants = append(inputs, data), append(wants, want{v, out})
		}
	}
	scratch := new(Scratch)
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for round := range 3 {
				for i := range inputs {
					i := (i + g*5 + round) % len(inputs)
					r := NewReader(b, bytes.NewReader(inputs[i]), Options{Classify: ring, Scratch: scratch})
					out, _ := io.ReadAll(r)
					if v := r.Verdict(); !reflect.DeepEqual(v, wants[i].v) || !bytes.Equal(out, wants[i].out) {
						errs <- fmt.Errorf("input %d, goroutine %d: verdict %v, output equal %v; want %v", i, g, v, bytes.Equal(out, wants[i].out), wants[i].v)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
