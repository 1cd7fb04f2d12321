package jpegbits

// referenceScan is a second, deliberately simple decoder of the DC
// elements of a first scan, from the ECS bytes: the oracle that the
// transformer's recording (RecordDC) is checked against. It unstuffs on
// its own and reads only Huffman codes.
type referenceScan struct {
	blocks    []DCBlock
	data      []byte
	geometry  *DCScan
	h         *scanHeader
	units     []dcUnit
	ri        int
	maxBlocks int
	ecsDone   int
	ended     bool
	m, u      int
	pos       uint
	mx, my    int32
}

func referenceDCScan(segments [][]byte, ecs []byte, maxBlocks int) (*referenceScan, error) {
	t := &Transformer{budget: new(WorkBudget), stats: Stats{Segments: make(map[string]int)}}
	var h *scanHeader
	for _, seg := range segments {
		var err error
		if h, err = t.parseSegment(seg[1], seg, 0); err != nil {
			return nil, err
		}
		if h != nil {
			break
		}
	}
	g, err := newDCScan(t.frame, h, t.restartInterval)
	if err != nil {
		return nil, err
	}
	s := &referenceScan{geometry: g, h: h, units: g.units, ri: g.ri, maxBlocks: maxBlocks}
	s.extend(ecs)
	return s, nil
}

// extend decodes the blocks of ecs, the scan's ECS.
func (s *referenceScan) extend(ecs []byte) {
	s.unstuff(ecs)
	s.decode()
}

// unstuff appends the data bytes of ecs past those already read (FORMAT.md
// §4.1), leaving a run of FF at its end for the next call; RSTn markers
// are dropped (the decoder aligns to a byte at an interval's end) and any
// other marker ends the ECS.
func (s *referenceScan) unstuff(ecs []byte) {
	i := s.ecsDone
	for i < len(ecs) {
		if ecs[i] != 0xFF {
			s.data = append(s.data, ecs[i])
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
func (s *referenceScan) decode() {
	h := s.h
	interleaved := len(h.comps) > 1
	mcusX := s.geometry.Components[0].Width
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
			if len(s.blocks) >= s.maxBlocks {
				s.ended = true
				return
			}
			if pos >= limit {
				return
			}
			u := &s.units[s.u]
			dc, ac := h.comps[u.comp].dc, h.comps[u.comp].ac
			e := dcCode(d, dc, pos)
			if e == 0 {
				s.ended = pos+16 <= limit
				return
			}
			bit := pos + e.codeLen()
			end := pos + e.length()
			if sequential {
				var complete bool
				if end, complete = skipAC(d, ac, end, limit); !complete {
					s.ended = end+16 <= limit && dcCode(d, ac, end) == 0
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
			s.blocks = append(s.blocks, DCBlock{
				Component: u.comp, Reset: reset && s.u == 0, Size: uint8(e.size()),
				X: x, Y: y, Bit: uint32(bit),
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
