package jpegbits

// lutBits is the number of bits the fast lookup table resolves. Ten bits
// cover nearly every code that photographs use; longer codes take the slow
// path (T.81 F.2.2.3, DECODE).
const lutBits = 10

// huffman is one decoding table (T.81 Annex C, F.2.2.3).
type huffman struct {
	// lut maps the next lutBits bits to length<<8 | symbol, or 0 when the
	// next code is longer than lutBits or no code at all.
	lut [1 << lutBits]uint16
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

// build fills the table from the DHT counts (BITS) and values (HUFFVAL).
func (h *huffman) build(counts *[16]byte, vals []byte) {
	*h = huffman{defined: true, nVals: len(vals)}
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
					entry := uint16(l)<<8 | uint16(vals[k+i])
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

// decodeSlow resolves a code longer than lutBits from the left-aligned bit
// window w. It returns the code length and symbol, or ok=false when the
// next 16 bits start with no code of the table.
func (h *huffman) decodeSlow(w uint64) (n uint, sym uint, ok bool) {
	for l := lutBits + 1; l <= 16; l++ {
		c := int32(w >> (64 - uint(l)))
		if c <= h.maxCode[l] {
			return uint(l), uint(h.vals[h.valPtr[l]+c]), true
		}
	}
	return 0, 0, false
}
