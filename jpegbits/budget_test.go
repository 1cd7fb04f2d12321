package jpegbits

import (
	"errors"
	"os"
	"testing"
)

// TestWorkBudgetIsShared: images that share a WorkBudget draw from one work
// bound and one history cap (FORMAT.md §3.1, §6), so embedding images in a
// file cannot multiply them.
func TestWorkBudgetIsShared(t *testing.T) {
	in, err := os.ReadFile("testdata/seed/mozilla-jpg-progressive.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := TransformBytes(in, Options{Budget: new(WorkBudget)}); err != nil {
		t.Fatalf("alone: %v", err)
	}
	history := &WorkBudget{progressiveBlocks: maxProgressiveBlocks - 1}
	_, _, err = TransformBytes(in, Options{Budget: history})
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("with the history budget spent: %v, want UnsupportedError", err)
	}
	visits := &WorkBudget{visits: maxBlockVisits - 1}
	out, _, err := TransformBytes(in, Options{Budget: visits, Keystream: &testKeystream{}})
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Reason != "work bound exceeded" {
		t.Fatalf("with the visit budget spent: %v, want the work bound error", err)
	}
	if i := firstDiffFrom(in, out, fe.Offset); i >= 0 {
		t.Fatalf("byte %d changed after the work bound error at %d", i, fe.Offset)
	}
}
