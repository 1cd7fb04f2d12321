package jpegbits

import (
	"encoding/binary"
	"math/bits"
)

// The functions in this file label the bits of one block each. They read
// the unstuffed scan data d at bit position s.pos through a 64-bit window
// and mark candidate bits in s.cm and structural bits in s.xm; every other
// bit they pass over is a Huffman code bit. None of them looks at the value
// of a candidate bit, which is what keeps the labelling identical for a
// plaintext and its ciphertext.
//
// An element is a Huffman code with the raw bits that follow it. Errors are
// located at the data byte holding the element's first bit.

// peek returns the bits at bit position pos, left-aligned; at least 57 of
// them are valid. d always has 16 readable bytes past the scan data.
func peek(d []byte, pos uint) uint64 {
	return binary.BigEndian.Uint64(d[pos>>3:]) << (pos & 7)
}

// setRun marks n ≤ 25 bits starting at bit pos in the bit map m.
func setRun(m []byte, pos, n uint) {
	i := pos >> 3
	v := binary.BigEndian.Uint32(m[i:])
	v |= (1<<n - 1) << (32 - pos&7 - n)
	binary.BigEndian.PutUint32(m[i:], v)
}

// setLongRun marks n bits starting at pos, for runs of any length.
func setLongRun(m []byte, pos, n uint) {
	for n > 16 {
		setRun(m, pos, 16)
		pos, n = pos+16, n-16
	}
	if n > 0 {
		setRun(m, pos, n)
	}
}

func (s *scanState) errAt(elem uint, reason string) error {
	return &scanError{dataIndex: s.dOff + int64(elem>>3), reason: reason}
}

// errEnd reports data that ended inside the element starting at elem.
func (s *scanState) errEnd(elem uint) error {
	return s.errAt(elem, "entropy-coded data ends inside an element")
}

// errCode reports a bit sequence that is no code of the table. When the 16
// bits examined reach past the end of the interval's data, the data ended
// inside the element: which message is given depends on the limit only, so
// it is the same for plaintext and ciphertext.
func (s *scanState) errCode(elem uint) error {
	if elem+16 > s.limit {
		return s.errEnd(elem)
	}
	return s.errAt(elem, "invalid Huffman code")
}

// decodeDC labels one DC difference: its code (H) and the T additional bits
// (C) that follow (T.81 F.2.2.1, G.1.2.1).
func (s *scanState) decodeDC(tab *huffman) error {
	elem := s.pos
	w := peek(s.d, elem)
	e := uint(tab.lut[w>>(64-lutBits)])
	n, t := e>>8, e&0xff
	if e == 0 {
		var ok bool
		if n, t, ok = tab.decodeSlow(w); !ok {
			return s.errCode(elem)
		}
	}
	pos := elem + n
	if t != 0 {
		setRun(s.cm, pos, t)
		pos += t
	}
	if pos > s.limit {
		return s.errEnd(elem)
	}
	s.pos = pos
	return nil
}

// sequentialBlock labels a block of a sequential scan (T.81 F.2.2).
// Ss, Se, Ah and Al of the scan header are ignored, as T.81 B.2.3 allows.
func (s *scanState) sequentialBlock(dc, ac *huffman) error {
	if err := s.decodeDC(dc); err != nil {
		return err
	}
	d, cm, pos, limit := s.d, s.cm, s.pos, s.limit
	for k := uint(1); k < 64; {
		elem := pos
		w := peek(d, pos)
		e := uint(ac.lut[w>>(64-lutBits)])
		n, rs := e>>8, e&0xff
		if e == 0 {
			var ok bool
			if n, rs, ok = ac.decodeSlow(w); !ok {
				s.pos = pos
				return s.errCode(elem)
			}
		}
		pos += n
		r, sz := rs>>4, rs&15
		if sz == 0 {
			if r == 15 { // ZRL; running past coefficient 63 ends the block
				k += 16
				if pos > limit {
					return s.errEnd(elem)
				}
				continue
			}
			if r != 0 {
				return s.errAt(elem, "AC symbol with size 0 and run other than 0 or 15")
			}
			if pos > limit {
				return s.errEnd(elem)
			}
			break // EOB
		}
		k += r
		if k > 63 {
			return s.errAt(elem, "AC coefficient index beyond 63")
		}
		setRun(cm, pos, sz)
		pos += sz
		k++
		if pos > limit {
			return s.errEnd(elem)
		}
	}
	s.pos = pos
	return nil
}

// dcRefineBlock labels the one correction bit of a DC refinement scan
// (T.81 G.1.2.1): a C bit.
func (s *scanState) dcRefineBlock() error {
	if s.pos+1 > s.limit {
		return s.errEnd(s.pos)
	}
	setRun(s.cm, s.pos, 1)
	s.pos++
	return nil
}

