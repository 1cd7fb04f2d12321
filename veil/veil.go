package veil

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"io"
	"slices"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

// Fingerprint identifies an image to the ledger: an HMAC under the key's
// ledger subkey over the image's non-metadata segments up to its first
// entropy-coded chunk and that chunk's bytes (FORMAT.md, "Fingerprints").
// It is computed over the bytes as they are, so a plaintext and its
// ciphertext have different fingerprints, and rewriting APPn/COM segments
// does not change it. Metadata items have fingerprints of the same type
// (FORMAT.md §27): embedded images like images, GPS and XMP location
// values over the values alone.
type Fingerprint [32]byte

// Options configure a Reader.
type Options struct {
	// StopAtError makes Read return a parse error as soon as the bytes
	// before it are read, instead of passing the rest through unchanged.
	// It applies to metadata as well: metadata that should be encrypted
	// but cannot be (see Result.Metadata) stops the stream with a
	// *MetadataError before any byte of the segment or embedded image that
	// holds it is handed out.
	StopAtError bool
	// Decide, when set, is called once per image and once per metadata
	// item (FORMAT.md part IV: the Exif thumbnail, every MPF image, the
	// GPS values, the XMP location values), before any of its bytes is
	// changed, with the fingerprint of the input; for the primary image
	// that is at its first chunk. When it returns false that image or item
	// passes unchanged; when it returns an error, Read returns it.
	Decide func(in Fingerprint) (transform bool, err error)
	// Record, when set, is called with the fingerprint of the output of
	// every image and metadata item that was transformed, before any of
	// its bytes is handed out. An encrypting proxy stores it in its
	// ledger here: the entry must exist before the ciphertext can reach
	// anyone, or a later re-upload of that ciphertext would be
	// "encrypted" again, which decrypts it. When it returns an error,
	// Read returns it.
	Record func(out Fingerprint) error

	// KeepThumbnail leaves Exif thumbnails as they are; KeepMPF leaves
	// the secondary images of an MPF file; KeepGPS leaves the GPS values
	// of Exif and the location properties of XMP. By default all of them
	// are encrypted (FORMAT.md part IV). A file must be decrypted with the
	// switches it was encrypted with.
	KeepThumbnail bool
	KeepMPF       bool
	KeepGPS       bool

	// Classify, when set, makes the Reader judge the direction of the
	// primary image with the keys of the ring (FORMAT.md §34) while it
	// transforms, in the same pass: the keys of the Reader's masking mode
	// are judged from the chunks the transform parses anyway, and the
	// Reader's own key (when it is in the ring) from the keystream it XORs
	// anyway. Read then hands out nothing before the verdict is final
	// (Judge); the output held back until then is at most the file's start
	// up to its first scan and MaxClassifyScanBytes + ClassifyLookahead of
	// scan data. A caller that finds the verdict calls for another
	// transform drops the Reader before reading from it.
	Classify *keystream.Keyring
	// Scratch, with Classify, lends the judging's buffers (nil: they are
	// allocated).
	Scratch *Scratch
}

// Result describes what a Reader did. It is complete once Read has
// returned io.EOF (or the Reader's error).
type Result struct {
	// Stats are the primary image's statistics.
	Stats *jpegbits.Stats
	// Err is the primary image's parse error (a *jpegbits.FormatError or
	// *jpegbits.UnsupportedError), or nil.
	Err error
	// Transformed reports whether any byte was changed, metadata
	// included.
	Transformed bool
	// HasFingerprint reports whether the primary image reached its first
	// chunk; In and Out are then the fingerprints of its input and
	// output.
	HasFingerprint bool
	In, Out        Fingerprint
	// Metadata lists the metadata items found, in file order of
	// discovery: Exif thumbnails, GPS values, XMP location values, MPF
	// images and the items after the image (FORMAT.md §31), each with
	// what was done to it.
	Metadata []MetadataResult
	// TrailerOffset is the file offset where the data after the image
	// that §31 plans starts, or -1 when there is none. Its items are
	// planned from the end of the file: a transform of a prefix of the
	// file (a ranged download) cannot decrypt them, so a caller that
	// wants bytes from here on must transform the whole file.
	TrailerOffset int64
}

