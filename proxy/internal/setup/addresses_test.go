package setup_test

import (
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"jpegveil/internal/proxytest"
	"jpegveil/proxy/internal/setup"
)

// ReachableAddrs lists a wildcard listener's network addresses, IPv4
// first, never an unspecified, loopback or link-local one.
func TestReachableAddrs(t *testing.T) {
	machine := proxytest.InterfaceAddrs("127.0.0.1/8", "::1/128", "fe80::1/64", "169.254.3.4/16",
		"2001:db8::10/64", "198.51.100.7/24", "192.0.2.10/24")
	loopbackOnly := proxytest.InterfaceAddrs("127.0.0.1/8", "::1/128", "fe80::1/64")
	unknown := func() ([]net.Addr, error) { return nil, errors.New("no interface list") }
	all := []string{"192.0.2.10:8080", "198.51.100.7:8080", "[2001:db8::10]:8080"}
	tests := []struct {
		name         string
		listen       *net.TCPAddr
		machine      func() ([]net.Addr, error)
		want         []string
		loopbackOnly bool
	}{
		{"[::]", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, machine, all, false},
		{"0.0.0.0", &net.TCPAddr{IP: net.IPv4zero, Port: 8080}, machine, all, false},
		{"127.0.0.1", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, machine, nil, true},
		{"[::1]", &net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, machine, nil, true},
		{"one network address", &net.TCPAddr{IP: net.ParseIP("198.51.100.7"), Port: 8080}, machine, []string{"198.51.100.7:8080"}, false},
		{"wildcard on a machine with loopback only", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, loopbackOnly, nil, true},
		{"interfaces unknown", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, unknown, nil, false},
		{"no listener", nil, machine, nil, false},
	}
	for _, tc := range tests {
		addrs, loop := setup.ReachableAddrs(tc.listen, tc.machine)
		if !slices.Equal(addrs, tc.want) || loop != tc.loopbackOnly {
			t.Errorf("%s: %v %v, want %v %v", tc.name, addrs, loop, tc.want, tc.loopbackOnly)
		}
	}
	// This machine's own interfaces (net.InterfaceAddrs, only read).
	addrs, _ := setup.ReachableAddrs(&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, nil)
	for _, a := range addrs {
		if strings.HasPrefix(a, "[::]") || strings.HasPrefix(a, "0.0.0.0") || strings.HasPrefix(a, "127.") {
			t.Fatalf("unusable address listed: %s", a)
		}
	}
}
