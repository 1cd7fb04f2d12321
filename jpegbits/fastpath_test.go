package jpegbits

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestFastPathMatchesSlowPath checks that sequentialMCUFast, with its
// two-element lookups, labels, encrypts and fails exactly as
// sequentialMCU does: on every photo and conformance file of the corpus,
// and on each of them with a bit flipped in its first scan, the output and
// the statistics are the same with and without the fast path.
func TestFastPathMatchesSlowPath(t *testing.T) {
	flips := func(sos int, in []byte) []int {
		if sos+600 < len(in) {
			return []int{sos + 300, sos + 599}
		}
		return nil
	}
	for name, variants := range flippedCorpus(t, flips, 0x10) {
		for n, v := range variants {
			fast, fastStats, fastErr := transformFastOrSlow(v, false)
			slow, slowStats, slowErr := transformFastOrSlow(v, true)
			if !bytes.Equal(fast, slow) {
				t.Errorf("%s variant %d: outputs differ", name, n)
			}
			if !reflect.DeepEqual(fastStats, slowStats) {
				t.Errorf("%s variant %d: statistics differ:\nfast %+v\nslow %+v", name, n, fastStats, slowStats)
			}
			if !reflect.DeepEqual(fastErr, slowErr) {
				t.Errorf("%s variant %d: errors differ: fast %v, slow %v", name, n, fastErr, slowErr)
			}
		}
	}
}

// TestFastPathRecordsAsSlowPath checks that a transformer recording DC
// elements (RecordDC) records the same ones, with and without the fast
// path, on the corpus files and on each of them with bits flipped all
// over the start of its first scan: the blocks of an MCU that parsed
// before an error are recorded too (FORMAT.md §34.1).
func TestFastPathRecordsAsSlowPath(t *testing.T) {
	flips := func(sos int, in []byte) (at []int) {
		for i := sos + 200; i < min(len(in)-2, sos+16<<10); i += 1361 {
			at = append(at, i)
		}
		return at
	}
	for name, variants := range flippedCorpus(t, flips, 0x40) {
		for n, v := range variants {
			fast, fastElems, fastErr := recordFastOrSlow(v, false)
			slow, slowElems, slowErr := recordFastOrSlow(v, true)
			if !bytes.Equal(fast, slow) {
				t.Errorf("%s variant %d: outputs differ", name, n)
			}
			if !reflect.DeepEqual(fastElems, slowElems) {
				t.Errorf("%s variant %d: %d DC elements recorded with the fast path, %d without", name, n, len(fastElems), len(slowElems))
			}
			if !reflect.DeepEqual(fastErr, slowErr) {
				t.Errorf("%s variant %d: errors differ: fast %v, slow %v", name, n, fastErr, slowErr)
			}
		}
	}
}

// flippedCorpus returns, by file name, each photo and conformance file of
// the corpus and its variants with bit pattern x flipped at the offsets
// flips returns, given the offset of the first SOS marker.
func flippedCorpus(t *testing.T, flips func(sos int, in []byte) []int, x byte) map[string][][]byte {
	var files []string
	for _, folder := range []string{"photos", "conformance"} {
		files = append(files, corpusFiles(t, folder)...)
	}
	out := map[string][][]byte{}
	for _, path := range files {
		in, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		variants := [][]byte{in}
		if i := bytes.Index(in, []byte{0xFF, 0xDA}); i >= 0 {
			for _, at := range flips(i, in) {
				v := bytes.Clone(in)
				v[at] ^= x
				variants = append(variants, v)
			}
		}
		out[filepath.Base(path)] = variants
	}
	return out
}

func transformFastOrSlow(in []byte, noFastPath bool) ([]byte, *Stats, error) {
	tr := NewReader(bytes.NewReader(in), Options{Keystream: new(testKeystream)})
	tr.noFastPath = noFastPath
	var out bytes.Buffer
	if _, err := io.Copy(&out, tr); err != nil {
		return nil, nil, err
	}
	return out.Bytes(), tr.Stats(), tr.Err()
}

func recordFastOrSlow(in []byte, noFastPath bool) ([]byte, []DCElement, error) {
	tr := NewReader(bytes.NewReader(in), Options{Keystream: new(testKeystream), StopAtError: true})
	tr.noFastPath = noFastPath
	tr.RecordDC(1<<20, nil)
	var out bytes.Buffer
	io.Copy(&out, tr)
	return out.Bytes(), tr.DCElements(), tr.Err()
}
