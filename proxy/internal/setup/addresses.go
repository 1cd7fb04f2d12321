package setup

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
)

// ReachableAddrs returns the host:port pairs a device on the network can
// enter to reach a proxy listening on addr, IPv4 first. A wildcard listener
// (0.0.0.0, ::) is reachable on every address of every interface, so those
// are listed; an unspecified address such as [::] itself is never listed,
// since no device can connect to it. Loopback and link-local addresses are
// left out. loopbackOnly reports a listener that only this machine can
// reach. interfaceAddrs lists the machine's addresses; nil:
// net.InterfaceAddrs.
func ReachableAddrs(addr *net.TCPAddr, interfaceAddrs func() ([]net.Addr, error)) (addrs []string, loopbackOnly bool) {
	if addr == nil {
		return nil, false
	}
	ip, ok := netip.AddrFromSlice(addr.IP)
	if !ok {
		ip = netip.IPv6Unspecified()
	}
	ip = ip.Unmap()
	port := strconv.Itoa(addr.Port)
	switch {
	case ip.IsLoopback():
		return nil, true
	case !ip.IsUnspecified():
		return []string{net.JoinHostPort(ip.String(), port)}, false
	}
	if interfaceAddrs == nil {
		interfaceAddrs = net.InterfaceAddrs
	}
	ifaddrs, err := interfaceAddrs()
	if err != nil {
		return nil, false
	}
	var v4, v6 []netip.Addr
	for _, a := range ifaddrs {
		pfx, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := pfx.Addr().Unmap()
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
			continue
		}
		if ip.Is4() {
			v4 = append(v4, ip)
		} else {
			v6 = append(v6, ip)
		}
	}
	slices.SortFunc(v4, netip.Addr.Compare)
	slices.SortFunc(v6, netip.Addr.Compare)
	for _, ip := range append(v4, v6...) {
		addrs = append(addrs, net.JoinHostPort(ip.String(), port))
	}
	return addrs, len(addrs) == 0
}