// readEOBRun labels and reads the r raw bits that extend an EOB run
// (T.81 G.1.2.2, Table G.1): structural bits, never encrypted.
func (s *scanState) readEOBRun(w uint64, n, r uint) int {
	run := 1 << r
	if r > 0 {
		run += int((w << n) >> (64 - r))
		setRun(s.xm, s.pos+n, r)
		s.stats.SBits += int64(r)
	}
	return run
}

// acFirstBlock labels one block of an AC first scan (T.81 G.1.2.2). The
// caller has already skipped blocks covered by an EOB run.
func (s *scanState) acFirstBlock(ac *huffman, hist *uint64) error {
	h := s.hdr
	d, pos := s.d, s.pos
	for k := uint(h.ss); k <= uint(h.se); {
		elem := pos
		w := peek(d, pos)
		e := uint(ac.lut[w>>(64-lutBits)])
		n, rs := e>>8, e&0xff
		if e == 0 {
			var ok bool
			if n, rs, ok = ac.decodeSlow(w); !ok {
				s.pos = pos
				return s.errCode(elem)
			}
		}
		r, sz := rs>>4, rs&15
		if sz == 0 {
			if r == 15 { // ZRL; running past Se ends the band
				pos += n
				k += 16
				if pos > s.limit {
					return s.errEnd(elem)
				}
				continue
			}
			s.pos = pos
			run := s.readEOBRun(w, n, r)
			pos += n + r
			if pos > s.limit {
				return s.errEnd(elem)
			}
			if run > s.intervalLeft {
				return s.errAt(elem, "EOB run longer than the blocks left")
			}
			s.eobrun = run - 1
			break
		}
		k += r
		if k > uint(h.se) {
			return s.errAt(elem, "AC coefficient index beyond the band")
		}
		if int(sz)+h.al > 15 {
			return s.errAt(elem, "AC coefficient too large for its point transform")
		}
		pos += n
		setRun(s.cm, pos, sz)
		pos += sz
		*hist |= 1 << k
		k++
		if pos > s.limit {
			return s.errEnd(elem)
		}
	}
	s.pos = pos
	return nil
}

// acRefineBlock labels one block of an AC refinement scan (T.81 G.1.2.3):
// the code, then the sign bit of a newly non-zero coefficient, then one
// correction bit for every already non-zero coefficient passed over. Sign
// and correction bits are C bits.
func (s *scanState) acRefineBlock(ac *huffman, hist *uint64) error {
	h := s.hdr
	se := uint(h.se)
	hb := *hist
	k := uint(h.ss)
	d, cm := s.d, s.cm
	if s.eobrun == 0 {
		for k <= se {
			elem := s.pos
			w := peek(d, elem)
			e := uint(ac.lut[w>>(64-lutBits)])
			n, rs := e>>8, e&0xff
			if e == 0 {
				var ok bool
				if n, rs, ok = ac.decodeSlow(w); !ok {
					return s.errCode(elem)
				}
			}
			r, sz := rs>>4, rs&15
			pos := elem + n
			if sz != 0 {
				if sz != 1 {
					return s.errAt(elem, "AC refinement symbol with size other than 1")
				}
				setRun(cm, pos, 1)
				pos++
			} else if r != 15 {
				run := s.readEOBRun(w, n, r)
				pos += r
				if pos > s.limit {
					return s.errEnd(elem)
				}
				if run > s.intervalLeft {
					return s.errAt(elem, "EOB run longer than the blocks left")
				}
				s.pos = pos
				s.eobrun = run
				break
			}
			// Pass over coefficients: each already non-zero one carries a
			// correction bit; r zero-history ones are skipped, and the
			// next zero-history one is the target.
			for k <= se {
				if hb&(1<<k) != 0 {
					setRun(cm, pos, 1)
					pos++
				} else {
					if r == 0 {
						break
					}
					r--
				}
				k++
			}
			if sz != 0 {
				if k > se {
					return s.errAt(elem, "AC refinement band ends before its new coefficient")
				}
				hb |= 1 << k
			}
			k++
			if pos > s.limit {
				return s.errEnd(elem)
			}
			s.pos = pos
		}
	}
	if s.eobrun > 0 {
		// The block ends inside an EOB run: only correction bits remain.
		if k <= se {
			band := (uint64(2)<<se - 1) &^ (uint64(1)<<k - 1)
			if n := uint(bits.OnesCount64(hb & band)); n > 0 {
				if s.pos+n > s.limit {
					return s.errEnd(s.pos)
				}
				setLongRun(cm, s.pos, n)
				s.pos += n
			}
		}
		s.eobrun--
	}
	*hist = hb
	return nil
}
