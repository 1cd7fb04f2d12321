package veil

import (
	"encoding/binary"

	"jpegveil/keystream"
)

// ifpeRounds is the number of Feistel rounds of σ (FORMAT.md §24).
const ifpeRounds = 10

// reflectRound is the round byte of the reflection ρ.
const reflectRound = 0xFF

// ifpe applies the involutive format-preserving transform of FORMAT.md §24
// to vals, in place: vals[i] must be below radices[i] (at least 1 each) and
// stays so. Applying it twice restores vals. label separates the uses
// ("gps", "xmp location").
//
// It is E = σ⁻¹ ∘ ρ ∘ σ, where σ is a keyed Feistel network over the two
// halves of the tuple (element-wise addition modulo each radix, round values
// drawn from the nonce chain) and ρ the keyed reflection v ↦ (k − v) mod r:
// ρ is an involution, so E is one, which keeps jpegveil's "the same
// operation decrypts" for metadata too, and σ makes every output element
// depend on every input element, so two tuples share nothing that a
// difference of ciphertexts would reveal.
func ifpe(key *keystream.Key, label string, radices, vals []uint64) {
	n := len(vals)
	if n == 0 {
		return
	}
	tweak := ifpeTweak(radices)
	widths := make([]int, n)
	for i, r := range radices {
		widths[i] = valueWidth(r)
	}
	h := n / 2
	var in, out []byte
	// f returns the round values for the elements [dlo, dhi) from the
	// elements [slo, shi).
	f := func(round byte, slo, shi, dlo, dhi int) []uint64 {
		in = append(in[:0], round)
		for i := slo; i < shi; i++ {
			in = appendValue(in, vals[i], widths[i])
		}
		m := dhi - dlo
		if cap(out) < 8*m {
			out = make([]byte, 8*m)
		}
		out = out[:8*m]
		c := key.NewChain(label)
		c.AbsorbSegment(tweak)
		c.Derive(in, out)
		fs := make([]uint64, m)
		for j := range fs {
			fs[j] = binary.BigEndian.Uint64(out[8*j:]) % radices[dlo+j]
		}
		return fs
	}
	// round applies round r of σ (sign +1) or its inverse (sign −1).
	round := func(r int, add bool) {
		slo, shi, dlo, dhi := 0, h, h, n // even rounds: R from L
		if r%2 == 1 {
			slo, shi, dlo, dhi = h, n, 0, h // odd rounds: L from R
		}
		if dlo == dhi {
			return
		}
		fs := f(byte(r), slo, shi, dlo, dhi)
		for j, fv := range fs {
			i := dlo + j
			if add {
				vals[i] = addMod(vals[i], fv, radices[i])
			} else {
				vals[i] = addMod(vals[i], radices[i]-fv, radices[i])
			}
		}
	}
	for r := 0; r < ifpeRounds; r++ {
		round(r, true)
	}
	ks := f(reflectRound, 0, 0, 0, n)
	for i := range vals {
		vals[i] = addMod(ks[i], radices[i]-vals[i], radices[i])
	}
	for r := ifpeRounds - 1; r >= 0; r-- {
		round(r, false)
	}
}

// addMod returns (a + b) mod r for a < r and b ≤ r; r < 2^63.
func addMod(a, b, r uint64) uint64 { return (a + b) % r }

// ifpeTweak is the tweak absorbed before every round: the number of
// elements and every radix, so that tuples of different shapes are
// transformed independently.
func ifpeTweak(radices []uint64) []byte {
	t := binary.BigEndian.AppendUint32(nil, uint32(len(radices)))
	for _, r := range radices {
		t = binary.BigEndian.AppendUint64(t, r)
	}
	return t
}

// valueWidth is the number of bytes that hold every value below radix r
// (at least 1).
func valueWidth(r uint64) int {
	w := 1
	for v := r - 1; v > 0xFF; v >>= 8 {
		w++
	}
	return w
}

func appendValue(b []byte, v uint64, w int) []byte {
	for i := w - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}
