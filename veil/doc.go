// Package veil encrypts and decrypts JPEG files with a jpegveil key. It
// joins package jpegbits, which decides which bits change, and package
// keystream, which supplies the bytes they are XORed with, and it computes
// the keyed fingerprints by which the proxy's ledger tells an encrypted
// image from any other.
//
// It also encrypts the metadata that would give a photo away (FORMAT.md
// part IV), in place and keeping the file valid: the Exif thumbnail and the
// MPF images as images of their own, and the GPS position in Exif and XMP
// with an involutive format-preserving transform that keeps every value of
// its type and range. Result.Metadata says what was done to each item.
//
// Encryption and decryption are the same operation (XOR, and involutions
// for metadata), so a Reader never guesses the direction: the caller says
// which one it wants, or asks, image by image and metadata item by metadata
// item, through Options.Decide.
//
// The caller can learn it from the file alone with a Classifier (FORMAT.md
// part VI): given a keyring, it tells a plaintext from the ciphertext of
// one of its keys, or says Unsure, from the marker segments and at most the
// first 64 KiB of the first scan. A streaming caller writes the body into
// it as it arrives, holds back the bytes until Done reports true (or the
// body ends; then Close), and then transforms the whole body with the key
// the verdict names:
//
//	c := veil.NewClassifier(ring)
//	// for each piece of the body: c.Write(piece); buffer it; stop when c.Done()
//	v := c.Close() // the final verdict
//	switch v.Class {
//	case veil.Ciphertext: // ours under v.Key: an upload passes, a download decrypts with v.Key
//	case veil.Plaintext:  // an upload encrypts with ring.Current(), a download passes
//	case veil.Unsure:     // the caller's policy; v.Reason says why
//	}
//
// Classify and ClassifyBytes do the same for an io.Reader and a slice.
package veil
