package exif

import (
	"bytes"
	"slices"
)

// XMP headers: the namespace that starts a standard XMP packet's APP1
// payload, and the one of an extended XMP chunk (XMP Part 3 §1.1.3).
const (
	XMPHeader         = "http://ns.adobe.com/xap/1.0/\x00"
	XMPExtendedHeader = "http://ns.adobe.com/xmp/extension/\x00"
)

// XMP is what ParseXMP found in an XMP payload.
type XMP struct {
	// Extended reports an extended XMP chunk (XMPExtendedHeader).
	Extended bool
	// PacketOffset is the offset of the XML in the payload.
	PacketOffset int
	// Location lists the location properties the packet names, as
	// written (prefix:name), in order of first appearance: GPS
	// coordinates (any prefix, such as exif:GPSLatitude) and the IPTC and
	// Photoshop place names (Iptc4xmpExt:LocationShown, photoshop:City, …).
	Location []string
}

// gpsProperties are location properties recognised under any prefix.
var gpsProperties = []string{
	"GPSLatitude", "GPSLongitude", "GPSAltitude", "GPSDestLatitude",
	"GPSDestLongitude", "GPSAreaInformation",
}

// placeProperties are place names, recognised only under the prefixes
// that define them, because the local names are common words.
var placeProperties = map[string][]string{
	"photoshop":    {"City", "State", "Country"},
	"Iptc4xmpCore": {"Location", "CountryCode"},
	"Iptc4xmpExt":  {"LocationCreated", "LocationShown", "City", "CountryName", "CountryCode", "ProvinceState", "Sublocation", "GPSLatitude", "GPSLongitude"},
}

// xmpPacket recognises the namespace header of an APP1 XMP payload and
// says where the packet starts.
func xmpPacket(payload []byte) (*XMP, error) {
	switch {
	case bytes.HasPrefix(payload, []byte(XMPHeader)):
		return &XMP{PacketOffset: len(XMPHeader)}, nil
	case bytes.HasPrefix(payload, []byte(XMPExtendedHeader)):
		return &XMP{Extended: true, PacketOffset: len(XMPExtendedHeader)}, nil
	}
	return nil, &FormatError{Offset: 0, Reason: "payload does not start with an XMP namespace", Err: ErrNotXMP}
}

// ParseXMP recognises an APP1 XMP payload (standard or extended) and lists
// the location properties it names. It does not parse the XML: it looks
// for qualified property names followed by '=', '>', '/' or white space,
// which finds them in both attribute and element form. An error wraps
// ErrNotXMP.
func ParseXMP(payload []byte) (*XMP, error) {
	x, err := xmpPacket(payload)
	if err != nil {
		return nil, err
	}
	p := payload[x.PacketOffset:]
	for i := 0; i < len(p); i++ {
		if p[i] != ':' {
			continue
		}
		prefix := nameBefore(p, i)
		local := nameAfter(p, i+1)
		if prefix == "" || local == "" || !isLocation(prefix, local) {
			continue
		}
		if q := prefix + ":" + local; !slices.Contains(x.Location, q) {
			x.Location = append(x.Location, q)
		}
		i += len(local)
	}
	return x, nil
}

// IsLocationProperty reports whether the XMP property prefix:local is one
// that ParseXMP lists as a location property.
func IsLocationProperty(prefix, local string) bool { return isLocation(prefix, local) }

func isLocation(prefix, local string) bool {
	return slices.Contains(gpsProperties, local) || slices.Contains(placeProperties[prefix], local)
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// nameBefore returns the XML name that ends just before p[i], if it is
// preceded by '<', '/' or white space (the start of a tag or attribute).
func nameBefore(p []byte, i int) string {
	j := i
	for j > 0 && isNameByte(p[j-1]) && i-j < 64 {
		j--
	}
	if j == i || j == 0 {
		return ""
	}
	switch p[j-1] {
	case '<', '/', ' ', '\t', '\r', '\n':
		return string(p[j:i])
	}
	return ""
}

// nameAfter returns the XML name that starts at p[i] if it is followed by
// '=', '>', '/' or white space.
func nameAfter(p []byte, i int) string {
	j := i
	for j < len(p) && isNameByte(p[j]) && j-i < 64 {
		j++
	}
	if j == i || j == len(p) {
		return ""
	}
	switch p[j] {
	case '=', '>', '/', ' ', '\t', '\r', '\n':
		return string(p[i:j])
	}
	return ""
}