// MetadataProblem returns the first metadata item that should have been
// encrypted but could not be (fully), as a *MetadataError, or nil.
func (r *Result) MetadataProblem() error {
	for i := range r.Metadata {
		if m := &r.Metadata[i]; m.Problem != "" {
			return m.problemError()
		}
	}
	return nil
}

// A Reader yields its source encrypted (or decrypted) with a key.
type Reader struct {
	t   *jpegbits.Transformer
	img *image
	s   *session
	pos int64 // output bytes handed out

	// The MPF image being transformed, if any, and its transformer.
	cur    *mpfImage
	curT   *jpegbits.Transformer
	curImg *image
	mpfAt  int // next entry of s.mpf

	head *headRecorder // the first bytes, to name a format that is not JPEG

	// With Options.Classify: the classifier, the output held back until
	// its verdict is final and what ended the reading then, and whether
	// the verdict is final.
	cls     *Classifier
	held    []byte
	heldErr error
	judged  bool
	// heldBuf is the storage of held, borrowed from Options.Scratch and
	// handed back once held is handed out.
	heldBuf []byte
}

// NewReader returns a Reader that transforms src with key.
func NewReader(key *keystream.Key, src io.Reader, opts Options) *Reader {
	s := &session{key: key, opts: opts, budget: new(jpegbits.WorkBudget)}
	head := &headRecorder{r: src}
	src = head
	img := newImage(key, "image", opts.Decide, opts.Record)
	img.s, img.meta, img.primary = s, true, true
	t := jpegbits.NewReader(src, jpegbits.Options{
		Mode:        Mode(key),
		Keystream:   img,
		StopAtError: opts.StopAtError,
		Budget:      s.budget,
	})
	img.t = t
	r := &Reader{t: t, img: img, s: s, head: head}
	if opts.Classify != nil {
		r.cls = newClassifier(opts.Classify, key, t, opts.Scratch)
		img.cls = r.cls
		head.tee = r.cls
	}
	return r
}

// Mode returns the masking rule of key.
func Mode(key *keystream.Key) jpegbits.Mode {
	if key.Mode() == keystream.ModeStrict {
		return jpegbits.Strict
	}
	return jpegbits.Extended
}

// Read implements io.Reader. With Options.Classify it judges first
// (Judge), and returns ErrInputPending from the source as Judge does.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.cls != nil && !r.judged {
		if err := r.Judge(); err != nil {
			return 0, err
		}
	}
	if len(r.held) > 0 {
		n := copy(p, r.held)
		r.held = r.held[n:]
		if len(r.held) == 0 {
			r.s.opts.Scratch.putHeld(r.heldBuf)
			r.held, r.heldBuf = nil, nil
		}
		return n, nil
	}
	if r.heldErr != nil {
		return 0, r.heldErr
	}
	return r.read(p)
}

// Judge reads on, holding the output back, until the classifier's verdict
// on the primary image is final (Options.Classify; it panics without). It
// returns jpegbits.ErrInputPending when the source said so before then:
// Judge (or Read) may be called again once the source has more. Any other
// error ends the judging, and Read returns it after the output before it.
func (r *Reader) Judge() error {
	if r.cls == nil {
		panic("veil: Judge on a Reader without Options.Classify")
	}
	for !r.judged && !r.cls.Done() {
		if r.held == nil {
			r.held = r.s.opts.Scratch.getHeld()
		}
		if len(r.held) == cap(r.held) {
			// The verdict usually comes within the first few KiB of the
			// scan: start small, and double.
			r.held = slices.Grow(r.held, max(len(r.held), 8<<10))
		}
		r.heldBuf = r.held
		n, err := r.read(r.held[len(r.held):cap(r.held)])
		r.held = r.held[:len(r.held)+n]
		if perr := r.t.Err(); perr != nil && !r.cls.rider.ended {
			// The image failed to parse: what follows passes unchanged
			// (without StopAtError), and the rider has read all it will.
			r.cls.rider.err = perr
			r.cls.rideStop()
		}
		if err == nil {
			continue
		}
		if errors.Is(err, jpegbits.ErrInputPending) {
			return err
		}
		r.heldErr = err
		if r.s.err != nil || r.s.stop != nil {
			// Not the image's parse error: the caller's Decide or
			// Record failed, or metadata cannot be encrypted.
			r.cls.rideInterrupted()
		} else if err != io.EOF {
			r.cls.rider.err = err
		}
		break
	}
	r.Verdict()
	return nil
}

