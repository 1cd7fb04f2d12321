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
// them are valid. d always has dataPad readable bytes past the scan data.
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

// setBits marks n bits starting at pos, for runs of any length, with a
// single read-modify-write for the common short ones.
func setBits(m []byte, pos, n uint) {
	if n <= 25 {
		setRun(m, pos, n)
		return
	}
	setLongRun(m, pos, n)
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

// selectInByte[r<<8|b] is the index, counted from bit 0, of the (r+1)-th
// lowest one bit of the byte b.
var selectInByte = func() (t [8 << 8]uint8) {
	for b := range 256 {
		r := 0
		for i := range 8 {
			if b>>i&1 != 0 {
				t[r<<8|b] = uint8(i)
				r++
			}
		}
	}
	return t
}()

// selectBit returns the index, counted from bit 0, of the (r+1)-th lowest
// one bit of x, which must have more than r one bits. It works without
// branches (S. Vigna, "Broadword implementation of rank/select queries"):
// the byte holding the bit is found from the running one-bit counts of
// the bytes, then a table resolves the bit inside the byte.
func selectBit(x uint64, r uint) uint {
	const ones, highs = 0x0101_0101_0101_0101, 0x8080_8080_8080_8080
	c := x - x>>1&0x5555_5555_5555_5555
	c = c&0x3333_3333_3333_3333 + c>>2&0x3333_3333_3333_3333
	c = (c + c>>4) & 0x0f0f_0f0f_0f0f_0f0f * ones // byte i: the one bits in bytes 0..i
	// Bytes whose running count is at most r lie before the wanted bit;
	// r < 64 and the counts are at most 64, so no borrow crosses a byte.
	b := uint(bits.OnesCount64(((uint64(r)*ones|highs)-c)&highs)) * 8
	rank := r - uint(uint8(c<<8>>b)) // the wanted bit's rank in its byte, < 8
	return b + uint(selectInByte[rank<<8|uint(uint8(x>>b))])
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

// storeC records the C-bit labels of an element of n bits that starts at
// bit pos. acc holds the labels of the bits up to the element's end, the
// last one in bit 0, including those of the bits of pos's byte before pos.
// The store overwrites the 8 bytes from pos's byte: the bits past the
// element's end are not labelled yet, so they are zero in cm and in acc.
// Storing whole words, never reading cm back, keeps the labelling free of
// read-modify-write dependencies between consecutive elements.
func storeC(cm []byte, pos, n uint, acc uint64) {
	binary.BigEndian.PutUint64(cm[pos>>3:], acc<<((64-pos&7-n)&63))
}

// loadC returns the C-bit labels of the bits of pos's byte before pos,
// right-aligned, to start an acc for storeC.
func loadC(cm []byte, pos uint) uint64 {
	return uint64(cm[pos>>3]) >> (8 - pos&7)
}

// decodeDC labels one DC difference: its code (H) and the T additional bits
// (C) that follow (T.81 F.2.2.1, G.1.2.1).
func (s *scanState) decodeDC(tab *huffman) error {
	elem := s.pos
	w := peek(s.d, elem)
	e := tab.lut[w>>(64-lutBits)]
	if e == 0 {
		if e = tab.decodeSlow(w); e == 0 {
			return s.errCode(elem)
		}
	}
	pos := elem + e.codeLen()
	t := e.size()
	if t != 0 {
		setRun(s.cm, pos, t)
	}
	if pos+t > s.limit {
		return s.errEnd(elem)
	}
	if s.rec != nil {
		s.rec.add(s.dOff, pos, t, pos+t)
	}
	s.pos = pos + t
	return nil
}

// sequentialMCU labels the blocks of one MCU of a sequential scan (T.81
// F.2.2): for each block the DC difference, then the AC coefficients until
// EOB or coefficient 63. Ss, Se, Ah and Al of the scan header are ignored,
// as T.81 B.2.3 allows. Every element is a code (H bits) followed by SSSS
// additional bits (C bits), so the element's lookup entry gives both its
// length and its labels.
//
// Decoding speed is bounded by the chain from one element's length to the
// next element's table lookup, so the bits are kept in a register: w holds
// the nb ≥ 25 next bits, left-aligned, and byte p of d is the first one
// not yet in w. The table index is taken before each refill (16 valid bits
// are all a code needs), and the refill tops w up to 56..63 bits, enough
// for an element of at most 31 bits, without branches and from an address
// computed one element earlier (the "variant 4" bit reader of F. Giesen,
// "Reading bits in far too many ways"): so the refill runs beside the
// table lookup, not after it. It reads at most 16 bytes past pos>>3.
// The C-bit labels are written with storeC, never read back.
//
// Most MCUs take sequentialMCUFast, the same loop without limit checks;
// this one serves the MCUs near a known end of the data (an RSTn marker or
// the end of the scan), where the limit checks place the errors.
func (s *scanState) sequentialMCU() error {
	d, cm, pos, limit := s.d, s.cm, s.pos, s.limit
	acc := loadC(cm, pos)
	p := pos>>3 + 7
	w := binary.BigEndian.Uint64(d[pos>>3:]) << (pos & 7)
	nb := 56 - pos&7
	for _, b := range s.blocks[:s.nBlocks] {
		i := w >> (64 - lutBits)
		w |= binary.BigEndian.Uint64(d[p:]) >> (nb & 63)
		p += (63 - nb) >> 3
		nb |= 56
		e := b.dc.lut[i]
		if e == 0 {
			if e = b.dc.decodeSlow(w); e == 0 {
				return s.errCode(pos)
			}
		}
		n := e.length()
		w <<= n
		nb -= n
		acc = acc<<n | e.cBits()
		storeC(cm, pos, n, acc)
		elem := pos
		pos += n
		if pos > limit {
			return s.errEnd(elem)
		}
		dcBit, dcSize := elem+e.codeLen(), e.size()
		ac := b.ac
		for k := uint(1); k < 64; {
			i := w >> (64 - lutBits)
			w |= binary.BigEndian.Uint64(d[p:]) >> (nb & 63)
			p += (63 - nb) >> 3
			nb |= 56
			e := ac.lut[i]
			if e == 0 {
				if e = ac.decodeSlow(w); e == 0 {
					return s.errCode(pos)
				}
			}
			n := e.length()
			w <<= n
			nb -= n
			acc = acc<<n | e.cBits()
			storeC(cm, pos, n, acc)
			elem := pos
			pos += n
			if e.size() == 0 {
				if r := e.run(); r == 15 { // ZRL; running past coefficient 63 ends the block
					k += 16
					if pos > limit {
						return s.errEnd(elem)
					}
					continue
				} else if r != 0 {
					return s.errAt(elem, "AC symbol with size 0 and run other than 0 or 15")
				}
				if pos > limit {
					return s.errEnd(elem)
				}
				break // EOB
			}
			k += e.run() + 1
			if k > 64 {
				return s.errAt(elem, "AC coefficient index beyond 63")
			}
			if pos > limit {
				return s.errEnd(elem)
			}
		}
		if s.rec != nil {
			s.rec.add(s.dOff, dcBit, dcSize, pos)
		}
	}
	s.pos = pos
	return nil
}

// seqMCUBits bounds the length of a sequential MCU: at most 10 blocks
// (T.81 B.2.3), each a DC element and at most 63 AC elements of at most
// 16 code bits and 15 additional bits, 1984 bits in all.
const seqMCUBits = 10 * 2048

// fastWindow is the span of d and cm that sequentialMCUFast works in: an
// MCU's bits plus the 16 bytes the bit reader reads ahead, rounded up to a
// power of two so that masking an index with fastWindow-1 proves it in
// range without changing it.
const fastWindow = 4096

type window = [fastWindow + 8]byte

// sequentialMCUFast is sequentialMCU for an MCU that ends at least
// seqMCUBits before the limit whatever its bits are, which decodeMCUs
// checks first: then no element can overrun the data, and the 16 bits
// after any element's start are all data, so "invalid Huffman code" is
// always the right message for a bit sequence that is no code. Without the
// per-element limit checks, and with d and cm seen through fixed-size
// windows (indexes masked with fastWindow-1 need no bounds checks), the
// loop's state fits in registers. It labels and fails exactly as
// sequentialMCU does. This is the hot loop of sequential JPEGs.
//
// AC elements go through the table's seq entries, one or two elements per
// lookup; an entry whose index advance would pass coefficient 64, and a
// code the entry does not resolve, take the one-element path, which
// reports errors where sequentialMCU does. On that path, elements without
// additional bits (EOB, ZRL) skip the store: they add no C bits, and the
// next store rewrites their bytes from acc.
func (s *scanState) sequentialMCUFast() error {
	base := s.pos >> 3
	dw, cw := (*window)(s.d[base:]), (*window)(s.cm[base:])
	const mask = fastWindow - 1
	pos := s.pos & 7 // from here on relative to byte base
	acc := uint64(cw[0]) >> (8 - pos)
	p := uint(7)
	w := binary.BigEndian.Uint64(dw[:]) << pos
	nb := 56 - pos
	starts := &s.starts
	for bi, b := range s.blocks[:s.nBlocks] {
		starts[bi] = pos
		i := w >> (64 - lutBits)
		w |= binary.BigEndian.Uint64(dw[p&mask:]) >> (nb & 63)
		p += (63 - nb) >> 3
		nb |= 56
		e := b.dc.lut[i]
		if e == 0 {
			if e = b.dc.decodeSlow(w); e == 0 {
				return s.errCode(base*8 + pos)
			}
		}
		w, nb, acc, pos = consume(cw, w, nb, acc, pos, e.length(), e.cBits())
		ac, seq := b.ac, b.ac.seq
		for k := uint(1); k < 64; {
			i := w >> (64 - lutBits)
			w |= binary.BigEndian.Uint64(dw[p&mask:]) >> (nb & 63)
			p += (63 - nb) >> 3
			nb |= 56
			if m := seq[i]; k+m.advance() <= 64 {
				w, nb, acc, pos = consume(cw, w, nb, acc, pos, m.length(), m.cBits())
				k += m.advance()
				if m&seqEOB != 0 {
					break
				}
				continue
			}
			e := ac.lut[i]
			if e == 0 {
				if e = ac.decodeSlow(w); e == 0 {
					return s.errCode(base*8 + pos)
				}
			}
			n := e.length()
			w <<= n
			nb -= n
			if e.size() == 0 {
				acc <<= n
				pos += n
				if r := e.run(); r == 15 { // ZRL; running past coefficient 63 ends the block
					k += 16
					continue
				} else if r != 0 {
					return s.errAt(base*8+pos-n, "AC symbol with size 0 and run other than 0 or 15")
				}
				break // EOB
			}
			acc = acc<<n | e.cBits()
			binary.BigEndian.PutUint64(cw[pos>>3&mask:], acc<<((64-pos&7-n)&63))
			k += e.run() + 1
			if k > 64 {
				return s.errAt(base*8+pos, "AC coefficient index beyond 63")
			}
			pos += n
		}
	}
	s.pos = base*8 + pos
	return nil
}

// recordFast records the DC elements of the MCU sequentialMCUFast labelled
// from bit start (RecordDC), from where it found each block to start:
// decoding the DC code there again keeps the recording out of the hot
// loop.
func (s *scanState) recordFast(start uint) {
	base := start &^ 7
	for bi, b := range s.blocks[:s.nBlocks] {
		pos := base + s.starts[bi]
		w := peek(s.d, pos)
		e := b.dc.lut[w>>(64-lutBits)]
		if e == 0 {
			e = b.dc.decodeSlow(w) // a code sequentialMCUFast decoded
		}
		end := s.pos
		if bi+1 < s.nBlocks {
			end = base + s.starts[bi+1]
		}
		s.rec.add(s.dOff, pos+e.codeLen(), e.size(), end)
	}
}

// consume moves sequentialMCUFast's bit reader past n bits of elements
// whose C-bit pattern is c, and stores the labels up to their end.
func consume(cw *window, w uint64, nb uint, acc uint64, pos, n uint, c uint64) (uint64, uint, uint64, uint) {
	acc = acc<<n | c
	binary.BigEndian.PutUint64(cw[pos>>3&(fastWindow-1):], acc<<((64-pos&7-n)&63))
	return w << n, nb - n, acc, pos + n
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
	se, al := uint(h.se), uint(h.al)
	d, cm, pos, limit, hb := s.d, s.cm, s.pos, s.limit, *hist
	acc := loadC(cm, pos)
	for k := uint(h.ss); k <= se; {
		elem := pos
		w := peek(d, pos)
		e := ac.lut[w>>(64-lutBits)]
		if e == 0 {
			if e = ac.decodeSlow(w); e == 0 {
				return s.errCode(elem)
			}
		}
		n, r, sz := e.length(), e.run(), e.size()
		if sz == 0 {
			if r == 15 { // ZRL; running past Se ends the band
				pos += n
				acc <<= n
				k += 16
				if pos > limit {
					return s.errEnd(elem)
				}
				continue
			}
			s.pos = pos
			run := s.readEOBRun(w, n, r)
			pos += n + r
			if pos > limit {
				return s.errEnd(elem)
			}
			if run > s.intervalLeft {
				return s.errAt(elem, "EOB run longer than the blocks left")
			}
			s.eobrun = run - 1
			break
		}
		k += r
		if k > se {
			return s.errAt(elem, "AC coefficient index beyond the band")
		}
		if sz+al > 15 {
			return s.errAt(elem, "AC coefficient too large for its point transform")
		}
		acc = acc<<n | e.cBits()
		storeC(cm, pos, n, acc)
		pos += n
		hb |= 1 << k
		k++
		if pos > limit {
			return s.errEnd(elem)
		}
	}
	s.pos = pos
	*hist = hb
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
	d, cm, pos, limit := s.d, s.cm, s.pos, s.limit
	if s.eobrun == 0 {
		for k <= se {
			elem := pos
			w := peek(d, elem)
			e := ac.lut[w>>(64-lutBits)]
			if e == 0 {
				if e = ac.decodeSlow(w); e == 0 {
					return s.errCode(elem)
				}
			}
			n, r, sz := e.codeLen(), e.run(), e.size()
			pos += n
			if sz == 0 && r != 15 {
				s.pos = elem
				run := s.readEOBRun(w, n, r)
				pos += r
				if pos > limit {
					return s.errEnd(elem)
				}
				if run > s.intervalLeft {
					return s.errAt(elem, "EOB run longer than the blocks left")
				}
				s.eobrun = run
				break
			}
			if sz > 1 {
				return s.errAt(elem, "AC refinement symbol with size other than 1")
			}
			// Pass over coefficients: each already non-zero one carries a
			// correction bit; r zero-history ones are skipped, and the
			// next zero-history one, t, is the target (of the new
			// coefficient, or of the ZRL's 16th zero). The sign bit and
			// the correction bits follow the code, all of them C bits.
			band := (uint64(2)<<se - 1) &^ (uint64(1)<<k - 1)
			zeros := ^hb & band
			// Between k and t lie r zero-history coefficients and c-sz
			// non-zero ones; when the band ends first, all of the band's
			// non-zero ones are passed over.
			var t, c uint
			found := uint(bits.OnesCount64(zeros)) > r
			if found {
				t = selectBit(zeros, r)
				c = sz + t - k - r
			} else {
				t = se + 1
				c = sz + uint(bits.OnesCount64(hb&band))
			}
			if c > 0 {
				setBits(cm, pos, c)
				pos += c
			}
			if sz != 0 {
				if !found {
					return s.errAt(elem, "AC refinement band ends before its new coefficient")
				}
				hb |= 1 << t
			}
			k = t + 1
			if pos > limit {
				return s.errEnd(elem)
			}
		}
	}
	if s.eobrun > 0 {
		var err error
		if pos, err = s.refineInEOBRun(hb, k, se, pos); err != nil {
			return err
		}
		s.eobrun--
	}
	s.pos = pos
	*hist = hb
	return nil
}

// refineInEOBRun labels the rest of a block that ends inside an EOB run
// (T.81 G.1.2.3): only the correction bits of the band's already non-zero
// coefficients from k on remain, all of them C bits.
func (s *scanState) refineInEOBRun(hb uint64, k, se, pos uint) (uint, error) {
	if k > se {
		return pos, nil
	}
	band := (uint64(2)<<se - 1) &^ (uint64(1)<<k - 1)
	if n := uint(bits.OnesCount64(hb & band)); n > 0 {
		if pos+n > s.limit {
			return pos, s.errEnd(pos)
		}
		setBits(s.cm, pos, n)
		pos += n
	}
	return pos, nil
}
