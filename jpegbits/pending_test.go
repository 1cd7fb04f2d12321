package jpegbits

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// pendingSource hands out its input in parts, saying ErrInputPending between
// them, as an upload split across requests does.
type pendingSource struct {
	parts [][]byte
	cur   *bytes.Reader
	final bool
}

func (s *pendingSource) Read(p []byte) (int, error) {
	if s.cur != nil && s.cur.Len() > 0 {
		return s.cur.Read(p)
	}
	if len(s.parts) == 0 {
		if s.final {
			return 0, io.EOF
		}
		return 0, ErrInputPending
	}
	return 0, ErrInputPending
}

func (s *pendingSource) next() {
	s.cur = bytes.NewReader(s.parts[0])
	s.parts = s.parts[1:]
}

// TestInputPending feeds a photo in parts and checks that the output equals
// the one-piece transform, and that output is only held back, never wrong.
func TestInputPending(t *testing.T) {
	in, err := os.ReadFile("testdata/seed/restarts.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if big, err := os.ReadFile(corpusDir + "/photos/astronaut-q85-progressive.jpg"); err == nil {
		in = big
	}
	want, _, _ := transformWith(t, in, Extended)
	for _, size := range []int{1, 7, 4096, 20000, 262144} {
		src := &pendingSource{}
		for i := 0; i < len(in); i += size {
			src.parts = append(src.parts, in[i:min(i+size, len(in))])
		}
		tr := NewReader(src, Options{Mode: Extended, Keystream: &testKeystream{}})
		var out bytes.Buffer
		fed := 0
		buf := make([]byte, 1000)
		for {
			n, err := tr.Read(buf)
			out.Write(buf[:n])
			if errors.Is(err, ErrInputPending) {
				// ErrInputPending means every byte the input so far
				// determines has been read: asking again, with nothing new,
				// yields nothing.
				if n, err := tr.Read(buf); n != 0 || !errors.Is(err, ErrInputPending) {
					t.Fatalf("part size %d: Read said ErrInputPending, then gave %d bytes (%v)", size, n, err)
				}
				// Only the few KiB whose masks and chunk keystream depend on
				// what follows may be held back (more only while the input
				// stops inside a marker segment; this photo's are all small).
				if lag := fed - out.Len(); lag > 20<<10 {
					t.Fatalf("part size %d: %d bytes of input fed, %d of output read: the output lags by %d", size, fed, out.Len(), lag)
				}
				if len(src.parts) == 0 {
					src.final = true
				} else {
					fed += len(src.parts[0])
					src.next()
				}
				continue
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want[:out.Len()]) {
				t.Fatalf("part size %d: output differs before the end", size)
			}
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("part size %d: output differs from the one-piece transform", size)
		}
	}
}
