//go:build !amd64 || !gc || purego

package keystream

// sealIsFast is false where chacha20poly1305 has no faster ChaCha20 than
// chacha20's own.
func sealIsFast() bool { return false }
