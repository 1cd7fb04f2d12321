package jpegbits

// lutBits is the number of bits the fast lookup table resolves. Ten bits
// cover nearly every code that photographs use; longer codes take the slow
// path (T.81 F.2.2.3, DECODE).
const lutBits = 10

// A lookup entry describes the element that starts with a code: the code's
// symbol, the element length (the code plus the SSSS additional bits that
// follow it, T.81 F.1.2.1.1 and F.1.2.2.1) and the candidate-bit pattern of
// those additional bits, so that one load gives the parser all it needs.
// The same layout serves DC tables, whose symbols are SSSS alone (a scan
// whose DC table has a symbol above 15 is refused, so RRRR is 0), and AC
// tables, whose symbols are RRRRSSSS. The zero entry means "not resolved by
// the table": a code longer than lutBits, or no code at all.
//
//	bits  0–5   element length: code length + SSSS (at most 16+15)
//	bits  8–15  symbol
//	bits 16–30  SSSS one bits: the element's C-bit pattern, right-aligned
//
// The length is in the low bits so that the hot loops can shift by the
// entry itself (x << (e & 63) is one instruction).
type lutEntry uint32

func makeEntry(codeLen, sym uint) lutEntry {
	sz := sym & 15
	return lutEntry(codeLen + sz | sym<<8 | (1<<sz-1)<<16)
}

// size is the symbol's SSSS, the number of additional bits.
func (e lutEntry) size() uint { return uint(e>>8) & 15 }

// run is the AC symbol's RRRR.
func (e lutEntry) run() uint { return uint(e>>12) & 15 }

// length is the code length plus SSSS.
func (e lutEntry) length() uint { return uint(e) & 63 }

// codeLen is the length of the Huffman code alone.
func (e lutEntry) codeLen() uint { return e.length() - e.size() }

// cBits is the candidate-bit pattern of the additional bits.
func (e lutEntry) cBits() uint64 { return uint64(e >> 16) }

// huffman is one decoding table (T.81 Annex C, F.2.2.3).
type huffman struct {
	// lut maps the next lutBits bits to the entry of the code they start
	// with, or 0 when the next code is longer than lutBits or no code.
	lut [1 << lutBits]lutEntry
	// seq is the AC lookup of sequential scans, which resolves up to two
	// elements at once (see seqEntry). Only AC tables have it: it is
	// allocated by their first buildSeq and kept when the table is
	// redefined.
	seq *[1 << lutBits]seqEntry
	// maxCode[L] is the largest code of length L, -1 when there is none;
	// valPtr[L] is the index in vals of the code 0 of length L (it may be
	// negative: only codes above firstCode are looked up).
	maxCode [17]int32
	valPtr  [17]int32
	vals    [256]byte
	nVals   int
	maxSym  byte
	defined bool
	// invalid names why a defined table cannot be used: codes that do not
	// fit their length, or the all-ones code (T.81 C.2). A scan that uses
	// such a table is a format error.
	invalid string
}

// A seqEntry describes what a sequential scan's AC decoder does with the
// next lutBits bits: one element, or two when the second one's code lies
// within those bits too (libjpeg-turbo's decoder resolves one symbol per
// lookup; two halve the chain of dependent lookups that bounds the loop in
// the common case of short codes with few additional bits). An entry gives
// the total length, the C-bit pattern of both elements right-aligned, how
// far the coefficient index advances, and whether the block ends (EOB).
//
//	bits  0–5   total length, at most lutBits+15 for two elements
//	bits  8–14  coefficient index advance (RRRR+1 per coefficient, 16 for
//	            ZRL, 0 for EOB); seqNone when the entry cannot be used
//	bit   15    the block ends with this entry's last element (EOB)
//	bits 32–63  C-bit pattern
//
// The decoder applies an entry only when the index advance keeps the
// coefficient index at most 64; otherwise, and for codes the entry does
// not resolve, it decodes one element the long way, which places errors.
// Two elements are only combined when the first one is a coefficient
// (SSSS > 0) and the second a coefficient or EOB: the advance then covers
// both, so the first can never end the block.
type seqEntry uint64

const (
	seqNone = 127 << 8 // an advance no coefficient index allows
	seqEOB  = 1 << 15
)

func (e seqEntry) length() uint  { return uint(e) & 63 }
func (e seqEntry) advance() uint { return uint(e>>8) & 127 }
func (e seqEntry) cBits() uint64 { return uint64(e >> 32) }

// buildSeq fills seq from lut.
func (h *huffman) buildSeq() {
	const all = 1<<lutBits - 1
	if h.seq == nil {
		h.seq = new([1 << lutBits]seqEntry)
	}
	for i, e := range h.lut {
		if e == 0 {
			h.seq[i] = seqNone
			continue
		}
		n, r, sz := e.length(), e.run(), e.size()
		switch {
		case sz == 0 && r == 0:
			h.seq[i] = seqEntry(n) | seqEOB
			continue
		case sz == 0 && r == 15:
			h.seq[i] = seqEntry(n | 16<<8)
			continue
		case sz == 0:
			h.seq[i] = seqNone // decoded the long way, which reports it
			continue
		}
		one := seqEntry(n|(r+1)<<8) | seqEntry(e.cBits())<<32
		h.seq[i] = one
		if n >= lutBits {
			continue
		}
		e2 := h.lut[i<<n&all]
		if e2 == 0 || e2.codeLen() > lutBits-n {
			continue
		}
		n2, r2, sz2 := e2.length(), e2.run(), e2.size()
		switch {
		case sz2 > 0:
			h.seq[i] = seqEntry(n+n2|(r+1+r2+1)<<8) | seqEntry(e.cBits()<<n2|e2.cBits())<<32
		case r2 == 0:
			// The advance counts the EOB as one more coefficient, so that
			// the first element is never the block's 63rd.
			h.seq[i] = seqEntry(n+n2|(r+2)<<8|seqEOB) | seqEntry(e.cBits()<<n2)<<32
		}
	}
}

// build fills the table from the DHT counts (BITS) and values (HUFFVAL).
func (h *huffman) build(counts *[16]byte, vals []byte) {
	*h = huffman{defined: true, nVals: len(vals), seq: h.seq}
	copy(h.vals[:], vals)
	for _, v := range vals {
		if v > h.maxSym {
			h.maxSym = v
		}
	}
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		h.maxCode[l] = -1
		if n > 0 {
			limit := int32(1) << l
			if code+n > limit {
				h.invalid = "Huffman table codes overflow their length"
				return
			}
			if code+n == limit {
				h.invalid = "Huffman table uses the all-ones code"
				return
			}
			h.valPtr[l] = k - code
			for i := int32(0); i < n; i++ {
				if l <= lutBits {
					shift := uint(lutBits - l)
					entry := makeEntry(uint(l), uint(vals[k+i]))
					first := (code + i) << shift
					for j := int32(0); j < 1<<shift; j++ {
						h.lut[first+j] = entry
					}
				}
			}
			code += n
			k += n
			h.maxCode[l] = code - 1
		}
		code <<= 1
	}
}

// decodeSlow resolves a code longer than lutBits from the left-aligned
// bit window w: it returns the code's entry, or 0 when the next 16 bits
// start with no code of the table.
func (h *huffman) decodeSlow(w uint64) lutEntry {
	for l := lutBits + 1; l <= 16; l++ {
		c := int32(w >> (64 - uint(l)))
		if c <= h.maxCode[l] {
			return makeEntry(uint(l), uint(h.vals[h.valPtr[l]+c]))
		}
	}
	return 0
}
