package jpegbits

import (
	"bytes"
	"errors"
	"io"
)

// Keystream supplies the bytes that are XORed into the masked bits. The
// transformer calls it in file order; it never calls it for anything after
// the first parse error of the image.
type Keystream interface {
	// Segment is told each marker segment outside entropy-coded data,
	// whole: the two marker bytes and, for segments that have one, the
	// length field and payload (fill bytes before a marker are not part of
	// it). Standalone markers (SOI, EOI, RSTn outside a scan, TEM) are
	// told as their two bytes. The slice is only valid during the call;
	// Transformer.SegmentOffset gives its file offset.
	//
	// Segment is called before any byte of the segment is handed out, and
	// it may rewrite the payload of an APPn segment (markers E0–EF) in
	// place: the output then carries the rewritten bytes. It must not
	// change the marker, the length field, or any other kind of segment,
	// whose bytes the transformer has already parsed (FORMAT.md §2, part
	// IV: this is how the Exif thumbnail and GPS values are encrypted).
	Segment(seg []byte)
	// Chunk fills dst (len(dst) == len(c.Data)) with the keystream for
	// one chunk of a scan's entropy-coded data: the next ChunkSize file
	// bytes of the scan (the last chunk of a scan, or a chunk cut by a
	// parse error, may be shorter). The output is
	// c.Data ^ (dst & c.Mask). The slices are only valid during the call.
	Chunk(c Chunk, dst []byte)
}

// Chunk is one chunk of entropy-coded data as it is handed to a Keystream.
type Chunk struct {
	Offset int64  // file offset of the chunk's first byte
	Data   []byte // the chunk as read
	Mask   []byte // the bits that change
	// Skeleton is Data with every masked bit cleared: the same for a
	// plaintext and its ciphertext, so a keystream may depend on it.
	Skeleton []byte
	// Runs and DataEnd are set in the first scan of a transformer that
	// records DC elements (RecordDC): where the chunk's data bytes are,
	// and the data index just past its last one.
	Runs    []DataRun
	DataEnd int64
}

// ErrInputPending may be returned by a source to say that no more input is
// available yet but more will come (an upload that arrives in several
// requests). Read then returns it once all the output that the input so far
// determines has been read, and may be called again when the source has
// more. Output for the last few KiB of input is held back until the input
// continues or ends, since their masks and chunk keystream depend on what
// follows.
var ErrInputPending = errors.New("jpegbits: input pending")

// ChunkSize is the number of file bytes of entropy-coded data (markers and
// stuffing included) that share one Keystream call (FORMAT.md, "Chunks").
const ChunkSize = 4096

// Options configure a Transformer.
type Options struct {
	// Mode is the masking rule; it must be the same for encryption and
	// decryption.
	Mode Mode
	// Keystream supplies the bytes to XOR. When nil the masks are computed
	// (for statistics) and the data passes unchanged.
	Keystream Keystream
	// StopAtError makes Read return the first parse error as soon as the
	// bytes before it have been read, instead of passing the rest of the
	// input through unchanged. A proxy that must not forward a partly
	// transformed file sets it.
	StopAtError bool
	// Budget, when set, is the work bound shared with the other images of
	// the same file (an Exif thumbnail, MPF images): they all draw from it,
	// in file order, so embedding images cannot multiply the bound. When
	// nil the Transformer has a budget of its own.
	Budget *WorkBudget
}

// A WorkBudget is the deterministic work bound of one file (FORMAT.md §6):
// the blocks visited and the blocks of progressive history allocated, over
// every image of the file. It is not safe for concurrent use; the images of
// a file are transformed one after the other.
type WorkBudget struct {
	visits            int64
	progressiveBlocks int64
}

const (
	// lookahead is how much unstuffed data must be buffered ahead of an
	// MCU before it is parsed, unless the end of the data is known. An MCU
	// has at most 10 blocks of at most 64 elements of at most 31 bits
	// (about 2.5 KB); the bound only decides when to read more input and
	// never changes the result.
	lookahead = 4096
	readSize  = 32 << 10
	// maxBlockVisits is the deterministic work bound (FORMAT.md, "Work
	// bound"): a scan that would make the parser visit more blocks in
	// total is a format error. EOB runs of AC first scans are skipped in
	// constant time and do not count.
	maxBlockVisits = 400_000_000
)

type phase uint8

const (
	phaseSOI phase = iota
	phaseMarkers
	phaseScan
	phasePass
	phaseDone
)