// Verdict returns the classifier's verdict (Options.Classify), made final
// now if it was not: a caller that holds back no more of the file decides
// on what was read. Read then hands out the output held back and reads on.
func (r *Reader) Verdict() Verdict {
	if !r.judged {
		r.judged = true
		r.cls.Close()
	}
	return r.cls.Verdict()
}

// Judged reports whether the verdict is final.
func (r *Reader) Judged() bool { return r.judged || r.cls.Done() }

// Interrupted reports whether the transform stopped judging before the
// verdict was final for a reason of its own rather than the file's: its
// Options.Decide passed the primary image or failed, its Options.Record
// failed, or it met metadata it cannot encrypt (with StopAtError). Its
// verdict is then not the classifier's over the file; a caller that needs
// that one classifies the file with a Classifier of its own.
func (r *Reader) Interrupted() bool { return r.cls.interrupted }

// Fingerprints returns the primary image's fingerprints under every key of
// the ring of Options.Classify, once the first chunk was read (see
// Classifier.Fingerprints).
func (r *Reader) Fingerprints() []KeyFingerprint { return r.cls.Fingerprints() }

// read is Read without the judging.
func (r *Reader) read(p []byte) (int, error) {
	for {
		if r.s.err != nil {
			return 0, r.s.err
		}
		if r.s.stop != nil && r.pos >= r.s.stopAt {
			return 0, r.s.stop
		}
		if r.s.tr != nil {
			return r.readTrailer(p)
		}
		if r.cur != nil {
			n, err := r.readMPF(p)
			if n == 0 && err == nil {
				continue
			}
			return n, err
		}
		q := p
		if m := r.nextMPF(); m != nil {
			if m.start == r.pos {
				r.startMPF(m)
				continue
			}
			q = q[:min(int64(len(q)), m.start-r.pos)]
		}
		n, err := r.t.Read(q)
		err = r.formatError(err)
		if r.s.err != nil {
			return 0, r.s.err
		}
		n = r.s.checkTrailing(q[:n], r.pos, r.mpfAt < len(r.s.mpf))
		if r.s.tr != nil {
			// The trailer starts here; the transformer's end of
			// input is the trailer's, which readTrailer meets again.
			if err == io.EOF {
				err = nil
			}
			if n == 0 && err == nil {
				continue
			}
		}
		if r.s.stop != nil && r.pos+int64(n) > r.s.stopAt {
			// Metadata that cannot be encrypted was found while reading:
			// nothing from its segment on is handed out.
			n, err = int(max(0, r.s.stopAt-r.pos)), nil
			if n == 0 {
				return 0, r.s.stop
			}
		}
		r.pos += int64(n)
		return n, err
	}
}

// Result returns what the Reader did so far.
func (r *Reader) Result() Result {
	res := r.img.res
	res.Stats = r.t.Stats()
	res.Err = r.formatError(r.t.Err())
	res.Metadata = append([]MetadataResult(nil), r.s.items...)
	res.TrailerOffset = -1
	if r.s.tr != nil {
		res.TrailerOffset = r.s.tr.start
	}
	for _, m := range res.Metadata {
		res.Transformed = res.Transformed || m.Transformed
	}
	return res
}

// Transform copies src to dst, transformed with key. It returns the result
// and, like jpegbits.Transform, the parse error if there was one (the output
// is then complete, with everything from the error on unchanged), else the
// first metadata item that could not be encrypted as a *MetadataError (the
// output is complete, with that item unchanged or partly transformed), or
// an I/O error.
func Transform(key *keystream.Key, dst io.Writer, src io.Reader, opts Options) (Result, error) {
	return NewReader(key, src, opts).Finish(dst)
}

