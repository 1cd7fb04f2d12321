package config

import (
	"net/netip"
	"slices"
)

// admitsFamily reports whether the union of nets holds every address of the
// family of zero (0.0.0.0 for IPv4, :: for IPv6): a list of halves or
// quarters admits everyone as surely as a single /0 does.
func admitsFamily(nets []Network, zero netip.Addr) bool {
	var ps []netip.Prefix
	for _, n := range nets {
		if n.IsValid() && n.Addr().Is4() == zero.Is4() {
			ps = append(ps, n.Masked())
		}
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	// Sweep the networks in address order: next is the lowest address not
	// yet covered.
	next := zero
	for _, p := range ps {
		if next.Less(p.Addr()) {
			return false // a gap before p
		}
		last := lastAddr(p)
		if last.Less(next) {
			continue // inside what is covered already
		}
		if !last.Next().IsValid() {
			return true // reached the highest address of the family
		}
		next = last.Next()
	}
	return false
}

// lastAddr is the highest address in p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	first := 0
	if p.Addr().Is4() {
		first = 96
	}
	for i := first + p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}