// A Transformer is an io.Reader that yields its source with the masked bits
// of every entropy-coded segment XORed with the keystream. It holds at most
// one marker segment and a few chunks of the source in memory (plus 8 bytes
// per block of a progressive frame).
type Transformer struct {
	src    io.Reader
	opts   Options
	buf    []byte // source bytes from file offset bufOff
	bufOff int64
	eof    bool
	ioErr  error
	// pending is set when the source said ErrInputPending.
	pending bool

	emitted int64 // bytes handed out by Read
	ready   int64 // bytes final and ready to hand out
	cur     int64 // marker walk position
	phase   phase
	err     error // first parse error
	eoiEnd  int64
	segOff  int64 // file offset of the segment being told to the Keystream

	frame           *frame
	huff            [2][4]huffman // [class][destination]
	restartInterval int
	budget          *WorkBudget
	scan            scanState
	stats           Stats

	fm, skel, ks []byte // per-chunk masks, skeleton and keystream

	// skim is set once the image's entropy-coded data is known to pass
	// unchanged (Skim): its scans are no longer parsed.
	skim bool

	// dc records the DC elements of the first scan (RecordDC); dcScans
	// counts the scans started, so that only the first records.
	dc      *dcRecorder
	dcScans int

	// sos is the header of the scan whose SOS segment is being told to
	// the Keystream (DCScan).
	sos *scanHeader

	// noFastPath makes sequential scans take sequentialMCU for every MCU,
	// so that tests can check sequentialMCUFast against it.
	noFastPath bool
}

// NewReader returns a Transformer reading from src.
func NewReader(src io.Reader, opts Options) *Transformer {
	if opts.Mode != Extended && opts.Mode != Strict {
		panic("jpegbits: invalid Mode")
	}
	budget := opts.Budget
	if budget == nil {
		budget = new(WorkBudget)
	}
	return &Transformer{
		src:    src,
		opts:   opts,
		budget: budget,
		buf:    make([]byte, 0, 2*readSize),
		fm:     make([]byte, ChunkSize),
		skel:   make([]byte, ChunkSize),
		ks:     make([]byte, ChunkSize),
		stats:  Stats{Segments: make(map[string]int)},
	}
}

// Err returns the first parse error (a *FormatError or *UnsupportedError),
// or nil. It is final once Read has returned io.EOF.
func (t *Transformer) Err() error { return t.err }

// Skim tells the Transformer that the rest of the image's entropy-coded
// data passes unchanged, as when its Keystream decided at the first chunk
// not to transform the image: the scans are no longer parsed, only skimmed
// for the marker that ends each one (T.81 B.1.1.5), and Keystream.Chunk is
// no longer called. The marker walk goes on: Keystream.Segment still sees
// every marker segment. Errors inside the skimmed data are not found, and
// Stats no longer count the scans. It may be called from Keystream.Chunk.
func (t *Transformer) Skim() { t.skim = true }

// SegmentOffset returns the file offset of the segment that is being told
// to Keystream.Segment (the offset of its last 0xFF before the marker
// code). It is only meaningful during that call.
func (t *Transformer) SegmentOffset() int64 { return t.segOff }

// Stats returns the statistics gathered so far; they are complete once Read
// has returned io.EOF.
func (t *Transformer) Stats() *Stats { return &t.stats }

// Read implements io.Reader. At the end of the input it returns io.EOF even
// when the input had a parse error (see Err), unless Options.StopAtError is
// set: then the parse error is returned once the bytes before it are read.
// An error of the source is returned as it is.
func (t *Transformer) Read(p []byte) (int, error) {
	if err := t.wait(); err != nil {
		return 0, err
	}
	n := copy(p, t.buf[t.emitted-t.bufOff:t.ready-t.bufOff])
	t.emitted += int64(n)
	return n, nil
}

// WriteTo implements io.WriterTo, writing the output to w without an extra
// copy. It returns nil at the end of the input, like io.Copy, even when the
// input had a parse error (see Err), unless Options.StopAtError is set.
func (t *Transformer) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if err := t.wait(); err != nil {
			if err == io.EOF {
				err = nil
			}
			return total, err
		}
		n, err := w.Write(t.buf[t.emitted-t.bufOff : t.ready-t.bufOff])
		t.emitted += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// wait works until output is ready or the input ends.
func (t *Transformer) wait() error {
	for t.emitted == t.ready {
		if t.ioErr != nil {
			return t.ioErr
		}
		if t.phase == phaseDone {
			if t.opts.StopAtError && t.err != nil {
				return t.err
			}
			return io.EOF
		}
		// Input is read only once the output so far is handed out, so
		// that the read buffer holds little more than one read.
		if t.advance() && t.emitted == t.ready {
			t.fill()
			if t.pending {
				t.pending = false
				if t.emitted == t.ready {
					return ErrInputPending
				}
			}
		}
	}
	return nil
}

