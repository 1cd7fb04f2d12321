package config

import (
	"errors"
	"strings"
	"testing"
)

// TestOpenProxyCheckCoversUnionOfAllow: clients.allow entries that together
// admit every IPv4 or every IPv6 address make an open proxy as surely as a
// single /0 does; narrower unions do not.
func TestOpenProxyCheckCoversUnionOfAllow(t *testing.T) {
	for _, tc := range []struct {
		allow []string
		open  string // the family left open, "" for none
	}{
		{[]string{"0.0.0.0/1", "128.0.0.0/1"}, "IPv4"},
		{[]string{"128.0.0.0/1", "10.0.0.0/8", "0.0.0.0/1"}, "IPv4"},
		{[]string{"0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/3"}, "IPv4"},
		{[]string{"0.0.0.0/1", "127.255.255.255", "128.0.0.0/2", "192.0.0.0/2"}, "IPv4"},
		{[]string{"::/1", "8000::/1"}, "IPv6"},
		{[]string{"192.168.1.0/24", "::/2", "4000::/2", "8000::/1"}, "IPv6"},
		{[]string{"0.0.0.0/1", "128.0.0.0/2"}, ""},
		{[]string{"0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4", "240.0.0.0/5"}, ""},
		{[]string{"10.0.0.0/8", "192.168.0.0/16", "fd00::/8"}, ""},
		{[]string{"::/1", "8000::/2", "::ffff:0.0.0.0/96"}, ""},
	} {
		c := DefaultConfig()
		c.StateDir, c.KeyFile = t.TempDir(), "/nonexistent/key"
		c.Listen = "0.0.0.0:8080"
		c.Clients.Allow = nil
		for _, a := range tc.allow {
			c.Clients.Allow = append(c.Clients.Allow, MustNetwork(a))
		}
		err := c.Validate()
		if tc.open == "" {
			if err != nil {
				t.Errorf("allow %v: %v", tc.allow, err)
			}
			continue
		}
		if !errors.Is(err, ErrOpenProxy) || !strings.Contains(err.Error(), "clients.allow") || !strings.Contains(err.Error(), "every "+tc.open+" address") {
			t.Errorf("allow %v: %v, want the open-proxy error naming every %s address", tc.allow, err, tc.open)
		}
	}
}