// Finish writes the rest of r's output to dst and returns what r did, with
// the error Transform returns: an I/O error, else the primary image's
// parse error, else the first metadata problem.
func (r *Reader) Finish(dst io.Writer) (Result, error) {
	if _, err := io.Copy(dst, r); err != nil {
		return r.Result(), err
	}
	res := r.Result()
	if res.Err != nil {
		return res, res.Err
	}
	return res, res.MetadataProblem()
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
// error, or a *MetadataError (metadata that cannot be encrypted), as
// opposed to an I/O error.
func IsParseError(err error) bool {
	// An *UnsupportedFormatError wraps a *jpegbits.FormatError.
	var fe *jpegbits.FormatError
	var ue *jpegbits.UnsupportedError
	var me *MetadataError
	return errors.As(err, &fe) || errors.As(err, &ue) || errors.As(err, &me)
}

// image is the jpegbits.Keystream of one image: its nonce chain and its
// fingerprints.
type image struct {
	// s is the Reader's session (nil for images made by tests); meta says
	// whether the image's metadata segments are examined (not for Exif
	// thumbnails).
	s       *session
	meta    bool
	t       *jpegbits.Transformer // the transformer it is the Keystream of
	primary bool                  // the file's primary image (MPF is read from it)
	base    int64                 // file offset of the image's SOI
	mpfNum  int                   // N for MPF image N, else 0
	// exifSeen: the image's first APP1 Exif segment was examined.
	exifSeen bool

	lbl       string
	chain     *keystream.Chain
	decide    func(Fingerprint) (bool, error)
	record    func(Fingerprint) error
	fpIn      hash.Hash
	fpOut     hash.Hash
	started   bool // the first chunk was seen
	transform bool
	res       Result
	err       error // a Decide or Record error of an image without session
	// cls, for the primary image of a Reader with Options.Classify, is
	// told the image's segments and chunks.
	cls *Classifier
}

// fingerprintLabel starts every fingerprint, so the ledger key can never
// produce a MAC that means anything else.
const fingerprintLabel = "jpegveil v1 fingerprint"

func newImage(key *keystream.Key, label string, decide func(Fingerprint) (bool, error), rec func(Fingerprint) error) *image {
	lk := key.LedgerKey()
	img := &image{
		lbl:       label,
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
	if img.meta {
		img.metadataSegment(seg)
	}
	if img.cls != nil {
		img.cls.rideSegment(seg)
	}
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
		if img.primary && img.s != nil {
			img.s.anchor = append([]byte(nil), c.Skeleton...)
		}
		record(img.fpIn, 0x02, c.Data)
		img.res.HasFingerprint = true
		img.fpIn.Sum(img.res.In[:0])
		if img.decide != nil {
			var err error
			img.transform, err = img.decide(img.res.In)
			if err != nil {
				img.fail(err)
				img.transform = false
			}
		}
	}
	if !img.transform {
		if img.cls != nil {
			img.cls.rideSkipped(c, &img.res.In)
		}
		clear(dst)
		if img.res.Out == (Fingerprint{}) {
			img.res.Out = img.res.In
		}
		if img.t != nil {
			// Nothing of the image changes: the rest of its scans need
			// not be parsed.
			img.t.Skim()
		}
		return
	}
	img.chain.ChunkKeystream(c.Skeleton, dst)
	if img.cls != nil {
		img.cls.rideChunk(c, dst, &img.res.In)
	}
	if img.res.Out == (Fingerprint{}) {
		out := make([]byte, len(c.Data))
		for i := range out {
			out[i] = c.Data[i] ^ dst[i]&c.Mask[i]
		}
		record(img.fpOut, 0x02, out)
		img.fpOut.Sum(img.res.Out[:0])
		if img.record != nil {
			if err := img.record(img.res.Out); err != nil {
				img.fail(err)
			}
		}
	}
	img.res.Transformed = true
}

// fail keeps the first Decide or Record error: in the session, which stops
// the Reader, or in the image.
func (img *image) fail(err error) {
	if img.s != nil {
		if img.s.err == nil {
			img.s.err = err
		}
		return
	}
	if img.err == nil {
		img.err = err
	}
}
