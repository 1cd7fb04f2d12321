package jpegbits

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// TestStreamingMatchesWhole feeds every corpus file through the Reader in
// small, odd-sized reads and checks that the output and the error are those
// of the whole-buffer transform: the result may not depend on how the input
// arrives.
func TestStreamingMatchesWhole(t *testing.T) {
	for _, path := range allCorpusFiles(t) {
		in, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(in) > 1<<20 && testing.Short() {
			continue
		}
		want, _, wantErr := transformWith(t, in, Extended)
		readers := map[string]io.Reader{
			"half":    iotest.HalfReader(bytes.NewReader(in)),
			"onebyte": iotest.OneByteReader(bytes.NewReader(in)),
		}
		if len(in) > 200<<10 {
			delete(readers, "onebyte") // slow; the half reader covers large files
		}
		for name, r := range readers {
			tr := NewReader(r, Options{Mode: Extended, Keystream: &testKeystream{}})
			got, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("%s/%s: %v", filepath.Base(path), name, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%s: streamed output differs at byte %d", filepath.Base(path), name, firstDiffFrom(want, got, 0))
			}
			if (tr.Err() == nil) != (wantErr == nil) || wantErr != nil && tr.Err().Error() != wantErr.Error() {
				t.Errorf("%s/%s: error %v, want %v", filepath.Base(path), name, tr.Err(), wantErr)
			}
		}
	}
}
