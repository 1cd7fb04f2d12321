package jpegbits

import (
	"encoding/binary"
	"errors"
	"slices"
)

// DCScan holds the DC differences of a prefix of an image's first scan, as
// a Transformer that records DC elements (RecordDC) parsed them, so that
// the DC coefficients can be computed for the data as it is and for the
// data with some keystream XORed in (FORMAT.md §34, the direction
// classifier). The positions are those of the Huffman codes, which are the
// same for a plaintext and its ciphertext.
//
// It reads a sequential scan (T.81 F.2.2) or a progressive DC first scan
// (G.1.2.1): Transformer.DCScan lays out the scan's blocks from its
// headers, Add gathers the scan's data from the chunks the transformer
// hands out, and a DCCursor puts the transformer's DC elements on the
// block grid.
type DCScan struct {
	// Components are the scan's components, in scan header order.
	Components []DCComponent
	// Progressive reports a DC first scan of a progressive frame.
	Progressive bool

	// data is the scan's data gathered so far (Add), with dataPad zero
	// bytes after it.
	data []byte

	units       []dcUnit
	ri          int // MCUs per restart interval
	mcusX       int // MCUs per MCU row
	interleaved bool
}

// A DCCursor walks a scan's block grid in coding order (T.81 A.2),
// turning DC elements into blocks without keeping them.
type DCCursor struct {
	s *DCScan
	// The next block's unit of the MCU, the MCU's index in its restart
	// interval, and its column and row.
	k, inRI int
	mx, my  int32
}

// Cursor returns a cursor at the scan's first block.
func (s *DCScan) Cursor() DCCursor { return DCCursor{s: s} }

// Next returns the block of e, the element of the cursor's block, and
// moves the cursor to the next block.
func (c *DCCursor) Next(e DCElement) DCBlock {
	var b [1]DCBlock
	c.Append(b[:0], []DCElement{e})
	return b[0]
}

// Append appends the blocks of elems, the elements of the cursor's block
// and those after it, to dst, and moves the cursor past them. The
// cursor's state stays in locals for the loop, and dst grows once.
func (c *DCCursor) Append(dst []DCBlock, elems []DCElement) []DCBlock {
	s := c.s
	units, ri, mcusX := s.units, s.ri, int32(s.mcusX)
	k, inRI, mx, my := c.k, c.inRI, c.mx, c.my
	n := len(dst)
	dst = slices.Grow(dst, len(elems))[:n+len(elems)]
	out := dst[n:]
	for i := range elems {
		e := &elems[i]
		u := &units[k]
		// A one-component scan's unit has h = v = 1 and no offsets.
		x, y := mx*u.h+u.dx, my*u.v+u.dy
		// Field by field: a composite literal is built on the stack from
		// narrow stores and copied with wide loads, which the CPU cannot
		// forward from those stores.
		b := &out[i]
		b.Component, b.Reset, b.Size = u.comp, inRI == 0 && k == 0, e.Size
		b.X, b.Y, b.Bit, b.End = x, y, e.Bit, e.End
		b.Boundary = y > 0 && u.dy == 0
		if k++; k < len(units) {
			continue
		}
		k = 0
		if inRI++; inRI == ri {
			inRI = 0
		}
		if mx++; mx == mcusX {
			mx, my = 0, my+1
		}
	}
	c.k, c.inRI, c.mx, c.my = k, inRI, mx, my
	return dst
}

// BlockAt returns the block of e, the element of block i in coding order.
func (s *DCScan) BlockAt(i int, e DCElement) DCBlock {
	nu := len(s.units)
	m := i / nu
	c := DCCursor{s: s, k: i % nu, inRI: m % s.ri, mx: int32(m % s.mcusX), my: int32(m / s.mcusX)}
	return c.Next(e)
}

// dcUnit is one block of an MCU: its scan component and place.
type dcUnit struct {
	comp   uint8
	h, v   int32 // the component's sampling factors
	dx, dy int32
}

// DCComponent is the block grid of one scan component: the blocks coded by
// the scan, padding blocks of interleaved MCUs included.
type DCComponent struct {
	ID            byte
	Width, Height int
	// RowsPerMCU is the number of block rows of an MCU row: the
	// component's vertical sampling factor in an interleaved scan, else 1.
	RowsPerMCU int
}

// DCBlock is the DC difference of one block (T.81 F.1.2.1).
type DCBlock struct {
	Component uint8
	// Reset is set when the block is the first of a restart interval: its
	// predictor is 0 (F.2.1.3.1).
	Reset bool
	// Size is the category T, the number of additional bits.
	Size uint8
	X, Y int32 // position in the component's grid
	// Boundary says the block's upper neighbour lies in the previous MCU
	// row: Y > 0 and Y is a multiple of the component's RowsPerMCU
	// (FORMAT.md §34.2).
	Boundary bool
	// Bit is the position of the first additional bit in the scan's data,
	// counted from the most significant bit of data byte 0; End the
	// position just past the block (DCElement).
	Bit, End uint32
}

// ErrNoDCScan is returned by Transformer.DCScan for a scan that codes no
// DC coefficients (a progressive file that starts with an AC or
// refinement scan, which T.81 G.1.1.1.1 does not allow).
var ErrNoDCScan = errors.New("jpegbits: first scan codes no DC coefficients")

