package jpegbits

import (
	"errors"
)

// DCScan holds where the DC differences of an image's first scan are coded
// in a prefix of its entropy-coded data, so that the DC coefficients can be
// computed for the data as it is and for the data with some keystream XORed
// in (FORMAT.md §34, the direction classifier). Only the DC difference
// categories (Huffman codes) are read, never the additional bits: the
// positions are the same for a plaintext and its ciphertext.
//
// It reads a sequential scan (T.81 F.2.2) or a progressive DC first scan
// (G.1.2.1). It is not on the transform's path and favours simplicity over
// speed: it only ever sees a bounded prefix.
type DCScan struct {
	// Components are the scan's components, in scan header order.
	Components []DCComponent
	// Blocks are the blocks whose DC difference lies wholly in the prefix,
	// in coding order.
	Blocks []DCBlock
	// Progressive reports a DC first scan of a progressive frame.
	Progressive bool

	data    []byte  // the unstuffed data, with dataPad zero bytes after it
	fileOff []int32 // fileOff[i]: offset in the ECS of data byte i

	// Where Extend resumes: the ECS bytes unstuffed, and the decoder's
	// MCU, unit of the MCU, bit position and MCU column and row.
	h         *scanHeader
	units     []dcUnit
	ri        int
	maxBlocks int
	ecsDone   int
	ended     bool // the ECS or the parse ended for good
	m, u      int
	pos       uint
	mx, my    int32
}

// dcUnit is one block of an MCU: its scan component, tables and place.
type dcUnit struct {
	comp   uint8
	dc, ac *huffman
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
	// Bit is the position of the first additional bit in the unstuffed
	// data, counted from the most significant bit of data byte 0.
	Bit int64
}

// ErrNoDCScan is returned by DecodeDCScan for an image whose first scan
// codes no DC coefficients (a progressive file that starts with an AC or
// refinement scan, which T.81 G.1.1.1.1 does not allow).
var ErrNoDCScan = errors.New("jpegbits: first scan codes no DC coefficients")

// DecodeDCScan reads the marker segments of an image, as a Keystream is
// told them up to and including the first SOS (SOI, DQT, SOF, DHT, DRI,
// SOS; APPn and COM are ignored), and a prefix of that scan's ECS, as file
// bytes from the first byte after the SOS segment. It returns the DC
// difference of every block whose additional bits lie wholly in the
// prefix, up to the first block that does not (the end of the prefix or a
// parse error), and at most maxBlocks blocks. Errors are those of the
// headers; a prefix that ends early or holds a parse error only makes the
// result shorter.
func DecodeDCScan(segments [][]byte, ecs []byte, maxBlocks int) (*DCScan, error) {
	s, err := NewDCScan(segments, maxBlocks)
	if err != nil {
		return nil, err
	}
	s.Extend(ecs)
	return s, nil
}

// NewDCScan is DecodeDCScan with an empty prefix: Extend then decodes the
// prefix as it grows.
func NewDCScan(segments [][]byte, maxBlocks int) (*DCScan, error) {
	t := &Transformer{budget: new(WorkBudget), stats: Stats{Segments: make(map[string]int)}}
	var h *scanHeader
	for _, seg := range segments {
		if len(seg) < 2 || seg[0] != 0xFF {
			return nil, &FormatError{Reason: "malformed segment"}
		}
		if m := seg[1]; (m == 0xC0 || m == 0xC1 || m == 0xC2) && t.frame != nil {
			return nil, &FormatError{Reason: "second frame header in an image"}
		}
		var err error
		if h, err = t.parseSegment(seg[1], seg, 0); err != nil {
			return nil, err
		}
		if h != nil {
			break
		}
	}
	if h == nil {
		return nil, &FormatError{Reason: "no scan header"}
	}
	if h.kind != Sequential && h.kind != DCFirst {
		return nil, ErrNoDCScan
	}
	s := &DCScan{Progressive: h.kind == DCFirst, h: h, maxBlocks: maxBlocks, ri: t.restartInterval}
	if s.ri == 0 || s.ri > h.mcus {
		s.ri = h.mcus
	}
	f := t.frame
	for i, sc := range h.comps {
		c := DCComponent{ID: sc.c.id, Width: sc.c.bw, Height: sc.c.bh, RowsPerMCU: 1}
		if len(h.comps) > 1 {
			c.Width, c.Height, c.RowsPerMCU = f.mcusX*sc.c.h, f.mcusY*sc.c.v, sc.c.v
			for y := range sc.c.v {
				for x := range sc.c.h {
					s.units = append(s.units, dcUnit{uint8(i), sc.dc, sc.ac, int32(x), int32(y)})
				}
			}
		} else {
			s.units = append(s.units, dcUnit{comp: uint8(i), dc: sc.dc, ac: sc.ac})
		}
		s.Components = append(s.Components, c)
	}
	s.data = make([]byte, 0, 4096+dataPad)
	return s, nil
}

// Extend decodes the blocks that ecs, the scan's ECS so far, adds to the
// prefix given before (it must start with it).
func (s *DCScan) Extend(ecs []byte) {
	if s.ended {
		return
	}
	s.unstuff(ecs)
	s.decode()
}

