package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    Size
		wantErr bool
	}{
		{"0", 0, false},
		{"1048576", 1 << 20, false},
		{"64MiB", 64 << 20, false},
		{"64mib", 64 << 20, false},
		{"512KiB", 512 << 10, false},
		{"512 KiB", 512 << 10, false},
		{"1GB", 1e9, false},
		{"1gb", 1e9, false},
		{"2GiB", 2 << 30, false},
		{"3TB", 3e12, false},
		{"1TiB", 1 << 40, false},
		{"10B", 10, false},
		{"7KB", 7000, false},
		{"5MB", 5e6, false},
		{" 42 ", 42, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"1.5GiB", 0, true},
		{"-1", 0, true},
		{"64M", 0, true},
		{"64 XB", 0, true},
		{"9223372036854775807", 9223372036854775807, false},
		{"9223372036854775808", 0, true},
		{"9000000TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		in   Size
		want string
	}{
		{0, "0B"},
		{64 * MiB, "64MiB"},
		{3 * KiB, "3KiB"},
		{1536, "1536B"},
		{1e9, "1GB"},
		{1000, "1KB"},
		{1001, "1001B"},
		{GiB, "1GiB"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
		if back, err := ParseSize(tt.in.String()); err != nil || back != tt.in {
			t.Errorf("ParseSize(%q) = %d, %v; want round trip to %d", tt.in.String(), back, err, int64(tt.in))
		}
	}
}

func TestDurationYAML(t *testing.T) {
	isolateEnv(t)
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"10s", 10 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{"24h", 24 * time.Hour, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"\"2m\"", 2 * time.Minute, ""},
		{"10", 0, "missing unit"},
		{"1d", 0, "invalid duration"},
		{"fast", 0, "invalid duration"},
		{"[1s]", 0, "expected a duration"},
	}
	for _, tt := range tests {
		c, err := ParseConfig([]byte("upstream:\n  dial_timeout: "+tt.in+"\n"+oneRule), "")
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "upstream.dial_timeout") {
				t.Errorf("%s: got %v, want error containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if c.Upstream.DialTimeout.Duration != tt.want {
			t.Errorf("%s: got %v, want %v", tt.in, c.Upstream.DialTimeout.Duration, tt.want)
		}
	}
}

func TestParseNetwork(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"127.0.0.0/8", "127.0.0.0/8", false},
		{"10.1.2.3/8", "10.0.0.0/8", false}, // host bits cleared
		{"192.168.1.7", "192.168.1.7/32", false},
		{"::1", "::1/128", false},
		{"fd00::/8", "fd00::/8", false},
		{"fe80::1%eth0", "", true},
		{"10.0.0.0/33", "", true},
		{"example.org", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := ParseNetwork(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseNetwork(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got.String() != tt.want {
			t.Errorf("ParseNetwork(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
