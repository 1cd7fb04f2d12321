package veil

import (
	"bytes"
	"io"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
)

// classifyPass runs one transformer over the input for the keys of one
// masking mode.
type classifyPass struct {
	keys  []*keystream.Key
	feed  *feed
	t     *jpegbits.Transformer
	probe probe
	ended bool
	err   error
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

// probe is the jpegbits.Keystream of a pass: it keeps the segments up to
// the first SOS and the first scan's chunks, and computes every key's
// keystream for them, exactly as an image's chain would (FORMAT.md §17),
// without changing the data.
type probe struct {
	chains []*keystream.Chain
	segs   [][]byte
	sos    bool // the first SOS was seen
	after  bool // a segment after the first scan was seen
	ecs    []byte
	xors   [][]byte // per key: keystream & mask over ecs
	ends   []int    // end of each chunk in ecs
	ks     []byte
	// scan decodes ecs as it grows (scanErr: the headers it could not).
	scan    *jpegbits.DCScan
	scanErr error
}

func (p *probe) full() bool {
	return p.after || len(p.ecs) >= MaxClassifyScanBytes
}

func (p *probe) chunks() int { return len(p.ends) }

// usable is how many ECS bytes the first n chunks hold (all when n < 0).
func (p *probe) usable(n int) int {
	if n < 0 || n > len(p.ends) {
		n = len(p.ends)
	}
	if n == 0 {
		return 0
	}
	return p.ends[n-1]
}

func (p *probe) Segment(seg []byte) {
	if p.after || isMetadata(seg[1]) {
		return
	}
	if p.sos {
		p.after = true
		return
	}
	for _, ch := range p.chains {
		ch.AbsorbSegment(seg)
	}
	p.segs = append(p.segs, bytes.Clone(seg))
	p.sos = seg[1] == 0xDA
}

func (p *probe) Chunk(c jpegbits.Chunk, dst []byte) {
	clear(dst)
	if p.full() {
		return
	}
	if cap(p.ks) < len(c.Data) {
		p.ks = make([]byte, jpegbits.ChunkSize)
	}
	ks := p.ks[:len(c.Data)]
	if p.ecs == nil {
		// The most the probe keeps, allocated once.
		p.ecs = make([]byte, 0, MaxClassifyScanBytes)
		for i := range p.xors {
			p.xors[i] = make([]byte, 0, MaxClassifyScanBytes)
		}
	}
	for i, ch := range p.chains {
		ch.ChunkKeystream(c.Skeleton, ks)
		x := p.xors[i]
		for j := range ks {
			x = append(x, ks[j]&c.Mask[j])
		}
		p.xors[i] = x
	}
	p.ecs = append(p.ecs, c.Data...)
	p.ends = append(p.ends, len(p.ecs))
}