// fill reads more of the source into buf, dropping what was handed out.
func (t *Transformer) fill() {
	if keep := t.emitted - t.bufOff; keep > 0 {
		n := copy(t.buf, t.buf[keep:])
		t.buf = t.buf[:n]
		t.bufOff = t.emitted
	}
	if cap(t.buf)-len(t.buf) < readSize {
		nb := make([]byte, len(t.buf), 2*cap(t.buf)+readSize)
		copy(nb, t.buf)
		t.buf = nb
	}
	n, err := t.src.Read(t.buf[len(t.buf):cap(t.buf)])
	t.buf = t.buf[:len(t.buf)+n]
	t.stats.FileBytes += int64(n)
	switch {
	case err == io.EOF:
		t.eof = true
	case errors.Is(err, ErrInputPending):
		t.pending = n == 0
	case err != nil:
		t.ioErr = err
	}
}

// end is the file offset just past the buffered input.
func (t *Transformer) end() int64 { return t.bufOff + int64(len(t.buf)) }

// advance parses as far as the buffered input allows. It reports whether it
// needs more input to go on; at the end of the input it never does.
func (t *Transformer) advance() (needInput bool) {
	switch t.phase {
	case phaseSOI:
		return t.startImage()
	case phaseMarkers:
		return t.walkMarkers()
	case phaseScan:
		return t.advanceScan()
	case phasePass:
		t.ready = t.end()
		if t.eof {
			t.phase = phaseDone
			if t.eoiEnd > 0 {
				t.stats.AfterEOI = t.end() - t.eoiEnd
			}
			return false
		}
		return t.ready == t.emitted
	}
	return false
}

// fail records the first parse error; everything from off on passes
// unchanged (or, with StopAtError, is withheld).
func (t *Transformer) fail(err error, off int64) {
	t.err = err
	t.ready = off
	if t.opts.StopAtError {
		t.phase = phaseDone
	} else {
		t.phase = phasePass
	}
}

func (t *Transformer) startImage() bool {
	if len(t.buf) < 2 && !t.eof {
		return true
	}
	if len(t.buf) < 2 || t.buf[0] != 0xFF || t.buf[1] != 0xD8 {
		t.fail(&FormatError{Offset: 0, Reason: "missing SOI marker", Err: ErrNotJPEG}, 0)
		return false
	}
	t.segOff = 0
	t.segment(t.buf[:2])
	t.cur, t.ready, t.phase = 2, 2, phaseMarkers
	return false
}

func (t *Transformer) segment(seg []byte) {
	t.stats.Segments[markerName(seg[1])]++
	if t.opts.Keystream != nil {
		t.opts.Keystream.Segment(seg)
	}
}

// walkMarkers follows the marker segments between scans (T.81 B.1.1.2,
// B.2.4). Any number of 0xFF fill bytes may precede a marker.
func (t *Transformer) walkMarkers() bool {
	for {
		b, i := t.buf, int(t.cur-t.bufOff)
		if i >= len(b) {
			if t.eof {
				t.fail(&FormatError{Offset: t.cur, Reason: "file ends before the EOI marker"}, t.cur)
				return false
			}
			return true
		}
		if b[i] != 0xFF {
			t.fail(&FormatError{Offset: t.cur, Reason: "data where a marker was expected"}, t.cur)
			return false
		}
		j := i + 1
		for j < len(b) && b[j] == 0xFF {
			j++
		}
		truncated := func() bool {
			if t.eof {
				t.fail(&FormatError{Offset: t.cur, Reason: "file ends inside a marker segment"}, t.cur)
				return false
			}
			return true
		}
		if j >= len(b) {
			return truncated()
		}
		m, start := b[j], j-1
		off := t.bufOff + int64(start)
		// A marker that is an error by its code alone is reported at the
		// marker, whether or not its segment is complete.
		if err := t.markerError(m, off); err != nil {
			t.fail(err, off)
			return false
		}
		end := j + 1
		if !standalone(m) {
			if j+3 > len(b) {
				return truncated()
			}
			l := int(b[j+1])<<8 | int(b[j+2])
			if l < 2 {
				t.fail(&FormatError{Offset: off, Reason: "marker segment length below 2"}, off)
				return false
			}
			end = j + 1 + l
			if end > len(b) {
				return truncated()
			}
		}
		seg := b[start:end]
		sh, err := t.parseSegment(m, seg, off)
		if err != nil {
			t.fail(err, off)
			return false
		}
		t.segOff, t.sos = off, sh
		t.segment(seg)
		t.sos = nil
		t.cur = t.bufOff + int64(end)
		t.ready = t.cur
		switch m {
		case 0xDA:
			t.startScan(sh)
			return false
		case 0xD9:
			t.eoiEnd = t.cur
			t.frame = nil // the image is done: release its progressive history
			t.phase = phasePass
			return false
		}
	}
}

