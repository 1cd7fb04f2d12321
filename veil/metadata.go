package veil

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"jpegveil/exif"
	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

// Kinds of metadata items (FORMAT.md part IV).
const (
	KindThumbnail   = "exif thumbnail"
	KindGPS         = "gps"
	KindXMPLocation = "xmp location"
	KindMPFImage    = "mpf image"
	// KindTrailing is data after the primary image's EOI that no MPF
	// entry declares (a motion photo's video, say): it cannot be
	// encrypted, so it is a problem unless it is padding.
	KindTrailing = "trailing data"
)

// Actions taken on a metadata item.
const (
	// ActionTransformed: the item was encrypted (or decrypted).
	ActionTransformed = "transformed"
	// ActionPassed: Options.Decide said to leave it (the ledger knows it
	// as a ciphertext on upload, or does not know it on download).
	ActionPassed = "passed"
	// ActionKept: an Options switch said to leave it.
	ActionKept = "kept"
	// ActionNone: nothing in it could be transformed (see Problem).
	ActionNone = "none"
)

// MetadataResult describes one metadata item of a file and what was done to
// it.
type MetadataResult struct {
	// Kind is one of KindThumbnail, KindGPS, KindXMPLocation and
	// KindMPFImage; Label is the chain or transform label it used
	// ("exif thumbnail", "mpf image 2", "gps", …).
	Kind, Label string
	// Offset and Length locate it in the file: the embedded image, or the
	// payload of the segment that holds the GPS or XMP values.
	Offset, Length int64
	Action         string
	Transformed    bool
	// Fields names the GPS fields or XMP properties found (GPS and XMP).
	Fields []string
	// Problem says what could not be encrypted: a location field outside
	// the encrypted range, a thumbnail that is not a JPEG image or stops at
	// a parse error, … Empty when everything was (or, with Action kept or
	// passed, would have been) encrypted.
	Problem string
	// Err is the parse error of an embedded image, and Stats its
	// statistics.
	Err   error
	Stats *jpegbits.Stats
	// HasFingerprint reports whether In and Out, the fingerprints of the
	// item's input and output (FORMAT.md §27), were computed: those of an
	// embedded image, or for GPS and XMP those of the values alone.
	HasFingerprint bool
	In, Out        Fingerprint
}

func (m *MetadataResult) problemError() *MetadataError {
	return &MetadataError{Offset: m.Offset, Item: m.Label, Reason: m.Problem}
}

// A MetadataError reports metadata that should be encrypted but cannot be
// (fully). The output holds it unchanged or, for an embedded image, encrypted
// up to its parse error.
type MetadataError struct {
	Offset int64  // file offset of the item
	Item   string // its label, e.g. "exif thumbnail", "gps"
	Reason string
}

func (e *MetadataError) Error() string {
	return fmt.Sprintf("%s at byte %d cannot be encrypted: %s", e.Item, e.Offset, e.Reason)
}

// session is the state a Reader's images share.
type session struct {
	key  *keystream.Key
	opts Options
	// budget is the work bound of the file, shared by the primary image
	// and every embedded image (FORMAT.md §6), so that a file cannot
	// multiply it by embedding images.
	budget *jpegbits.WorkBudget
	items  []MetadataResult
	// err is the first Decide or Record error; it stops the Reader.
	err error
	// stop, with Options.StopAtError, is the metadata error that ends the
	// output at file offset stopAt.
	stop   error
	stopAt int64

	// MPF: the first valid MPF segment's entries and MP header offset,
	// and the images planned from them at the primary image's EOI.
	mpfSeen    bool
	mpfHeader  int64
	mpfEntries []exif.MPEntry
	mpf        []*mpfImage

	// eoiEnd is the offset after the primary image's EOI (0 before it),
	// declared the byte ranges of every MPF image after it (transformed,
	// kept or not), and trailingSeen whether data outside them was found.
	eoiEnd       int64
	declared     [][2]int64
	trailingSeen bool

	// container is the primary image's XMP Container directory and
	// motion-photo flags, if any; anchor the skeleton of its first chunk,
	// which the chains of trailer items absorb (FORMAT.md §31.4); pad the
	// last padding bytes handed out after EOI; tr the trailer, once found.
	container *exif.Container
	anchor    []byte
	pad       []byte
	tr        *trailer
}

