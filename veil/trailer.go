package veil

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"strings"

	"jpegveil/exif"
	"jpegveil/keystream"
)

// Kinds of the items of a file's trailer (FORMAT.md §31).
const (
	// KindMotionVideo is the MP4 of a motion photo, located by the XMP
	// Container directory, GCamera:MicroVideoOffset or a Samsung
	// MotionPhoto_Data block.
	KindMotionVideo = "motion video"
	// KindSEFBlock is a block of a Samsung trailer other than the
	// motion video.
	KindSEFBlock = "sef block"
	// KindContainerImage is a JPEG image that an XMP Container
	// directory lists after the primary image and no MPF entry declares.
	KindContainerImage = "container image"
)

// ActionClear: the item holds no picture (a Samsung block of capture
// parameters) and is left readable by design.
const ActionClear = "clear"

// maxTrailer bounds the bytes after the image that are held in memory to
// be parsed: a motion photo's clip is a few MB.
const maxTrailer = 128 << 20

// trailer is the data after the primary image (and its MPF images) that
// no MPF entry declares. It is read whole before any of it is handed out,
// since a Samsung trailer is found from the end of the file.
type trailer struct {
	start  int64 // file offset of buf[0]
	at     int64 // first byte that is neither padding nor declared
	buf    []byte
	served int // bytes of buf handed out (buf starts with padding already handed out)
	loaded bool
	// passthrough: the trailer was too large; after buf, the rest of the
	// file passes unchanged.
	passthrough bool
}

// trailerPart is one item found in a trailer, in buffer offsets.
type trailerPart struct {
	kind, label string
	start, end  int
	enc         [][2]int // ranges encrypted as bytes
	ctx         [][2]int // readable ranges absorbed into the chain, in order
	iso6709     [][2]int // ISO 6709 location texts, transformed keeping their syntax
	jpeg        bool     // an embedded JPEG image (part I)
	clear       bool     // nothing to encrypt (ActionClear)
}

type trailerPlan struct {
	parts   []trailerPart
	problem string
	at      int // buffer offset of the problem
}

// planTrailer finds the items of trailer b (FORMAT.md §31): the Samsung
// trailer's blocks, and the items the primary image's XMP declares from
// the end of the file. Every byte of b must belong to an item or be
// padding (0x00 or 0xFF), else the plan is a problem and nothing is
// transformed. Only bytes that no transform changes are read, so
// encryption and decryption make the same plan.
func planTrailer(b []byte, c *exif.Container) trailerPlan {
	tp := &trailerPlanner{b: b, videos: map[int]bool{}}
	if failed := tp.addSEF(); failed != nil {
		return *failed
	}
	if failed := tp.addDeclared(declaredItems(c, len(b))); failed != nil {
		return *failed
	}
	if failed := tp.checkCoverage(); failed != nil {
		return *failed
	}
	tp.labelVideos()
	return tp.pl
}

// trailerPlanner collects the parts of a trailer plan and the byte ranges
// already explained.
type trailerPlanner struct {
	b       []byte
	pl      trailerPlan
	covered [][2]int
	videos  map[int]bool // start offsets of MP4s already planned
}

func (tp *trailerPlanner) fail(at int, format string, args ...any) *trailerPlan {
	return &trailerPlan{problem: fmt.Sprintf(format, args...), at: at}
}

