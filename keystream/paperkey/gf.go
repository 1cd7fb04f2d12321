package paperkey

// Arithmetic in GF(2^11) with the primitive polynomial x^11 + x^2 + 1, whose
// root α generates all 2047 non-zero elements. Symbol i of a paper key
// (0-based, over all 26 words) has weight α^i; a valid paper key satisfies
//
//	Σ s_i = 0   and   Σ α^i·s_i = 0.
//
// A single wrong word e at position j gives syndromes S0 = e, S1 = α^j·e,
// so it is always detected and j = log(S1/S0) locates it. Two wrong words
// cannot cancel both sums (the code's minimum distance is 3).

const (
	gfPoly  = 0x805 // x^11 + x^2 + 1
	gfOrder = 2047
)

var gfExp, gfLog = func() ([2 * gfOrder]uint16, [gfOrder + 1]uint16) {
	var exp [2 * gfOrder]uint16
	var log [gfOrder + 1]uint16
	x := uint16(1)
	for i := 0; i < gfOrder; i++ {
		exp[i], exp[i+gfOrder] = x, x
		log[x] = uint16(i)
		x <<= 1
		if x&0x800 != 0 {
			x ^= gfPoly
		}
	}
	return exp, log
}()

func gfMul(a, b uint16) uint16 {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

func gfDiv(a, b uint16) uint16 {
	if a == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+gfOrder-int(gfLog[b])]
}

// syndromes returns Σ s_i and Σ α^i·s_i.
func syndromes(syms []uint16) (s0, s1 uint16) {
	for i, s := range syms {
		s0 ^= s
		s1 ^= gfMul(gfExp[i], s)
	}
	return s0, s1
}

// checkSymbols returns the two check symbols that follow data (24 symbols)
// at positions 24 and 25 so that both syndromes are zero:
//
//	c0 + c1 = A,  α^24·c0 + α^25·c1 = B
//
// with A, B the syndromes of the data alone; hence
// c1 = (B + α^24·A) / (α^24 + α^25) and c0 = A + c1.
func checkSymbols(data []uint16) (c0, c1 uint16) {
	a, b := syndromes(data)
	p0, p1 := gfExp[DataWords], gfExp[DataWords+1]
	c1 = gfDiv(b^gfMul(p0, a), p0^p1)
	return a ^ c1, c1
}

// locate returns the 1-based position of the single wrong word that
// explains syndromes s0, s1, or 0 if none does.
func locate(s0, s1 uint16) int {
	if s0 == 0 || s1 == 0 {
		return 0
	}
	j := int(gfLog[gfDiv(s1, s0)])
	if j >= Words {
		return 0
	}
	return j + 1
}