func (s *session) isDeclared(at int64) bool {
	for _, r := range s.declared {
		if at >= r[0] && at < r[1] {
			return true
		}
	}
	return false
}

// tagStripOffsets is TIFF's StripOffsets: in IFD1, an uncompressed
// thumbnail.
const tagStripOffsets = 0x0111

// maxMPFImages bounds the MPF images a file can make the transform parse.
const maxMPFImages = 32

// mpfImage is an MPF image to transform: MP entry num (1-based) at
// [start, start+size) of the file.
type mpfImage struct {
	num         int
	start, size int64
	item        int // index of its MetadataResult
}

// add records an item found in the segment at file offset segOff.
func (s *session) add(it MetadataResult, segOff int64) int {
	s.items = append(s.items, it)
	if it.Problem != "" && s.opts.StopAtError && s.stop == nil {
		s.stop, s.stopAt = it.problemError(), segOff
	}
	return len(s.items) - 1
}

// metadataSegment examines one segment of an image for metadata (FORMAT.md
// §21): APP1 Exif (thumbnail, GPS), APP1 XMP, and, in the primary image,
// APP2 MPF and the EOI that ends the primary image.
func (img *image) metadataSegment(seg []byte) {
	off := img.base + img.t.SegmentOffset()
	m := seg[1]
	if m == 0xD9 && img.primary {
		img.s.eoiEnd = off + 2
		img.s.planMPF(off + 2)
		return
	}
	if len(seg) < 4 {
		return
	}
	p := seg[4:]
	switch {
	case m == 0xE1 && bytes.HasPrefix(p, []byte(exif.Header)):
		x, _ := exif.Parse(p)
		switch {
		case x == nil:
		case img.exifSeen:
			img.extraExif(p, off, x)
		default:
			img.exifSeen = true
			img.exifSegment(p, off, x)
		}
	case m == 0xE1 && bytes.HasPrefix(p, []byte(exif.XMPHeader)):
		if img.primary {
			// Before the location transform: it never changes the
			// Container properties, but read them as they are.
			img.s.containerSegment(p)
		}
		img.xmpSegment(p, off)
	case m == 0xE1 && bytes.HasPrefix(p, []byte(exif.XMPExtendedHeader)):
		img.xmpExtended(p, off)
	case m == 0xE2 && img.primary && !img.s.mpfSeen && bytes.HasPrefix(p, []byte(exif.MPFHeader)):
		if mp, _ := exif.ParseMPF(p); mp != nil {
			img.s.mpfSeen = true
			img.s.mpfHeader = off + 4 + int64(mp.HeaderOffset)
			img.s.mpfEntries = mp.Entries
		}
	}
}

func (img *image) thumbnailLabel() string {
	if img.mpfNum > 0 {
		return fmt.Sprintf("mpf image %d exif thumbnail", img.mpfNum)
	}
	return "exif thumbnail"
}

