package jpegbits

import (
	"errors"
	"slices"
)

// DCElement locates the DC difference of one block of an image's first
// scan in the scan's data, for the direction classifier (FORMAT.md §34;
// T.81 F.2.2.1, G.1.2.1). The transformer records it as it parses, so the
// classifier reads no Huffman code of its own. Bit indexes count the bits
// of the scan's data (the entropy-coded segment with stuffing and RSTn
// markers removed) from the most significant bit of its first byte.
type DCElement struct {
	Bit  uint32 // the first additional bit
	End  uint32 // just past the block: its DC element, and in a sequential scan its AC elements
	Size uint8  // T, the number of additional bits
}

// DataRun says that the chunk's file bytes [File, File+Len) are the scan's
// data bytes [Data, Data+Len). The data bytes between two runs of a chunk
// (and before its DataEnd) are 0xFF bytes coded as FF 00, whose mask is 0.
type DataRun struct {
	File int
	Data int64
	Len  int
}

// dcRecorder collects the DC elements of the first scan and, for each
// chunk of it, where its data bytes are.
type dcRecorder struct {
	max   int
	elems []DCElement
	// reuse is storage for elems from an earlier recording (RecordDC).
	reuse []DCElement
	runs  []DataRun
	// pause is the data bit position at which the parser next stops for
	// the chunk walk to catch up, so that the chunks reach the reader,
	// which may stop the recording, about a chunk after the parse.
	pause int64
}

// errPause is decodeMCUs's signal that the recording wants the chunk walk
// to catch up before it parses on.
var errPause = errors.New("jpegbits: pause for the chunk walk")

// RecordDC makes the transformer record the DC element of the first
// maxBlocks blocks of the image's first scan, when that scan is sequential
// or a progressive DC first scan (DCElements; blocks that end past bit
// 2³² − 1 of the scan's data are not recorded), and give each chunk of
// that scan its data runs (Chunk.Runs, Chunk.DataEnd). It must be called
// before the first scan starts. StopDC ends the recording. The elements
// are recorded into reuse's storage when it has room for those the scan
// needs at first (storage DropDC handed back from an earlier recording);
// nil allocates.
func (t *Transformer) RecordDC(maxBlocks int, reuse []DCElement) {
	t.dc = &dcRecorder{max: maxBlocks, pause: ChunkSize * 8, reuse: reuse}
}

// StopDC ends the recording RecordDC started; DCElements still returns
// what was recorded.
func (t *Transformer) StopDC() {
	if t.dc != nil {
		t.dc.max = len(t.dc.elems)
		t.dc.runs = nil
	}
	t.scan.rec = nil
}

// DropDC ends the recording and hands its elements' storage to the
// caller, who may record into it again (RecordDC): DCElements returns nil
// from then on.
func (t *Transformer) DropDC() []DCElement {
	t.StopDC()
	if t.dc == nil {
		return nil
	}
	elems := t.dc.elems
	if elems == nil {
		elems = t.dc.reuse // the scan never started
	}
	t.dc = nil
	return elems
}

// DCElements returns the DC elements recorded so far, in coding order.
func (t *Transformer) DCElements() []DCElement {
	if t.dc == nil {
		return nil
	}
	return t.dc.elems
}

// maxRecordedBit bounds the bit positions recorded, which fit a uint32:
// the classifier reads at most 64 KiB of scan data.
const maxRecordedBit = 1<<32 - 1

// start prepares the recording of a scan of the given number of blocks.
// A progressive DC first scan codes a block in a few bits, so the
// recording usually takes all the blocks it may; a sequential scan's chunk
// holds some hundreds of blocks, and the recording usually stops a few
// chunks in.
func (r *dcRecorder) start(blocks int, dcOnly bool) {
	n := min(r.max, blocks)
	if !dcOnly {
		n = min(n, 1024)
	}
	if cap(r.reuse) >= n {
		r.elems = r.reuse[:0]
	} else {
		r.elems = make([]DCElement, 0, n)
	}
	r.reuse = nil
	// A run ends at every 0xFF data byte: 1 in 256 of random data.
	r.runs = make([]DataRun, 0, 2*ChunkSize/256)
}

// add records a block whose DC additional bits start at bit dcBit of d and
// which ends at bit end (both relative to data index dOff).
func (r *dcRecorder) add(dOff int64, dcBit, size, end uint) {
	e := dOff*8 + int64(end)
	if len(r.elems) >= r.max || e > maxRecordedBit {
		return
	}
	if len(r.elems) == cap(r.elems) {
		// Double, up to max: append's own growth, a quarter at a time
		// past a few hundred elements, would copy them many times over.
		r.elems = slices.Grow(r.elems, max(1, min(cap(r.elems), r.max-len(r.elems))))
	}
	r.elems = r.elems[:len(r.elems)+1]
	el := &r.elems[len(r.elems)-1]
	el.Bit, el.End, el.Size = uint32(dOff*8+int64(dcBit)), uint32(e), uint8(size)
}
