package keystream

import (
	"crypto/hkdf"
	"crypto/sha256"
)

// Every subkey comes from one HKDF-SHA256 extraction of the master key with
// the mode in the salt, then one expansion per purpose. Binding the mode at
// the root means a key used with the wrong mode has a different key ID, a
// different ledger key and a different keystream: the mistake shows up as
// "not my photo" instead of a silently garbled decryption.
//
// The labels are part of the format (FORMAT.md, part II); changing any of them
// changes every ciphertext.
const (
	rootSaltPrefix = "jpegveil v1 mode " // + mode name

	purposeKeystream = "jpegveil v1 keystream"
	purposeNonce     = "jpegveil v1 nonce"
	purposeLedger    = "jpegveil v1 ledger"
	purposeKeyID     = "jpegveil v1 key id"
	purposePreviews  = "jpegveil v1 preview cache"
	purposeChecksums = "jpegveil v1 checksum map"
)

// subkeys holds the keys derived from one (master, mode) pair.
type subkeys struct {
	keystream [32]byte // XChaCha20 key of the chunk keystreams
	nonce     [32]byte // BLAKE2b key of the nonce chain
	ledger    [32]byte // for the ledger's HMAC fingerprints
	keyID     [32]byte // the key ID is its first 8 bytes
	previews  [32]byte // AEAD key of previews cached on disk
	checksums [32]byte // HMAC key of the checksum map and its stand-ins
}

// deriveSubkeys computes all subkeys of master under mode. The mode must
// already be valid.
func deriveSubkeys(master *[32]byte, mode Mode) subkeys {
	root, err := hkdf.Extract(sha256.New, master[:], []byte(rootSaltPrefix+string(mode)))
	if err != nil {
		// Only FIPS 140-only mode can refuse, and SHA-256 with a 32-byte
		// secret is approved there: failing here means a broken build.
		panic("keystream: HKDF-Extract failed: " + err.Error())
	}
	var s subkeys
	expand(s.keystream[:], root, purposeKeystream)
	expand(s.nonce[:], root, purposeNonce)
	expand(s.ledger[:], root, purposeLedger)
	expand(s.keyID[:], root, purposeKeyID)
	expand(s.previews[:], root, purposePreviews)
	expand(s.checksums[:], root, purposeChecksums)
	clear(root)
	return s
}

func expand(dst, root []byte, info string) {
	out, err := hkdf.Expand(sha256.New, root, info, len(dst))
	if err != nil {
		panic("keystream: HKDF-Expand failed: " + err.Error())
	}
	copy(dst, out)
	clear(out)
}
