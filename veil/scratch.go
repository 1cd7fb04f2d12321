package veil

import (
	"sync"
	"unsafe"

	"jpegveil/jpegbits"
)

// Scratch lends the buffers a Reader judging with Options.Classify works
// in from one Reader to the next: a proxy that judges every body then
// allocates them about once per concurrent request instead of once per
// request (for a 40 KB photo, 35 KB of the 39 KB its judging allocated,
// whose collection cost about a quarter of the judging's time). The judge
// hands its buffers back when the verdict is final, the Reader the output
// it held back once that is read; a Reader dropped before then leaves
// them to the collector. The zero Scratch is ready to use and safe for
// concurrent use; a nil *Scratch lends nothing (the Reader allocates).
type Scratch struct {
	elems scratchPool[jpegbits.DCElement]
	// data holds the scan's data and the keystreams in data space (at
	// most MaxClassifyScanBytes each), held the output held back (the
	// file's start, which can be much longer): apart, so that a long held
	// buffer is never cleared whole for a short scan.
	data, held scratchPool[byte]
	ints       scratchPool[int32]
	rows       scratchPool[dcRow]
}

// maxScratchBytes is the largest buffer a Scratch keeps: a 12 MP photo's
// judging needs a few hundred KiB in all.
const maxScratchBytes = 1 << 20

// scratchPool lends slices of T, of length 0, with whatever their storage
// held before.
type scratchPool[T any] struct{ p sync.Pool }

func (p *scratchPool[T]) get() []T {
	if s, ok := p.p.Get().(*[]T); ok {
		return (*s)[:0]
	}
	return nil
}

func (p *scratchPool[T]) put(s []T) {
	var zero T
	if c := cap(s); c > 0 && c*int(unsafe.Sizeof(zero)) <= maxScratchBytes {
		s = s[:0]
		p.p.Put(&s)
	}
}

func (s *Scratch) getElems() []jpegbits.DCElement {
	if s == nil {
		return nil
	}
	return s.elems.get()
}

func (s *Scratch) putElems(e []jpegbits.DCElement) {
	if s != nil {
		s.elems.put(e)
	}
}

// getData lends a byte slice for the DC scan's data (which
// DCScan.ReuseData clears) or a keystream in data space (which the caller
// clears: it keeps zero padding past its length).
func (s *Scratch) getData() []byte {
	if s == nil {
		return nil
	}
	return s.data.get()
}

func (s *Scratch) putData(b []byte) {
	if s != nil {
		s.data.put(b)
	}
}

// getHeld lends a byte slice for the output held back.
func (s *Scratch) getHeld() []byte {
	if s == nil {
		return nil
	}
	return s.held.get()
}

func (s *Scratch) putHeld(b []byte) {
	if s != nil {
		s.held.put(b)
	}
}

// getInts and getRows lend slices of length n, zeroed.
func (s *Scratch) getInts(n int) []int32 {
	if s == nil {
		return make([]int32, n)
	}
	return s.ints.getZeroed(n)
}

func (s *Scratch) getRows(n int) []dcRow {
	if s == nil {
		return make([]dcRow, n)
	}
	return s.rows.getZeroed(n)
}

// getZeroed lends a slice of length n, zeroed.
func (p *scratchPool[T]) getZeroed(n int) []T {
	b := p.get()
	if cap(b) < n {
		return make([]T, n)
	}
	b = b[:n]
	clear(b)
	return b
}

func (s *Scratch) putStat(ints []int32, rows []dcRow) {
	if s != nil {
		s.ints.put(ints)
		s.rows.put(rows)
	}
}
