package jpegbits

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaskingCoverage checks the share of candidate (C) bits each rule
// encrypts on the photos: extended at least 95 % on every Huffman photo,
// strict at least 95 % over all sequential photos together. With -v it
// prints the per-file table, per scan kind for progressive files.
func TestMaskingCoverage(t *testing.T) {
	pct := func(a, b int64) float64 { return 100 * float64(a) / float64(max(b, 1)) }
	var seqC, seqStrict int64
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-40s %-11s %10s %9s %9s\n", "photo", "scans", "C bits", "extended", "strict")
	for _, path := range corpusFiles(t, "photos") {
		in, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, st, err := TransformBytes(in, Options{})
		var ue *UnsupportedError
		if errors.As(err, &ue) && strings.HasPrefix(ue.Feature, "arithmetic coding") {
			continue // arithmetic coding has no additional bits to encrypt
		}
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(path), err)
			continue
		}
		tot := st.Total()
		name := filepath.Base(path)
		fmt.Fprintf(&table, "%-40s %-11s %10d %8.1f%% %8.1f%%\n", name, st.Frame, tot.CBits, pct(tot.ExtendedBits, tot.CBits), pct(tot.StrictBits, tot.CBits))
		if st.Frame == "SOF2" {
			for k := Sequential; k < numScanKinds; k++ {
				if s, ok := st.ByKind()[k]; ok {
					fmt.Fprintf(&table, "  %-38s %-11s %10d %8.1f%% %8.1f%%\n", "", k, s.CBits, pct(s.ExtendedBits, s.CBits), pct(s.StrictBits, s.CBits))
				}
			}
		} else {
			seqC += tot.CBits
			seqStrict += tot.StrictBits
		}
		if p := pct(tot.ExtendedBits, tot.CBits); p < 95 {
			t.Errorf("%s: extended rule encrypts %.1f%% of C bits, want ≥ 95%%", name, p)
		}
	}
	fmt.Fprintf(&table, "strict over all sequential photos: %.1f%%\n", pct(seqStrict, seqC))
	if p := pct(seqStrict, seqC); p < 95 {
		t.Errorf("strict rule encrypts %.1f%% of the C bits of the sequential photos, want ≥ 95%%", p)
	}
	t.Log(table.String())
}
