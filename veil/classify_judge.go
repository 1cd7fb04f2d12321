package veil

import (
	"bytes"
	"io"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

// judge gathers, for the keys of one masking mode, what the classifier's
// statistic needs from an image's first scan as a transformer that records
// DC elements reads it (FORMAT.md §34.2): the headers up to the first SOS,
// the scan's data, and each key's keystream over it in data space,
// computed exactly as the image's chain would (FORMAT.md §17). It never
// changes the data.
type judge struct {
	keys []*keystream.Key
	// chains compute each key's keystream; a nil chain is that of the
	// image the judge rides along with (fused), whose keystream chunk is
	// handed in.
	chains []*keystream.Chain
	t      *jpegbits.Transformer

	segs  [][]byte
	sos   bool // the first SOS was seen
	after bool // a segment after the first scan was seen
	// firstSeen says the first chunk was seen; first is its bytes as they
	// are, for the fingerprints of the keys with chains of their own;
	// fusedFP the fused key's fingerprint, as the image computed it.
	firstSeen bool
	first     []byte
	fusedFP   *Fingerprint
	// ownFingerprints says some key's fingerprint is the judge's to
	// compute: it keeps the segments and first chunk for them.
	ownFingerprints bool
	// scan gathers the data and places the DC elements (scanErr: the
	// headers it could not read).
	scan    *jpegbits.DCScan
	scanErr error
	xors    [][]byte // per key: keystream & mask, one byte per data byte
	ends    []chunkEnd
	ecs     int // scan bytes (file bytes) seen
	ks      []byte
	// stat is the statistic of the data as it is and decrypted with each
	// key, over the prefix so far.
	stat dcAccum
	// scratch lends the recording's elements, the scan's data, the xors
	// and the statistic's rows, and takes them back at release.
	scratch *Scratch
}

// chunkEnd is where a chunk ends: its data index, and its offset in the
// scan's file bytes.
type chunkEnd struct {
	data int64
	file int
}

// newJudge returns a judge for keys that rides along with t, which must
// not have started its first scan: it makes t record DC elements. The
// keystream of the key with the ID fused comes from the image the judge
// rides along with (chunk's own argument) instead of a chain of its own.
// Its buffers come from scratch (nil: allocated).
func newJudge(t *jpegbits.Transformer, keys []*keystream.Key, fused string, scratch *Scratch) *judge {
	j := &judge{t: t, keys: keys, scratch: scratch}
	for _, k := range keys {
		var ch *keystream.Chain
		if k.ID() != fused {
			ch = k.NewChain("image")
			j.ownFingerprints = true
		}
		j.chains = append(j.chains, ch)
	}
	j.xors = make([][]byte, len(keys))
	t.RecordDC(MaxClassifyBlocks, scratch.getElems())
	return j
}

func (j *judge) full() bool {
	return j.after || j.ecs >= MaxClassifyScanBytes
}

func (j *judge) chunks() int { return len(j.ends) }

// usable is how many data bytes the first n chunks hold (all when n < 0).
func (j *judge) usable(n int) int64 { return j.chunkEnd(n).data }

// fileBytes is how many scan bytes the first n chunks hold (all when
// n < 0).
func (j *judge) fileBytes(n int) int { return j.chunkEnd(n).file }

// chunkEnd is where the first n chunks end (all when n < 0).
func (j *judge) chunkEnd(n int) chunkEnd {
	if n < 0 || n > len(j.ends) {
		n = len(j.ends)
	}
	if n == 0 {
		return chunkEnd{}
	}
	return j.ends[n-1]
}

// segment is told each segment the transformer reads.
func (j *judge) segment(seg []byte) {
	if j.after || isMetadata(seg[1]) {
		return
	}
	if j.sos {
		j.after = true
		return
	}
	for _, ch := range j.chains {
		if ch != nil {
			ch.AbsorbSegment(seg)
		}
	}
	if j.ownFingerprints {
		j.segs = append(j.segs, bytes.Clone(seg))
	}
	if seg[1] == 0xDA {
		j.sos = true
		j.scan, j.scanErr = j.t.DCScan()
		if j.scan != nil {
			if b := j.scratch.getData(); b != nil {
				j.scan.ReuseData(b)
			}
		}
	}
}

// chunk is told each chunk, with the keystream of the fused key (nil when
// there is none).
func (j *judge) chunk(c jpegbits.Chunk, own []byte) {
	if j.full() {
		return
	}
	if !j.firstSeen {
		j.keepFirst(c.Data)
	}
	j.ecs += len(c.Data)
	if j.scan != nil {
		j.scan.Add(c)
	}
	for i, ch := range j.chains {
		ks := own
		if ch != nil {
			if cap(j.ks) < len(c.Data) {
				j.ks = make([]byte, jpegbits.ChunkSize)
			}
			ks = j.ks[:len(c.Data)]
			ch.ChunkKeystream(c.Skeleton, ks)
		}
		if j.xors[i] == nil {
			// AppendXOR keeps zero padding past the data: the storage
			// lent must be zero.
			x := j.scratch.getData()
			clear(x[:cap(x)])
			j.xors[i] = x
		}
		j.xors[i] = jpegbits.AppendXOR(j.xors[i], c, ks)
	}
	j.ends = append(j.ends, chunkEnd{data: c.DataEnd, file: j.ecs})
	if j.full() {
		j.t.StopDC()
	}
}

// keepFirst keeps what the fingerprints need of the first chunk, data: a
// copy, unless the image the judge rides along with computes the only
// one.
func (j *judge) keepFirst(data []byte) {
	j.firstSeen = true
	if j.ownFingerprints {
		j.first = bytes.Clone(data)
	}
}

// release ends the recording and drops the buffers once the verdict is
// final, handing those it borrowed back to its Scratch: nothing reads
// them after the verdict.
func (j *judge) release() {
	if j.t == nil {
		return // released before
	}
	j.scratch.putElems(j.t.DropDC())
	if j.scan != nil {
		j.scratch.putData(j.scan.Data())
	}
	for _, x := range j.xors {
		j.scratch.putData(x)
	}
	j.stat.release(j.scratch)
	j.t, j.segs, j.scan, j.xors, j.ks, j.first = nil, nil, nil, nil, nil, nil
}

// classifyPass runs a transformer of its own over the input, for keys of
// one masking mode: the transformer's output is discarded.
type classifyPass struct {
	*judge
	feed  *feed
	ended bool
	err   error
}

func newClassifyPass(keys []*keystream.Key) *classifyPass {
	p := &classifyPass{feed: &feed{}}
	t := jpegbits.NewReader(p.feed, jpegbits.Options{Mode: Mode(keys[0]), Keystream: passKeystream{p}, StopAtError: true})
	p.judge = newJudge(t, keys, "", nil)
	return p
}

// passKeystream is the jpegbits.Keystream of a pass: it tells the judge,
// and XORs nothing.
type passKeystream struct{ p *classifyPass }

func (k passKeystream) Segment(seg []byte) { k.p.segment(seg) }

func (k passKeystream) Chunk(c jpegbits.Chunk, dst []byte) {
	clear(dst)
	k.p.chunk(c, nil)
}

// feed is the transformer's source: what Write appended, then
// ErrInputPending until Close.
type feed struct {
	buf []byte
	eof bool
}

func (f *feed) Read(p []byte) (int, error) {
	if len(f.buf) == 0 {
		if f.eof {
			return 0, io.EOF
		}
		return 0, jpegbits.ErrInputPending
	}
	// Hand out a chunk's worth at a time, so the transformer parses little
	// beyond the checkpoint it is run to.
	n := copy(p[:min(len(p), jpegbits.ChunkSize)], f.buf)
	f.buf = f.buf[n:]
	if len(f.buf) == 0 {
		f.buf = nil
	}
	return n, nil
}