// exifSegment encrypts the thumbnail and the GPS values of an APP1 Exif
// payload p (parsed as x), in place; the segment is at file offset off.
func (img *image) exifSegment(p []byte, off int64, x *exif.Exif) {
	s, payOff := img.s, off+4
	th, hasThumb := thumbnailSpan(x)
	if hasThumb {
		it := MetadataResult{Kind: KindThumbnail, Label: img.thumbnailLabel(), Offset: payOff + int64(th.lo), Length: int64(th.hi - th.lo), Action: ActionNone}
		thumb := p[th.lo:th.hi]
		switch {
		case s.opts.KeepThumbnail:
			it.Action = ActionKept
		case !x.Thumbnail.JPEG:
			if !allZero(thumb) {
				it.Problem = "the thumbnail is not a JPEG image"
			}
		case exifStructure(p, x).overlaps(th):
			it.Problem = "the thumbnail overlaps the Exif structure"
		default:
			img.thumbnail(thumb, &it)
		}
		s.add(it, off)
	}
	if e, ok := x.IFD1.Find(tagStripOffsets); ok && !s.opts.KeepThumbnail {
		// An uncompressed (TIFF strips) thumbnail: a picture that is not
		// a JPEG image, which some cameras write (FORMAT.md §22).
		s.add(MetadataResult{Kind: KindThumbnail, Label: img.thumbnailLabel(), Offset: payOff + int64(e.EntryOffset), Action: ActionNone,
			Problem: "the thumbnail is stored as TIFF strips, not as a JPEG image"}, off)
	}
	pl := planGPS(p, x)
	if len(pl.fields) == 0 && len(pl.problems) == 0 {
		return
	}
	it := MetadataResult{Kind: KindGPS, Label: "gps", Offset: payOff, Length: int64(len(p)), Fields: pl.fields, Action: ActionNone}
	switch {
	case s.opts.KeepGPS:
		it.Action = ActionKept
	default:
		it.Problem = strings.Join(pl.problems, "; ")
		img.dataItem(&it, p, pl.els)
	}
	s.add(it, off)
}

// extraExif reports the thumbnail and GPS values of an APP1 Exif segment
// after the image's first one (Exif allows one): they are not encrypted,
// which bounds the embedded images a file can make the transform parse.
func (img *image) extraExif(p []byte, off int64, x *exif.Exif) {
	if x.Thumbnail != nil && !img.s.opts.KeepThumbnail {
		th := x.Thumbnail
		img.s.add(MetadataResult{Kind: KindThumbnail, Label: img.thumbnailLabel(), Offset: off + 4 + int64(th.Offset), Length: int64(th.Length),
			Action: ActionNone, Problem: "the thumbnail of a second Exif segment is not encrypted"}, off)
	}
	if x.GPS != nil && len(x.GPS.Entries) > 0 && !img.s.opts.KeepGPS {
		img.s.add(MetadataResult{Kind: KindGPS, Label: "gps", Offset: off + 4, Length: int64(len(p)), Fields: x.GPSFields(),
			Action: ActionNone, Problem: "the GPS values of a second Exif segment are not encrypted"}, off)
	}
}

// thumbnail transforms an Exif thumbnail in place as an image of its own.
func (img *image) thumbnail(thumb []byte, it *MetadataResult) {
	if perr := img.s.embeddedJPEG(thumb, it); perr != nil {
		it.Problem = "the thumbnail is not fully encrypted: " + perr.Error()
	}
}

// embeddedJPEG transforms an embedded JPEG image held in memory (an Exif
// thumbnail, a Container image) in place, as an image of its own labelled
// it.Label, and returns its parse error.
func (s *session) embeddedJPEG(b []byte, it *MetadataResult) error {
	sub := newImage(s.key, it.Label, s.opts.Decide, s.opts.Record)
	sub.s = s
	out, st, perr := jpegbits.TransformBytes(b, jpegbits.Options{Mode: Mode(s.key), Keystream: sub, Budget: s.budget})
	if len(out) == len(b) {
		copy(b, out)
	}
	it.Stats, it.Err = st, perr
	sub.embeddedResult(it)
	return perr
}

// embeddedResult fills in what an embedded image's Keystream did.
func (sub *image) embeddedResult(it *MetadataResult) {
	it.HasFingerprint, it.In, it.Out = sub.res.HasFingerprint, sub.res.In, sub.res.Out
	it.Transformed = sub.res.Transformed
	switch {
	case it.Transformed:
		it.Action = ActionTransformed
	case sub.res.HasFingerprint && !sub.transform:
		it.Action = ActionPassed
	}
}