// addSEF plans the blocks of a Samsung trailer, if there is one.
func (tp *trailerPlanner) addSEF() *trailerPlan {
	b, n := tp.b, len(tp.b)
	blocks, dir, found, problem := parseSEF(b)
	if problem != "" {
		return tp.fail(0, "%s", problem)
	}
	if !found {
		return nil
	}
	tp.covered = append(tp.covered, [2]int{dir, n})
	for _, bl := range blocks {
		tp.covered = append(tp.covered, [2]int{bl.start, bl.end})
		label := fmt.Sprintf("sef block %d", bl.index)
		switch {
		case bl.typ == sefTypeMotionPhoto:
			p, ok := mp4Part(b, bl.data, bl.end, true)
			if !ok {
				return tp.fail(bl.data, "Samsung MotionPhoto_Data block %d is not an MP4", bl.index)
			}
			p.ctx = append([][2]int{{bl.start, bl.data}}, p.ctx...)
			p.start = bl.start
			tp.pl.parts = append(tp.pl.parts, p)
			tp.videos[bl.data] = true
		case sefClearTypes[bl.typ] != "":
			tp.pl.parts = append(tp.pl.parts, trailerPart{kind: KindSEFBlock, label: label, start: bl.start, end: bl.end, clear: true})
		default:
			tp.pl.parts = append(tp.pl.parts, trailerPart{kind: KindSEFBlock, label: label, start: bl.start, end: bl.end,
				enc: [][2]int{{bl.data, bl.end}}, ctx: [][2]int{{bl.start, bl.data}}})
		}
	}
	return nil
}

// declaredItem is an item the XMP declares from the end of the file
// (Motion Photo format v1; legacy MicroVideo).
type declaredItem struct {
	start, end int
	mime       string
	index      int // in the directory; 0 for MicroVideo
}

func declaredItems(c *exif.Container, n int) []declaredItem {
	if c == nil {
		return nil
	}
	var decl []declaredItem
	end := n
	for i := len(c.Items) - 1; i >= 1; i-- {
		it := c.Items[i]
		if it.Length <= 0 || int64(end) < it.Length {
			break
		}
		start := end - int(it.Length)
		decl = append(decl, declaredItem{start, end, it.Mime, i})
		end = start
	}
	if c.MicroVideo > 0 && c.MicroVideoOffset > 0 && c.MicroVideoOffset <= int64(n) {
		decl = append(decl, declaredItem{n - int(c.MicroVideoOffset), n, "video/mp4", 0})
	}
	return decl
}

// addDeclared plans the videos and JPEG images the XMP declares.
func (tp *trailerPlanner) addDeclared(decl []declaredItem) *trailerPlan {
	b := tp.b
	for _, d := range decl {
		switch {
		case strings.HasPrefix(d.mime, "video/"):
			if tp.videos[d.start] || slices.ContainsFunc(tp.covered, func(r [2]int) bool { return r[0] <= d.start && d.start < r[1] }) {
				// The same MP4 as a Samsung block's, or a declaration
				// into the Samsung trailer, which explains those bytes
				// itself (writers count the XMP lengths differently).
				continue
			}
			limit := d.end
			for _, r := range tp.covered {
				if r[0] > d.start && r[0] < limit {
					limit = r[0]
				}
			}
			p, ok := mp4Part(b, d.start, limit, false)
			if !ok {
				return tp.fail(d.start, "the motion video the XMP declares at this offset is not an MP4")
			}
			tp.covered = append(tp.covered, [2]int{p.start, p.end})
			tp.pl.parts = append(tp.pl.parts, p)
			tp.videos[d.start] = true
		case d.mime == "image/jpeg" && len(b)-d.start >= 2 && b[d.start] == 0xFF && b[d.start+1] == 0xD8:
			label := fmt.Sprintf("container image %d", d.index)
			tp.pl.parts = append(tp.pl.parts, trailerPart{kind: KindContainerImage, label: label, start: d.start, end: d.end, jpeg: true})
			tp.covered = append(tp.covered, [2]int{d.start, d.end})
		}
		// Anything else (an item declared inside the image, an MPF
		// image the directory also lists) is left to the coverage
		// check.
	}
	return nil
}

