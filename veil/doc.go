// Package veil encrypts and decrypts JPEG files with a jpegveil key. It
// joins package jpegbits, which decides which bits change, and package
// keystream, which supplies the bytes they are XORed with, and it computes
// the keyed fingerprints by which the proxy's ledger tells an encrypted
// image from any other.
//
// Encryption and decryption are the same operation (XOR), so the direction
// is never guessed here: the caller says which one it wants, or asks, image
// by image, through Options.Decide.
package veil