// parseSegment reads the segments that set up decoding: frame, Huffman
// tables, restart interval, DNL and the scan header, which it returns.
// Every other segment passes unread.
func (t *Transformer) parseSegment(m byte, seg []byte, off int64) (*scanHeader, error) {
	switch m {
	case 0xC0, 0xC1, 0xC2:
		return nil, t.parseSOF(seg, off)
	case 0xC4:
		return nil, t.parseDHT(seg, off)
	case 0xDD:
		return nil, t.parseDRI(seg, off)
	case 0xDC:
		if len(seg) != 6 {
			return nil, &FormatError{Offset: off, Reason: "DNL segment length is not 4"}
		}
	case 0xDA:
		return t.parseSOS(seg, off)
	}
	return nil, nil
}

func standalone(m byte) bool { return m == 0x01 || m >= 0xD0 && m <= 0xD9 }

// markerError returns the error that marker code m is by itself in the
// marker walk (FORMAT.md §2), or nil for the markers the walk handles.
func (t *Transformer) markerError(m byte, off int64) error {
	switch {
	case m == 0x00:
		return &FormatError{Offset: off, Reason: "stuffed zero byte outside entropy-coded data"}
	case m == 0xD8:
		return &FormatError{Offset: off, Reason: "SOI marker inside an image"}
	case m == 0xC0 || m == 0xC1 || m == 0xC2:
		if t.frame != nil {
			return &FormatError{Offset: off, Reason: "second frame header in an image"}
		}
	case m == 0xC3 || m >= 0xC5 && m <= 0xC7 || m >= 0xC9 && m <= 0xCB || m >= 0xCD && m <= 0xCF:
		return &UnsupportedError{Offset: off, Feature: sofFeature(m)}
	case m == 0xC8 || m == 0xDE || m == 0xDF || m >= 0xF0 && m <= 0xFD:
		return &UnsupportedError{Offset: off, Feature: "marker " + markerName(m)}
	case m == 0xC4, m == 0xDD, m == 0xDA, m == 0xD9, m == 0xDB, m == 0xDC, m == 0xCC, m == 0xFE,
		m >= 0xE0 && m <= 0xEF, m == 0x01, m >= 0xD0 && m <= 0xD7:
	default:
		return &FormatError{Offset: off, Reason: "unknown marker " + markerName(m)}
	}
	return nil
}

func sofFeature(m byte) string {
	switch m {
	case 0xC3, 0xC7, 0xCB, 0xCF:
		return "lossless coding (" + markerName(m) + ")"
	case 0xC5, 0xC6, 0xCD, 0xCE:
		return "hierarchical coding (" + markerName(m) + ")"
	}
	return "arithmetic coding (" + markerName(m) + ")"
}

var markerNames = map[byte]string{
	0xC4: "DHT", 0xC8: "JPG", 0xCC: "DAC", 0xD8: "SOI", 0xD9: "EOI", 0xDA: "SOS",
	0xDB: "DQT", 0xDC: "DNL", 0xDD: "DRI", 0xDE: "DHP", 0xDF: "EXP", 0xFE: "COM", 0x01: "TEM",
}

func markerName(m byte) string {
	switch {
	case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
		return "SOF" + itoa(int(m-0xC0))
	case m >= 0xD0 && m <= 0xD7:
		return "RST" + itoa(int(m-0xD0))
	case m >= 0xE0 && m <= 0xEF:
		return "APP" + itoa(int(m-0xE0))
	case m >= 0xF0 && m <= 0xFD:
		return "JPG" + itoa(int(m-0xF0))
	}
	if n, ok := markerNames[m]; ok {
		return n
	}
	const hex = "0123456789ABCDEF"
	return "0xFF" + string([]byte{hex[m>>4], hex[m&15]})
}

func itoa(i int) string {
	if i >= 10 {
		return string([]byte{'1', byte('0' + i - 10)})
	}
	return string([]byte{byte('0' + i)})
}

// Transform copies src to dst through a Transformer. It returns the
// statistics and the first parse error (a *FormatError or
// *UnsupportedError, with everything from its offset on passed unchanged),
// or an I/O error.
func Transform(dst io.Writer, src io.Reader, opts Options) (*Stats, error) {
	t := NewReader(src, opts)
	if _, err := t.WriteTo(dst); err != nil {
		return t.Stats(), err
	}
	return t.Stats(), t.Err()
}

// TransformBytes is Transform on a byte slice; the result has the same
// length as b.
func TransformBytes(b []byte, opts Options) ([]byte, *Stats, error) {
	var out bytes.Buffer
	out.Grow(len(b))
	st, err := Transform(&out, bytes.NewReader(b), opts)
	if err != nil && !isParseError(err) {
		return nil, st, err
	}
	return out.Bytes(), st, err
}

func isParseError(err error) bool {
	var fe *FormatError
	var ue *UnsupportedError
	return errors.As(err, &fe) || errors.As(err, &ue)
}