// checkCoverage: every byte belongs to exactly one item or is padding.
func (tp *trailerPlanner) checkCoverage() *trailerPlan {
	b := tp.b
	var rs [][2]int
	for _, p := range tp.pl.parts {
		rs = append(rs, [2]int{p.start, p.end})
	}
	for _, r := range tp.covered {
		if !slices.ContainsFunc(rs, func(x [2]int) bool { return x[0] <= r[0] && r[1] <= x[1] }) {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(x, y [2]int) int { return x[0] - y[0] })
	pos := 0
	for _, r := range rs {
		if r[0] < pos {
			return tp.fail(r[0], "items after the image overlap")
		}
		if i := firstData(b[pos:r[0]]); i >= 0 {
			return tp.fail(pos+i, "%s", undeclaredData)
		}
		pos = r[1]
	}
	if i := firstData(b[pos:]); i >= 0 {
		return tp.fail(pos+i, "%s", undeclaredData)
	}
	return nil
}

// labelVideos orders the parts and names the videos "motion video",
// "motion video 2", … in file order.
func (tp *trailerPlanner) labelVideos() {
	slices.SortFunc(tp.pl.parts, func(x, y trailerPart) int { return x.start - y.start })
	videoN := 0
	for i := range tp.pl.parts {
		if tp.pl.parts[i].kind == KindMotionVideo {
			if videoN++; videoN == 1 {
				tp.pl.parts[i].label = "motion video"
			} else {
				tp.pl.parts[i].label = fmt.Sprintf("motion video %d", videoN)
			}
		}
	}
}

// undeclaredData is the problem of bytes after the image that no MPF
// entry, XMP Container directory, MicroVideoOffset or Samsung trailer
// declares (FORMAT.md §26, §31).
const undeclaredData = "data after the image's end that no MPF entry declares (a motion photo's video, say) cannot be encrypted"

// firstData returns the index of the first byte of b that is not padding,
// or -1.
func firstData(b []byte) int {
	for i, c := range b {
		if c != 0x00 && c != 0xFF {
			return i
		}
	}
	return -1
}

// mp4Part plans an MP4 at b[start:limit]. When whole is set the MP4 must
// fill its range (a Samsung block): bytes after its last box are
// encrypted too; otherwise the item ends with its last box.
func mp4Part(b []byte, start, limit int, whole bool) (trailerPart, bool) {
	if start < 0 || start > limit || limit > len(b) {
		return trailerPart{}, false
	}
	boxes, end, ok := walkMP4(b, start, limit)
	if !ok {
		return trailerPart{}, false
	}
	p := trailerPart{kind: KindMotionVideo, start: start, end: end}
	for _, bx := range boxes {
		if bx.typ == "moov" {
			// Readable but for the place of recording.
			pos := bx.start
			for _, l := range moovLocations(b, bx) {
				p.ctx = append(p.ctx, [2]int{pos, l.start})
				if l.text {
					p.iso6709 = append(p.iso6709, [2]int{l.start, l.end})
				} else {
					p.enc = append(p.enc, [2]int{l.start, l.end})
				}
				pos = l.end
			}
			p.ctx = append(p.ctx, [2]int{pos, bx.end})
			continue
		}
		if mp4Structure[bx.typ] {
			p.ctx = append(p.ctx, [2]int{bx.start, bx.end})
			continue
		}
		p.ctx = append(p.ctx, [2]int{bx.start, bx.start + bx.hdr})
		if bx.end > bx.start+bx.hdr {
			p.enc = append(p.enc, [2]int{bx.start + bx.hdr, bx.end})
		}
	}
	if whole && end < limit {
		p.enc = append(p.enc, [2]int{end, limit})
		p.end = limit
	}
	return p, true
}

// checkTrailing looks at output bytes b, which start at file offset pos and
// come from the primary transformer, for data after the primary image's EOI
// that no MPF entry declares. It returns how many of them may be handed
// out now. When such data is found and no MPF image is still to come
// (pending), the rest of b starts the trailer (s.tr), which is read whole
// and planned at the end of the file; with an MPF image still to come, it
// is a problem as in FORMAT.md §26.
func (s *session) checkTrailing(b []byte, pos int64, pending bool) int {
	if s.eoiEnd == 0 || s.trailingSeen || pos+int64(len(b)) <= s.eoiEnd {
		return len(b)
	}
	for i := max(0, int(s.eoiEnd-pos)); i < len(b); i++ {
		at := pos + int64(i)
		if s.isDeclared(at) {
			s.pad = s.pad[:0]
			continue
		}
		if b[i] == 0x00 || b[i] == 0xFF {
			if len(s.pad) == maxPadKept {
				s.pad = s.pad[1:]
			}
			s.pad = append(s.pad, b[i])
			continue
		}
		s.trailingSeen = true
		if pending {
			s.add(MetadataResult{Kind: KindTrailing, Label: KindTrailing, Offset: at, Action: ActionNone,
				Problem: "data after the image's end before an MPF image cannot be encrypted"}, at)
			if s.stop != nil {
				return int(max(0, s.stopAt-pos))
			}
			return len(b)
		}
		buf := make([]byte, 0, 64<<10)
		buf = append(buf, s.pad...)
		s.tr = &trailer{start: at - int64(len(s.pad)), at: at, served: len(s.pad), buf: append(buf, b[i:]...)}
		return i
	}
	return len(b)
}

// maxPadKept is how much padding before a trailer is kept for its plan: an
// item declared from the end of the file may start with a few zero bytes
// (an MP4 box size), which were handed out as padding.
const maxPadKept = 64

// readTrailer reads the whole trailer, plans and transforms it, and hands
// it out.
func (r *Reader) readTrailer(p []byte) (int, error) {
	s, t := r.s, r.s.tr
	for !t.loaded {
		if len(t.buf) > maxTrailer {
			t.loaded, t.passthrough = true, true
			s.add(MetadataResult{Kind: KindTrailing, Label: KindTrailing, Offset: t.at, Action: ActionNone,
				Problem: fmt.Sprintf("data after the image's end larger than %d MiB cannot be encrypted", maxTrailer>>20)}, t.at)
			break
		}
		if cap(t.buf)-len(t.buf) < 32<<10 {
			t.buf = slices.Grow(t.buf, len(t.buf))
		}
		n, err := r.t.Read(t.buf[len(t.buf):min(cap(t.buf), len(t.buf)+1<<20)])
		t.buf = t.buf[:len(t.buf)+n]
		if s.err != nil {
			return 0, s.err
		}
		switch {
		case err == io.EOF:
			t.loaded = true
			s.transformTrailer(t)
			if s.err != nil {
				return 0, s.err
			}
		case err != nil:
			return 0, err
		}
	}
	end := len(t.buf)
	if s.stop != nil {
		end = int(min(int64(end), max(0, s.stopAt-t.start)))
	}
	if t.served >= end {
		switch {
		case s.stop != nil:
			return 0, s.stop
		case t.passthrough:
			n, err := r.t.Read(p)
			r.pos += int64(n)
			return n, err
		}
		return 0, io.EOF
	}
	n := copy(p, t.buf[t.served:end])
	t.served += n
	r.pos += int64(n)
	return n, nil
}

// transformTrailer plans the trailer and transforms its items in place.
func (s *session) transformTrailer(t *trailer) {
	pl := planTrailer(t.buf, s.container)
	if pl.problem != "" {
		// The padding before t.at has been handed out already.
		s.add(MetadataResult{Kind: KindTrailing, Label: KindTrailing, Offset: max(t.at, t.start+int64(pl.at)), Action: ActionNone,
			Problem: pl.problem}, t.at)
		return
	}
	for _, p := range pl.parts {
		it := MetadataResult{Kind: p.kind, Label: p.label, Offset: t.start + int64(p.start), Length: int64(p.end - p.start), Action: ActionNone}
		switch {
		case p.clear:
			it.Action = ActionClear
		case p.jpeg:
			s.trailerJPEG(t.buf[p.start:p.end], &it)
		default:
			s.trailerBytes(t.buf, p, &it)
		}
		s.add(it, t.at)
		if s.err != nil {
			return
		}
	}
}

// trailerJPEG transforms a JPEG image of a Container directory as an image
// of its own (part I with its own label), like an Exif thumbnail.
func (s *session) trailerJPEG(b []byte, it *MetadataResult) {
	if perr := s.embeddedJPEG(b, it); perr != nil {
		it.Problem = "the image is not fully encrypted: " + perr.Error()
	}
}

// bytesFingerprintLabel starts the fingerprint of an item encrypted as
// bytes (FORMAT.md §31.4).
const bytesFingerprintLabel = "jpegveil v1 bytes fingerprint"

// bytesFingerprint is the fingerprint of an item encrypted as bytes: its
// label and the first chunk of its encrypted bytes as they are.
func bytesFingerprint(key *keystream.Key, label string, first []byte) Fingerprint {
	lk := key.LedgerKey()
	h := hmac.New(sha256.New, lk)
	clear(lk)
	h.Write([]byte(bytesFingerprintLabel))
	record(h, 0x00, []byte(label))
	record(h, 0x02, first)
	var fp Fingerprint
	h.Sum(fp[:0])
	return fp
}

// firstChunk returns a copy of the first keystream.ChunkSize bytes of the
// ranges enc of b, in order.
func firstChunk(b []byte, enc [][2]int) []byte {
	var out []byte
	for _, r := range enc {
		out = append(out, b[r[0]:min(r[1], r[0]+keystream.ChunkSize-len(out))]...)
		if len(out) == keystream.ChunkSize {
			break
		}
	}
	return out
}

// trailerBytes encrypts the ranges p.enc of b as bytes (FORMAT.md §31.4):
// a chain labelled p.label absorbs the primary image's first skeleton and
// the item's readable ranges, then every 4096 bytes of the encrypted
// ranges are XORed with a chunk keystream of an all-zero skeleton.
func (s *session) trailerBytes(b []byte, p trailerPart, it *MetadataResult) {
	if len(p.enc) == 0 {
		it.Action = ActionClear
		return
	}
	it.HasFingerprint = true
	it.In = bytesFingerprint(s.key, p.label, firstChunk(b, p.enc))
	if s.opts.Decide != nil {
		ok, err := s.opts.Decide(it.In)
		if err != nil {
			s.fail(err)
			return
		}
		if !ok {
			it.Action, it.Out = ActionPassed, it.In
			return
		}
	}
	ch := s.key.NewChain(p.label)
	ch.AbsorbSegment(s.anchor)
	for _, r := range p.ctx {
		ch.AbsorbSegment(b[r[0]:r[1]])
	}
	for _, r := range p.iso6709 {
		transformISO6709(ch, b[r[0]:r[1]])
	}
	ks := make([]byte, keystream.ChunkSize)
	for _, r := range p.enc {
		for off := r[0]; off < r[1]; off += keystream.ChunkSize {
			k := ks[:min(keystream.ChunkSize, r[1]-off)]
			clear(k)
			ch.ChunkKeystream(k, k)
			for i, x := range k {
				b[off+i] ^= x
			}
		}
	}
	it.Out = bytesFingerprint(s.key, p.label, firstChunk(b, p.enc))
	if s.opts.Record != nil {
		if err := s.opts.Record(it.Out); err != nil {
			s.fail(err)
			return
		}
	}
	it.Action, it.Transformed = ActionTransformed, true
}

// transformISO6709 encrypts an ISO 6709 location text in place, keeping
// its syntax (FORMAT.md §31.4): the chain derives one byte k_i per
// character from the text's skeleton (digits as '0', signs as '+'); digit
// d becomes (k_i − d) mod 10, a sign flips when k_i ≥ 128. Both are
// involutions, and the skeleton is the same for plaintext and ciphertext.
func transformISO6709(ch *keystream.Chain, v []byte) {
	skel := make([]byte, len(v))
	for i, c := range v {
		switch {
		case c >= '0' && c <= '9':
			skel[i] = '0'
		case c == '+' || c == '-':
			skel[i] = '+'
		default:
			skel[i] = c
		}
	}
	ks := make([]byte, len(v))
	ch.Derive(skel, ks)
	for i, c := range v {
		switch {
		case c >= '0' && c <= '9':
			v[i] = '0' + byte((10+int(ks[i]%10)-int(c-'0'))%10)
		case (c == '+' || c == '-') && ks[i] >= 128:
			v[i] = '+' + '-' - c
		}
	}
}

// fail keeps the first Decide or Record error.
func (s *session) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// containerSegment reads the Container directory and the motion-photo
// flags of the primary image's XMP packets; the first packet that declares
// items wins.
func (s *session) containerSegment(p []byte) {
	if s.container != nil {
		return
	}
	if c, err := exif.ParseContainer(p); err == nil && c.Declares() {
		s.container = c
	}
}