// dataItem transforms the elements of a GPS or XMP item of payload p,
// asking Decide and telling Record. The item's fingerprints are those of its
// values (FORMAT.md §27), not of the payload's bytes: a service that edits
// anything else in the segment changes neither its direction nor what the
// transform does with it.
func (img *image) dataItem(it *MetadataResult, p []byte, els []element) {
	if len(els) == 0 {
		return
	}
	key := img.s.key
	radices, vals := loadElements(p, els)
	it.HasFingerprint = true
	it.In = valuesFingerprint(key, it.Label, radices, vals)
	if img.decide != nil {
		ok, err := img.decide(it.In)
		if err != nil {
			img.fail(err)
			return
		}
		if !ok {
			it.Action, it.Out = ActionPassed, it.In
			return
		}
	}
	ifpe(key, it.Label, radices, vals)
	it.Out = valuesFingerprint(key, it.Label, radices, vals)
	if img.record != nil {
		if err := img.record(it.Out); err != nil {
			img.fail(err)
			return
		}
	}
	storeElements(p, els, vals)
	it.Action, it.Transformed = ActionTransformed, true
}

// valuesFingerprintLabel starts the fingerprint of GPS and XMP values; it
// differs from fingerprintLabel, so no such fingerprint is ever an image's.
const valuesFingerprintLabel = "jpegveil v1 values fingerprint"

// valuesFingerprint is the fingerprint of the values of a GPS or XMP item
// (FORMAT.md §27): an HMAC over exactly what the metadata transform reads
// besides the key — its label, the radices and the values — so that two
// items have the same fingerprint if and only if (but for HMAC collisions)
// the transform maps them to the same output.
func valuesFingerprint(key *keystream.Key, label string, radices, vals []uint64) Fingerprint {
	lk := key.LedgerKey()
	h := hmac.New(sha256.New, lk)
	clear(lk)
	h.Write([]byte(valuesFingerprintLabel))
	record(h, 0x00, []byte(label))
	record(h, 0x01, ifpeTweak(radices))
	v := make([]byte, 0, 8*len(vals))
	for _, x := range vals {
		v = binary.BigEndian.AppendUint64(v, x)
	}
	record(h, 0x03, v)
	var fp Fingerprint
	h.Sum(fp[:0])
	return fp
}

// xmpSegment encrypts the location values of a standard XMP packet.
func (img *image) xmpSegment(p []byte, off int64) {
	pl := planXMP(p, len(exif.XMPHeader))
	if len(pl.fields) == 0 && len(pl.problems) == 0 {
		return
	}
	it := MetadataResult{Kind: KindXMPLocation, Label: "xmp location", Offset: off + 4, Length: int64(len(p)), Fields: pl.fields, Action: ActionNone}
	if img.s.opts.KeepGPS {
		it.Action = ActionKept
	} else {
		it.Problem = strings.Join(pl.problems, "; ")
		img.dataItem(&it, p, pl.els)
	}
	img.s.add(it, off)
}

