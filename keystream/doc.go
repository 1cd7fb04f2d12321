// Package keystream supplies jpegveil's keys and keystream.
//
// It knows nothing about JPEG. The caller (package jpegbits) decides which
// bits of the entropy-coded data change and feeds this package, in file
// order, the bytes that both the plaintext and the ciphertext share: the
// segments it absorbs and the skeleton of every chunk of entropy-coded data.
// In return it gets one keystream byte per entropy-coded byte.
//
// The pieces, each in its own file:
//
//   - [Mode]: the masking rule (strict or extended). It belongs to the key,
//     not to a call, because decrypting with the wrong rule scrambles the
//     photo; it is bound into every subkey and so into the key ID.
//   - [Key]: a 32-byte master key and its mode, with the subkeys derived
//     from them by HKDF-SHA256 (kdf.go) and the key ID users compare
//     between devices (keyid.go).
//   - [DeriveKey]: a master key from a passphrase with Argon2id.
//   - [KeyFile]: the versioned, line-based key file format, and
//     [WriteKeyFile] / [ReadKeyFile], which insist on mode 0600.
//   - [Chain]: the keyed BLAKE2b nonce chain over one image, and the
//     XChaCha20 keystream of each chunk.
//
// FORMAT.md (part II) at the repository root is the normative description of every
// byte this package reads, writes or derives, with test vectors.
//
// A [Key] is immutable and safe for concurrent use. A [Chain] is not: it
// follows one image, in order, in one goroutine.
package keystream
