package veil

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"io"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

// Fingerprint identifies an image to the ledger: an HMAC under the key's
// ledger subkey over the image's non-metadata segments up to its first
// entropy-coded chunk and that chunk's bytes (FORMAT.md, "Fingerprints").
// It is computed over the bytes as they are, so a plaintext and its
// ciphertext have different fingerprints, and rewriting APPn/COM segments
// does not change it.
type Fingerprint [32]byte

// Options configure a Reader.
type Options struct {
	// StopAtError makes Read return a parse error as soon as the bytes
	// before it are read, instead of passing the rest through unchanged.
	StopAtError bool
	// Decide, when set, is called once, before the first chunk of the image
	// is changed, with the fingerprint of the input. When it returns false
	// the image passes unchanged; when it returns an error, Read returns it.
	Decide func(in Fingerprint) (transform bool, err error)
	// Record, when set, is called with the fingerprint of the output once
	// the first chunk has been transformed and before any of it is handed
	// out. An encrypting proxy stores it in its ledger here: the entry
	// must exist before the ciphertext can reach anyone, or a later
	// re-upload of that ciphertext would be "encrypted" again, which
	// decrypts it. When it returns an error, Read returns it.
	Record func(out Fingerprint) error
}

// Result describes what a Reader did. It is complete once Read has
// returned io.EOF (or the Reader's error).
type Result struct {
	Stats *jpegbits.Stats
	// Err is the parse error (a *jpegbits.FormatError or
	// *jpegbits.UnsupportedError), or nil.
	Err error
	// Transformed reports whether any byte was changed.
	Transformed bool
	// HasFingerprint reports whether the image reached its first chunk;
	// In and Out are then the fingerprints of the input and the output.
	HasFingerprint bool
	In, Out        Fingerprint
}

// A Reader yields its source encrypted (or decrypted) with a key.
type Reader struct {
	t   *jpegbits.Transformer
	img *image
}

// NewReader returns a Reader that transforms src with key.
func NewReader(key *keystream.Key, src io.Reader, opts Options) *Reader {
	img := newImage(key, "image", opts.Decide, opts.Record)
	t := jpegbits.NewReader(src, jpegbits.Options{
		Mode:        Mode(key),
		Keystream:   img,
		StopAtError: opts.StopAtError,
	})
	return &Reader{t: t, img: img}
}

// Mode returns the masking rule of key.
func Mode(key *keystream.Key) jpegbits.Mode {
	if key.Mode() == keystream.ModeStrict {
		return jpegbits.Strict
	}
	return jpegbits.Extended
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.t.Read(p)
	if r.img.err != nil {
		return 0, r.img.err
	}
	return n, err
}

// Result returns what the Reader did so far.
func (r *Reader) Result() Result {
	res := r.img.res
	res.Stats = r.t.Stats()
	res.Err = r.t.Err()
	return res
}

// Transform copies src to dst, transformed with key. It returns the result
// and, like jpegbits.Transform, the parse error if there was one (the output
// is then complete, with everything from the error on unchanged), or an I/O
// error.
func Transform(key *keystream.Key, dst io.Writer, src io.Reader, opts Options) (Result, error) {
	r := NewReader(key, src, opts)
	if _, err := io.Copy(dst, r); err != nil {
		return r.Result(), err
	}
	res := r.Result()
	return res, res.Err
}

// Encrypt is Transform in the encrypting direction.
func Encrypt(key *keystream.Key, dst io.Writer, src io.Reader) (Result, error) {
	return Transform(key, dst, src, Options{})
}

// Decrypt is Transform in the decrypting direction; it is the same
// operation as Encrypt.
func Decrypt(key *keystream.Key, dst io.Writer, src io.Reader) (Result, error) {
	return Transform(key, dst, src, Options{})
}

// IsParseError reports whether err is a jpegbits format or unsupported
// error, as opposed to an I/O error.
func IsParseError(err error) bool {
	var fe *jpegbits.FormatError
	var ue *jpegbits.UnsupportedError
	return errors.As(err, &fe) || errors.As(err, &ue)
}

// image is the jpegbits.Keystream of one image: its nonce chain and its
// fingerprints.
type image struct {
	chain     *keystream.Chain
	decide    func(Fingerprint) (bool, error)
	record    func(Fingerprint) error
	fpIn      hash.Hash
	fpOut     hash.Hash
	started   bool // the first chunk was seen
	transform bool
	res       Result
	err       error
}

// fingerprintLabel starts every fingerprint, so the ledger key can never
// produce a MAC that means anything else.
const fingerprintLabel = "jpegveil v1 fingerprint"

func newImage(key *keystream.Key, label string, decide func(Fingerprint) (bool, error), rec func(Fingerprint) error) *image {
	lk := key.LedgerKey()
	img := &image{
		chain:     key.NewChain(label),
		decide:    decide,
		record:    rec,
		fpIn:      hmac.New(sha256.New, lk),
		fpOut:     hmac.New(sha256.New, lk),
		transform: true,
	}
	clear(lk)
	img.fpIn.Write([]byte(fingerprintLabel))
	img.fpOut.Write([]byte(fingerprintLabel))
	return img
}

// isMetadata reports whether a segment is left out of the chain and the
// fingerprint: APP0–APP15 and COM, which services rewrite.
func isMetadata(marker byte) bool {
	return marker >= 0xE0 && marker <= 0xEF || marker == 0xFE
}

func record(h hash.Hash, tag byte, b []byte) {
	var hdr [5]byte
	hdr[0] = tag
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(b)))
	h.Write(hdr[:])
	h.Write(b)
}

// Segment implements jpegbits.Keystream.
func (img *image) Segment(seg []byte) {
	if isMetadata(seg[1]) || !img.transform {
		return
	}
	img.chain.AbsorbSegment(seg)
	if !img.started {
		record(img.fpIn, 0x01, seg)
		record(img.fpOut, 0x01, seg)
	}
}

// Chunk implements jpegbits.Keystream.
func (img *image) Chunk(c jpegbits.Chunk, dst []byte) {
	if !img.started {
		img.started = true
		record(img.fpIn, 0x02, c.Data)
		img.res.HasFingerprint = true
		img.fpIn.Sum(img.res.In[:0])
		if img.decide != nil {
			img.transform, img.err = img.decide(img.res.In)
			if img.err != nil {
				img.transform = false
			}
		}
	}
	if !img.transform {
		clear(dst)
		if img.res.Out == (Fingerprint{}) {
			img.res.Out = img.res.In
		}
		return
	}
	img.chain.ChunkKeystream(c.Skeleton, dst)
	if img.res.Out == (Fingerprint{}) {
		out := make([]byte, len(c.Data))
		for i := range out {
			out[i] = c.Data[i] ^ dst[i]&c.Mask[i]
		}
		record(img.fpOut, 0x02, out)
		img.fpOut.Sum(img.res.Out[:0])
		if img.record != nil {
			img.err = img.record(img.res.Out)
		}
	}
	img.res.Transformed = true
}