// xmpExtended reports location properties in an extended XMP chunk, which
// a property may straddle: they are not encrypted.
func (img *image) xmpExtended(p []byte, off int64) {
	x, err := exif.ParseXMP(p)
	if err != nil || len(x.Location) == 0 {
		return
	}
	it := MetadataResult{Kind: KindXMPLocation, Label: "xmp location", Offset: off + 4, Length: int64(len(p)), Fields: x.Location, Action: ActionNone}
	if img.s.opts.KeepGPS {
		it.Action = ActionKept
	} else {
		it.Problem = "location properties in an extended XMP chunk are not encrypted"
	}
	img.s.add(it, off)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// planMPF decides, at the primary image's EOI (eoiEnd is the offset after
// it), which MPF images follow (FORMAT.md §26).
func (s *session) planMPF(eoiEnd int64) {
	if !s.mpfSeen {
		return
	}
	var cands []*mpfImage
	for k, e := range s.mpfEntries {
		if e.Offset == 0 || e.Size < 2 {
			continue
		}
		cands = append(cands, &mpfImage{num: k + 1, start: s.mpfHeader + int64(e.Offset), size: int64(e.Size)})
	}
	slices.SortStableFunc(cands, func(a, b *mpfImage) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	end, n := eoiEnd, 0
	for _, c := range cands {
		if c.start < end {
			continue
		}
		end = c.start + c.size
		s.declared = append(s.declared, [2]int64{c.start, end})
		it := MetadataResult{Kind: KindMPFImage, Label: fmt.Sprintf("mpf image %d", c.num), Offset: c.start, Length: c.size, Action: ActionNone}
		if n++; n > maxMPFImages && !s.opts.KeepMPF {
			it.Problem = fmt.Sprintf("only the first %d MPF images are encrypted", maxMPFImages)
			s.add(it, c.start)
			continue
		}
		if s.opts.KeepMPF {
			it.Action = ActionKept
			s.add(it, c.start)
			continue
		}
		c.item = -1
		s.mpf = append(s.mpf, c)
	}
}

// nextMPF returns the next MPF image to transform, if any.
func (r *Reader) nextMPF() *mpfImage {
	if r.mpfAt < len(r.s.mpf) {
		return r.s.mpf[r.mpfAt]
	}
	return nil
}

// startMPF starts the transformer of an MPF image at the current position:
// it reads the image's bytes from the primary transformer, which passes
// everything after its EOI unchanged.
func (r *Reader) startMPF(m *mpfImage) {
	s := r.s
	img := newImage(s.key, fmt.Sprintf("mpf image %d", m.num), s.opts.Decide, s.opts.Record)
	img.s, img.meta, img.base, img.mpfNum = s, true, m.start, m.num
	m.item = s.add(MetadataResult{Kind: KindMPFImage, Label: img.label(), Offset: m.start, Length: m.size, Action: ActionNone}, m.start)
	img.t = jpegbits.NewReader(io.LimitReader(r.t, m.size), jpegbits.Options{
		Mode:        Mode(s.key),
		Keystream:   img,
		StopAtError: s.opts.StopAtError,
		Budget:      s.budget,
	})
	r.cur, r.curT, r.curImg = m, img.t, img
}

// readMPF reads from the current MPF image.
func (r *Reader) readMPF(p []byte) (int, error) {
	s := r.s
	n, err := r.curT.Read(p)
	if s.err != nil {
		return 0, s.err
	}
	if s.stop != nil && r.pos+int64(n) > s.stopAt {
		// Metadata of this image that cannot be encrypted was found.
		n = int(max(0, s.stopAt-r.pos))
		r.pos += int64(n)
		if n == 0 {
			return 0, s.stop
		}
		return n, nil
	}
	r.pos += int64(n)
	switch {
	case err == nil, errors.Is(err, jpegbits.ErrInputPending):
		return n, err
	case err == io.EOF:
		r.finishMPF()
		return n, nil
	case IsParseError(err) && r.curT.Err() != nil:
		it := r.finishMPF()
		if s.stop == nil {
			s.stop, s.stopAt = it.problemError(), r.pos
		}
		return n, s.stop
	}
	return n, err
}

// finishMPF records what the current MPF image's transformer did.
func (r *Reader) finishMPF() *MetadataResult {
	it := &r.s.items[r.cur.item]
	it.Stats, it.Err = r.curT.Stats(), r.curT.Err()
	it.Length = it.Stats.FileBytes
	r.curImg.embeddedResult(it)
	if it.Err != nil {
		it.Problem = "the image is not fully encrypted: " + it.Err.Error()
	}
	r.cur, r.curT, r.curImg = nil, nil, nil
	r.mpfAt++
	return it
}

// label returns the image's chain label.
func (img *image) label() string { return img.lbl }
