package proxytest

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// ListenLoopbackAs is net.Listen for tests that run a proxy configured for
// an address beyond loopback (0.0.0.0, [::], a network address): it
// listens on 127.0.0.1 with the same port instead, and the listener reports
// the asked-for address as its own. The proxy then describes itself as
// listening there, while nothing beyond this machine can connect and the
// test connects to 127.0.0.1 only. Loopback addresses are listened on as
// they are.
func ListenLoopbackAs(network, address string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	ip := netip.IPv6Unspecified() // ":port" listens on every address, as [::]:port
	if host != "" {
		if ip, err = netip.ParseAddr(host); err != nil {
			return nil, fmt.Errorf("listen address %q: the host must be an IP address", address)
		}
	}
	if ip.Unmap().IsLoopback() {
		return net.Listen(network, address)
	}
	l, err := net.Listen(network, net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return nil, err
	}
	bound, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		l.Close()
		return nil, fmt.Errorf("listen %s %s: not a TCP listener", network, address)
	}
	shown, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(ip.String(), strconv.Itoa(bound.Port)))
	if err != nil {
		l.Close()
		return nil, err
	}
	return reportedListener{Listener: l, addr: shown}, nil
}

// reportedListener is a listener that reports addr as its address.
type reportedListener struct {
	net.Listener
	addr net.Addr
}

func (l reportedListener) Addr() net.Addr { return l.addr }

// InterfaceAddrs returns a stand-in for net.InterfaceAddrs on a machine
// whose interfaces have prefixes (such as "192.0.2.10/24"); it panics on
// a malformed prefix, a mistake in the test.
func InterfaceAddrs(prefixes ...string) func() ([]net.Addr, error) {
	var addrs []net.Addr
	for _, p := range prefixes {
		ip, ipnet, err := net.ParseCIDR(p)
		if err != nil {
			panic(err)
		}
		ipnet.IP = ip
		addrs = append(addrs, ipnet)
	}
	return func() ([]net.Addr, error) { return addrs, nil }
}
