package proxytest

import (
	"net"
	"strconv"
	"testing"
)

// A listener asked for beyond loopback reports that address and accepts
// on 127.0.0.1 with the same port.
func TestListenLoopbackAs(t *testing.T) {
	for _, tc := range []struct{ address, shown string }{
		{"0.0.0.0:0", "0.0.0.0"},
		{"[::]:0", "::"},
		{":0", "::"},
		{"192.0.2.10:0", "192.0.2.10"},
		{"127.0.0.1:0", "127.0.0.1"},
	} {
		l, err := ListenLoopbackAs("tcp", tc.address)
		if err != nil {
			t.Fatalf("%s: %v", tc.address, err)
		}
		defer l.Close()
		addr := l.Addr().(*net.TCPAddr)
		if !addr.IP.Equal(net.ParseIP(tc.shown)) || addr.Port == 0 {
			t.Errorf("%s: reports %s, want %s and the port", tc.address, addr, tc.shown)
		}
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(addr.Port)))
		if err != nil {
			t.Errorf("%s: not listening on 127.0.0.1: %v", tc.address, err)
			continue
		}
		c.Close()
	}
	if _, err := ListenLoopbackAs("tcp", "localhost:0"); err == nil {
		t.Error("a host name is accepted")
	}
}