// DCScan returns the empty DCScan of the scan whose SOS segment the
// Transformer is telling its Keystream; it may only be called from
// Keystream.Segment, for an SOS segment. It returns ErrNoDCScan for a scan
// that codes no DC coefficients.
func (t *Transformer) DCScan() (*DCScan, error) {
	if t.sos == nil {
		panic("jpegbits: DCScan called outside Keystream.Segment for an SOS segment")
	}
	return newDCScan(t.frame, t.sos, t.restartInterval)
}

func newDCScan(f *frame, h *scanHeader, ri int) (*DCScan, error) {
	if h.kind != Sequential && h.kind != DCFirst {
		return nil, ErrNoDCScan
	}
	s := &DCScan{
		Progressive: h.kind == DCFirst, ri: ri, interleaved: len(h.comps) > 1,
		Components: make([]DCComponent, 0, len(h.comps)), units: make([]dcUnit, 0, h.blocksPerMCU),
	}
	if s.ri == 0 || s.ri > h.mcus {
		s.ri = h.mcus
	}
	for i, sc := range h.comps {
		c := DCComponent{ID: sc.c.id, Width: sc.c.bw, Height: sc.c.bh, RowsPerMCU: 1}
		if s.interleaved {
			c.Width, c.Height, c.RowsPerMCU = f.mcusX*sc.c.h, f.mcusY*sc.c.v, sc.c.v
			for y := range sc.c.v {
				for x := range sc.c.h {
					s.units = append(s.units, dcUnit{comp: uint8(i), h: int32(sc.c.h), v: int32(sc.c.v), dx: int32(x), dy: int32(y)})
				}
			}
		} else {
			s.units = append(s.units, dcUnit{comp: uint8(i), h: 1, v: 1})
		}
		s.Components = append(s.Components, c)
	}
	s.mcusX = s.Components[0].Width
	if s.interleaved {
		s.mcusX = f.mcusX
	}
	return s, nil
}

// Data returns the data gathered; dataPad zero bytes past its length are
// readable (up to its capacity), so that any four bytes from a block's
// first can be read whole.
func (s *DCScan) Data() []byte { return s.data }

// ReuseData makes Add gather the data into data's storage, which it
// clears (storage of an earlier DCScan's Data that is no longer read). It
// must be called before the first Add.
func (s *DCScan) ReuseData(data []byte) {
	if s.data != nil {
		panic("jpegbits: ReuseData after Add")
	}
	clear(data[:cap(data)])
	s.data = data[:0]
}

// Add appends the data bytes of c, the next chunk of the scan, as a
// Transformer that records DC elements hands it to its Keystream.
func (s *DCScan) Add(c Chunk) {
	s.data = appendData(s.data, c, c.Data, nil, 0xFF)
}

// AppendXOR appends to xor, the data-space form of a keystream over the
// chunks before c, the bits ks XORs into c's data bytes: ks & c.Mask for
// each of them, in data order. xor then has one byte per data byte, as
// Data has. Its capacity past its length must be zero (it only grows
// from an empty slice of zeroed storage), like Data's.
func AppendXOR(xor []byte, c Chunk, ks []byte) []byte {
	return appendData(xor, c, ks, c.Mask, 0)
}

// appendData appends, for each data byte of chunk c, the byte of src at
// its file position (ANDed with mask's when mask is set), and ff for the
// data bytes 0xFF coded as FF 00 between the runs. dst keeps dataPad
// bytes readable past its length; they are zero, since dst only grows.
func appendData(dst []byte, c Chunk, src, mask []byte, ff byte) []byte {
	dst = growPadded(dst, int(c.DataEnd))
	for _, r := range c.Runs {
		for int64(len(dst)) < r.Data {
			dst = append(dst, ff)
		}
		n := len(dst)
		dst = append(dst, src[r.File:r.File+r.Len]...)
		if mask != nil {
			andBytes(dst[n:], mask[r.File:r.File+r.Len])
		}
	}
	for int64(len(dst)) < c.DataEnd {
		dst = append(dst, ff)
	}
	return dst
}

// andBytes ANDs mask into dst, eight bytes at a time: a classified
// chunk's keystream is masked this way whole.
func andBytes(dst, mask []byte) {
	dst = dst[:len(mask)]
	i := 0
	for ; i+8 <= len(mask); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(dst[i:])&binary.LittleEndian.Uint64(mask[i:]))
	}
	for ; i < len(mask); i++ {
		dst[i] &= mask[i]
	}
}

// growPadded makes room for n bytes plus dataPad in b's capacity.
func growPadded(b []byte, n int) []byte {
	if n+dataPad <= cap(b) {
		return b
	}
	nb := make([]byte, len(b), max(2*cap(b), n+dataPad))
	copy(nb, b)
	return nb
}

// Extend is T.81 F.2.2.1's EXTEND: the additional bits v (< 2^t) of
// category t as a signed difference. It has no branches: the sign bit of
// a ciphertext's difference is a coin toss, which a branch would
// mispredict half the time. (For t = 0, v is 0 and the shift by t − 1
// wraps to one of at least 32, which gives 0: the result is 0.)
func Extend(v uint32, t uint) int32 {
	negative := (v>>(t-1))&1 ^ 1
	return int32(v) - int32(negative*(1<<t-1))
}
