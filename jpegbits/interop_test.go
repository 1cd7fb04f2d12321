//go:build interop

package jpegbits

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestInteropDjpeg decodes every transformed corpus file with libjpeg-turbo's
// djpeg and checks that it succeeds wherever the original did (FORMAT.md
// §1 invariant 4, checked against the reference decoder).
func TestInteropDjpeg(t *testing.T) {
	djpeg, err := exec.LookPath("djpeg")
	if err != nil {
		t.Skip("djpeg not installed (Debian package libjpeg-turbo-progs)")
	}
	decodes := func(b []byte) bool {
		cmd := exec.Command(djpeg, "-outfile", os.DevNull)
		cmd.Stdin = bytes.NewReader(b)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		return cmd.Run() == nil
	}
	var files []string
	for _, folder := range []string{"photos", "conformance", "edge"} {
		files = append(files, corpusFiles(t, folder)...)
	}
	checked := 0
	for _, path := range files {
		in, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !decodes(in) {
			continue
		}
		for _, mode := range []Mode{Extended, Strict} {
			out, _, _ := transformWith(t, in, mode)
			if !decodes(out) {
				t.Errorf("%s (%v): djpeg decodes the original but not the transformed file", filepath.Base(path), mode)
			}
		}
		checked++
	}
	t.Logf("djpeg decoded the transformed version of all %d files it decodes", checked)
}
