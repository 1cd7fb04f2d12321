package jpegbits

import "testing"

func TestExtendTable(t *testing.T) {
	ref := func(v uint32, tt uint) int32 {
		if tt == 0 {
			return 0
		}
		if v < 1<<(tt-1) {
			return int32(v) - (1<<tt - 1)
		}
		return int32(v)
	}
	for tt := uint(0); tt <= 16; tt++ {
		for v := uint32(0); v < 1<<tt; v++ {
			if Extend(v, tt) != ref(v, tt) {
				t.Fatalf("Extend(%d, %d) = %d, want %d", v, tt, Extend(v, tt), ref(v, tt))
			}
		}
	}
}
