package authlimit

import (
	"net/netip"
	"testing"
	"time"
)

// TestAuthBackoff: five failures are free, then the wait doubles from 1 s
// up to 5 min; addresses of one IPv6 /64 count together, an IPv4-mapped
// address as its IPv4 address; a success forgives.
func TestAuthBackoff(t *testing.T) {
	now := time.Unix(1e9, 0)
	l := New(func() time.Time { return now })
	a := netip.MustParseAddr("2001:db8::1")
	sibling := netip.MustParseAddr("2001:db8::ffff")
	var waits []time.Duration
	for range 16 {
		_, d := l.Failed(a)
		waits = append(waits, d)
	}
	want := []time.Duration{0, 0, 0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, 64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	if l.Wait(sibling) != 5*time.Minute {
		t.Fatal("another address of the same /64 is not held")
	}
	if l.Wait(netip.MustParseAddr("2001:db8:0:1::1")) != 0 {
		t.Fatal("another /64 is held")
	}
	l.Succeeded(sibling)
	if l.Wait(a) != 0 {
		t.Fatal("a success did not forgive")
	}
	v4 := netip.MustParseAddr("192.0.2.7")
	for range 6 {
		l.Failed(netip.MustParseAddr("::ffff:192.0.2.7"))
	}
	if l.Wait(v4) != time.Second {
		t.Fatalf("an IPv4-mapped address counts apart from its IPv4 address: %v", l.Wait(v4))
	}
}
