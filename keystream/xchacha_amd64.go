//go:build gc && !purego

package keystream

import "golang.org/x/sys/cpu"

// sealIsFast reports whether chacha20poly1305 seals with its AVX2 code
// (the condition it checks itself); without AVX2 it falls back to the
// portable chacha20 plus Poly1305, slower than chacha20 alone.
func sealIsFast() bool {
	return cpu.X86.HasSSSE3 && cpu.X86.HasAVX2 && cpu.X86.HasBMI2
}
