package jpegbits

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestSummaryDebug(t *testing.T) {
	if os.Getenv("JPEGBITS_SUMMARY") == "" {
		t.Skip("set JPEGBITS_SUMMARY=1")
	}
	for _, folder := range []string{"photos", "conformance", "edge"} {
		for _, path := range corpusFiles(t, folder) {
			in, _ := os.ReadFile(path)
			_, st, err := TransformBytes(in, Options{})
			tot := st.Total()
			fmt.Printf("%-12s %-60.60s %-5s scans=%2d C=%8d ext=%5.1f%% str=%5.1f%% H=%d S=%d P=%d tr=%d err=%v\n", folder, filepath.Base(path), st.Frame, len(st.Scans), tot.CBits,
				100*float64(tot.ExtendedBits)/float64(max(tot.CBits, 1)), 100*float64(tot.StrictBits)/float64(max(tot.CBits, 1)), tot.HBits, tot.SBits, tot.PBits, tot.Trailing, err)
		}
	}
}
