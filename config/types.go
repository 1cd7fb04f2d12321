package config

import (
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// This file holds the scalar types of the configuration schema: sizes,
// durations, client networks and secrets. Each one parses itself from YAML
// and reports bad values as a *yaml.TypeError carrying the line, so that the
// decoder collects every bad value instead of stopping at the first.

// scalarError reports a bad scalar value at its line, in the form the YAML
// decoder uses for its own type errors, plus the column, which lets
// decodeStrict name the exact field even when a line holds several (as in
// "allow: [10.0.0.0/8, bad]").
func scalarError(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: column %d: ", n.Line, n.Column) + fmt.Sprintf(format, args...)}}
}

// scalarValue returns the text of a scalar node, or an error naming what was
// expected.
func scalarValue(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", scalarError(n, "expected %s, got %s", what, nodeKindName(n))
	}
	return n.Value, nil
}

func nodeKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a value"
	}
}

// Size is a number of bytes. In YAML it is written as a plain number of bytes
// or as an integer with a unit: B, KB, MB, GB, TB (powers of 1000) or KiB,
// MiB, GiB, TiB (powers of 1024), for example 64MiB or "512 KiB". Units are
// matched case-insensitively.
type Size int64

// Size units.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
)

type sizeUnit struct {
	name string
	mult int64
}

// sizeUnits lists the units String prefers first: exact binary units, then
// exact decimal units.
func sizeUnits() []sizeUnit {
	return []sizeUnit{
		{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
		{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
		{"B", 1},
	}
}

// ParseSize parses a size such as "64MiB", "1GB", "512 KiB" or "1048576".
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid size %q: want a whole number of bytes, optionally with a unit such as KiB, MiB, GiB, KB, MB or GB", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: number too large", s)
	}
	unit := strings.TrimSpace(t[i:])
	mult := int64(1)
	if unit != "" {
		found := false
		for _, u := range sizeUnits() {
			if strings.EqualFold(unit, u.name) {
				mult, found = u.mult, true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s, unit)
		}
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return Size(n * mult), nil
}

// String formats the size with the largest unit that represents it exactly,
// preferring binary units: 64MiB, 1GB, 1000B.
func (s Size) String() string {
	if s == 0 {
		return "0B"
	}
	if s < 0 {
		return strconv.FormatInt(int64(s), 10) + "B"
	}
	for _, u := range sizeUnits() {
		if int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B" // unreachable: B divides everything
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := scalarValue(n, "a size such as 64MiB")
	if err != nil {
		return err
	}
	size, err := ParseSize(v)
	if err != nil {
		return scalarError(n, "%v", err)
	}
	*s = size
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// Duration is a time.Duration written in YAML as a Go duration string such as
// "10s", "1m30s" or "24h". A bare number is refused (except 0) because its
// unit would be a guess.
type Duration struct {
	time.Duration
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := scalarValue(n, "a duration such as 10s")
	if err != nil {
		return err
	}
	v = strings.TrimSpace(v)
	if v != "0" && v != "" && strings.Trim(v, "0123456789") == "" {
		return scalarError(n, "invalid duration %q: missing unit (for example %ss or %sms)", v, v, v)
	}
	dur, err := time.ParseDuration(v)
	if err != nil {
		return scalarError(n, "invalid duration %q: want a number with a unit, such as 10s, 1m30s or 24h", v)
	}
	d.Duration = dur
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Network is a client network in clients.allow. In YAML it is a CIDR such as
// 192.168.1.0/24 or fd00::/8, or a plain address, which stands for itself
// alone (/32 or /128). Host bits beyond the prefix length are cleared.
type Network struct {
	netip.Prefix
}

// ParseNetwork parses a CIDR or a single IP address.
func ParseNetwork(s string) (Network, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "%") {
		return Network{}, fmt.Errorf("invalid network %q: zones are not supported", s)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Network{}, fmt.Errorf("invalid network %q: want a CIDR such as 192.168.1.0/24 or an IP address", s)
		}
		return Network{p.Masked()}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Network{}, fmt.Errorf("invalid network %q: want a CIDR such as 192.168.1.0/24 or an IP address", s)
	}
	return Network{netip.PrefixFrom(a, a.BitLen())}, nil
}

// MustNetwork is ParseNetwork for constants; it panics on a bad value.
func MustNetwork(s string) Network {
	n, err := ParseNetwork(s)
	if err != nil {
		panic(err)
	}
	return n
}

// Contains reports whether the network holds addr. IPv4-mapped IPv6
// addresses (::ffff:10.0.0.1) are treated as the IPv4 address they map.
func (n Network) Contains(addr netip.Addr) bool {
	return n.IsValid() && n.Prefix.Contains(addr.Unmap())
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (n *Network) UnmarshalYAML(node *yaml.Node) error {
	v, err := scalarValue(node, "a CIDR such as 192.168.1.0/24")
	if err != nil {
		return err
	}
	nw, err := ParseNetwork(v)
	if err != nil {
		return scalarError(node, "%v", err)
	}
	*n = nw
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (n Network) MarshalYAML() (any, error) { return n.String(), nil }

// redacted is what a Secret shows instead of its value.
const redacted = "[redacted]"

// Secret is a value that must never reach a log or an error message, such as
// the proxy password. Every way of printing or encoding it (fmt verbs
// including %#v, JSON, YAML, text, zap fields) yields "[redacted]"; Reveal
// returns the value for the one place that needs it.
type Secret string

// Reveal returns the secret value. Only compare it; never log it.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so that no verb, not even a wrong one such
// as %d, prints the value.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalText implements encoding.TextMarshaler (used by JSON, YAML and
// zap's reflection encoder).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
