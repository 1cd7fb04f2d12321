// Package jpegbits walks a JPEG file's markers and entropy-coded segments
// and changes only the bits that can change without moving a single byte.
//
// Every bit of each entropy-coded segment (ECS) is labelled while the
// Huffman-coded data is parsed (ITU-T T.81 Annex F for sequential, Annex G
// for progressive scans): Huffman code bits (H), structural raw bits such as
// EOB-run lengths (S), padding (P) and candidate bits (C), the additional
// bits after each symbol whose value never changes the parse. A per-byte
// masking rule then picks the C bits to change so that no byte can become or
// stop being 0xFF: the file keeps its length, its byte stuffing and its
// markers, still decodes everywhere, and the mask of a transformed file
// equals the mask of the original. Applying the same keystream twice
// restores the input.
//
// The package knows nothing of cryptography: a [Keystream] supplies the
// bytes to XOR, chunk by chunk, and is told every segment on the way so it
// can bind its nonces to the image. FORMAT.md at the repository root is the
// normative description of the labelling, the masking rules and the error
// positions; this package is its reference implementation.
package jpegbits