// unstuff appends the data bytes of ecs past those already read (FORMAT.md
// §4.1), leaving a run of FF at its end for the next call; RSTn markers
// are dropped (the decoder aligns to a byte at an interval's end) and any
// other marker ends the ECS.
func (s *DCScan) unstuff(ecs []byte) {
	i := s.ecsDone
	for i < len(ecs) {
		if ecs[i] != 0xFF {
			s.data = append(s.data, ecs[i])
			s.fileOff = append(s.fileOff, int32(i))
			i++
			continue
		}
		j := i + 1
		for j < len(ecs) && ecs[j] == 0xFF {
			j++
		}
		if j == len(ecs) {
			break // the run may continue in the next part
		}
		switch m := ecs[j]; {
		case m == 0:
			s.data = append(s.data, 0xFF)
			s.fileOff = append(s.fileOff, int32(j-1))
		case m >= 0xD0 && m <= 0xD7:
		default:
			s.ended = true
		}
		i = j + 1
		if s.ended {
			break
		}
	}
	s.ecsDone = i
	n := len(s.data)
	s.data = append(s.data, make([]byte, dataPad)...)[:n]
}

// decode walks the MCUs from where it stopped, reading Huffman codes only,
// until the data ends. A block is recorded once all its elements are in
// the data; a block that reaches past it is decoded again from its start
// by the next call. Restart intervals end at a byte boundary (T.81
// F.1.2.3); the decoder aligns there instead of looking for the marker,
// which is enough for a well-formed prefix and merely stops early on a
// damaged one.
func (s *DCScan) decode() {
	h := s.h
	interleaved := len(h.comps) > 1
	mcusX := s.Components[0].Width
	if interleaved {
		mcusX /= h.comps[0].c.h
	}
	sequential := h.kind == Sequential
	d := s.data[:len(s.data)+dataPad]
	limit := uint(len(s.data)) * 8
	pos := s.pos
	defer func() { s.pos = pos }()
	for ; s.m < h.mcus; s.m, s.u = s.m+1, 0 {
		reset := s.m%s.ri == 0
		if reset && s.m > 0 && s.u == 0 {
			pos = (pos + 7) &^ 7
		}
		for ; s.u < len(s.units); s.u++ {
			if len(s.Blocks) >= s.maxBlocks {
				s.ended = true
				return
			}
			if pos >= limit {
				return
			}
			u := &s.units[s.u]
			e := dcCode(d, u.dc, pos)
			if e == 0 {
				s.ended = pos+16 <= limit
				return
			}
			bit := pos + e.codeLen()
			end := pos + e.length()
			if sequential {
				var complete bool
				if end, complete = skipAC(d, u.ac, end, limit); !complete {
					s.ended = end+16 <= limit && dcCode(d, u.ac, end) == 0
					return
				}
			}
			if end > limit {
				return
			}
			pos = end
			x, y := int32(s.m%mcusX), int32(s.m/mcusX)
			if interleaved {
				sc := h.comps[u.comp].c
				x, y = s.mx*int32(sc.h)+u.dx, s.my*int32(sc.v)+u.dy
			}
			s.Blocks = append(s.Blocks, DCBlock{
				Component: u.comp, Reset: reset && s.u == 0, Size: uint8(e.size()),
				X: x, Y: y, Bit: int64(bit),
			})
		}
		if s.mx++; int(s.mx) == mcusX {
			s.mx, s.my = 0, s.my+1
		}
	}
	s.ended = true
}

// dcCode returns the lookup entry of the code at bit pos of d, or 0 for
// a bit sequence that is no code.
func dcCode(d []byte, tab *huffman, pos uint) lutEntry {
	w := peek(d, pos)
	if e := tab.lut[w>>(64-lutBits)]; e != 0 {
		return e
	}
	return tab.decodeSlow(w)
}

// skipAC reads past the AC elements of one sequential block, starting at
// bit end, and returns where the block ends. complete is false when the
// block goes on past limit or meets a bit sequence that is no code; end
// is then where it stopped.
func skipAC(d []byte, tab *huffman, end, limit uint) (next uint, complete bool) {
	for k := uint(1); k < 64; {
		if end >= limit {
			return end, false
		}
		a := dcCode(d, tab, end)
		if a == 0 {
			return end, false
		}
		end += a.length()
		if a.size() == 0 {
			if a.run() != 15 {
				break // EOB
			}
			k += 16
			continue
		}
		k += a.run() + 1
	}
	return end, true
}

// Diff returns the DC difference of block b (T.81 F.2.2.1, EXTEND) with
// xor applied to the ECS file bytes first: xor[i] is XORed into ECS byte i
// (nil for the data as it is). It reports false when the block's
// additional bits reach past xor.
func (s *DCScan) Diff(b *DCBlock, xor []byte) (int32, bool) {
	t := uint(b.Size)
	if t == 0 {
		return 0, true
	}
	first, last := b.Bit>>3, (b.Bit+int64(t)-1)>>3
	d := s.data[:len(s.data)+dataPad]
	var w uint32
	for i := first; i <= first+3; i++ {
		v := uint32(d[i])
		if i <= last && xor != nil {
			o := s.fileOff[i]
			if int(o) >= len(xor) {
				return 0, false
			}
			v ^= uint32(xor[o])
		}
		w = w<<8 | v
	}
	v := int32(w << (b.Bit & 7) >> (32 - t))
	if v < 1<<(t-1) {
		v -= 1<<t - 1
	}
	return v, true
}
