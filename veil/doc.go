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
// for metadata), so the direction is never guessed here: the caller says
// which one it wants, or asks, image by image and metadata item by metadata
// item, through Options.Decide.
package veil
