package jpegbits

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/iotest"
)

// passingKeystream is testKeystream until chunk from, after which it
// changes nothing; with skim it then tells the Transformer to Skim. It
// records the segments it is told.
type passingKeystream struct {
	testKeystream
	t      *Transformer
	from   int
	skim   bool
	chunks int
	segs   [][]byte
}

func (k *passingKeystream) Segment(seg []byte) {
	k.segs = append(k.segs, slices.Clone(seg))
	k.testKeystream.Segment(seg)
}

func (k *passingKeystream) Chunk(c Chunk, dst []byte) {
	k.chunks++
	if k.chunks < k.from {
		k.testKeystream.Chunk(c, dst)
		return
	}
	clear(dst)
	if k.skim {
		k.t.Skim()
	}
}

func runPassing(t *testing.T, r io.Reader, from int, skim bool) ([]byte, *passingKeystream, error) {
	t.Helper()
	k := &passingKeystream{from: from, skim: skim}
	k.t = NewReader(r, Options{Mode: Extended, Keystream: k})
	out, err := io.ReadAll(k.t)
	if err != nil {
		t.Fatal(err)
	}
	return out, k, k.t.Err()
}

// TestSkimMatchesParse checks over the whole corpus that skimming an image
// from the chunk where its keystream stops changing anything gives the
// output of parsing it to the end, however the input arrives, and tells the
// same marker segments; skimmed data is not parsed, so an error in it is
// not found.
func TestSkimMatchesParse(t *testing.T) {
	for _, path := range allCorpusFiles(t) {
		in, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(path)
		for _, from := range []int{1, 3} {
			want, parsed, wantErr := runPassing(t, bytes.NewReader(in), from, false)
			readers := map[string]func() io.Reader{
				"whole": func() io.Reader { return bytes.NewReader(in) },
				"half":  func() io.Reader { return iotest.HalfReader(bytes.NewReader(in)) },
			}
			if len(in) < 200<<10 {
				readers["onebyte"] = func() io.Reader { return iotest.OneByteReader(bytes.NewReader(in)) }
			}
			for rn, r := range readers {
				got, skimmed, err := runPassing(t, r(), from, true)
				if !bytes.Equal(got, want) {
					t.Errorf("%s/%s/from %d: skimmed output differs at byte %d", name, rn, from, firstDiffFrom(want, got, 0))
				}
				if wantErr == nil && err != nil {
					t.Errorf("%s/%s/from %d: skimming found %v, parsing nothing", name, rn, from, err)
				}
				if skimmed.chunks > max(parsed.chunks, from) {
					t.Errorf("%s/%s/from %d: %d chunks told after Skim, %d when parsed", name, rn, from, skimmed.chunks, parsed.chunks)
				}
				n := len(parsed.segs)
				if wantErr == nil && len(skimmed.segs) != n || len(skimmed.segs) < n ||
					!slices.EqualFunc(parsed.segs, skimmed.segs[:n], bytes.Equal) {
					t.Errorf("%s/%s/from %d: skimming told %d segments, parsing %d (error %v)", name, rn, from, len(skimmed.segs), n, wantErr)
				}
			}
		}
	}
}
