package certs

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// decodePlist is a minimal XML property list reader covering the types a
// profile uses: dict, array, string, data, integer, true and false. It also
// checks that the whole document is well-formed XML.
func decodePlist(data []byte) (map[string]any, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var root any
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "plist" || root != nil {
				return nil, fmt.Errorf("unexpected <%s>", se.Name.Local)
			}
			if root, err = plistValue(dec); err != nil {
				return nil, err
			}
		}
	}
	m, ok := root.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("plist root is %T, want dict", root)
	}
	return m, nil
}

// endOfContainer marks the closing tag of an enclosing dict or array.
type endOfContainer struct{}

func (endOfContainer) Error() string { return "end of container" }

func plistValue(dec *xml.Decoder) (any, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			return plistElement(dec, tok)
		case xml.EndElement:
			return nil, endOfContainer{}
		}
	}
}

func plistElement(dec *xml.Decoder, se xml.StartElement) (any, error) {
	switch se.Name.Local {
	case "dict":
		m := map[string]any{}
		for {
			k, err := plistValue(dec)
			if errors.As(err, new(endOfContainer)) {
				return m, nil
			}
			if err != nil {
				return nil, err
			}
			key, ok := k.(plistKey)
			if !ok {
				return nil, fmt.Errorf("dict entry starts with %T, want <key>", k)
			}
			v, err := plistValue(dec)
			if err != nil {
				return nil, fmt.Errorf("value for %s: %w", key, err)
			}
			if _, dup := m[string(key)]; dup {
				return nil, fmt.Errorf("duplicate key %s", key)
			}
			m[string(key)] = v
		}
	case "array":
		var a []any
		for {
			v, err := plistValue(dec)
			if errors.As(err, new(endOfContainer)) {
				return a, nil
			}
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case "key", "string", "data", "integer":
		var s string
		if err := dec.DecodeElement(&s, &se); err != nil {
			return nil, err
		}
		switch se.Name.Local {
		case "key":
			return plistKey(s), nil
		case "data":
			return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		case "integer":
			return strconv.Atoi(s)
		}
		return s, nil
	case "true", "false":
		return se.Name.Local == "true", dec.Skip()
	}
	return nil, fmt.Errorf("unsupported plist element <%s>", se.Name.Local)
}

type plistKey string

var uuidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-8[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func TestMobileConfig(t *testing.T) {
	ca := constrainedCA(t, t0())
	data, err := ca.MobileConfig("jpegveil on Ana's laptop")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) || !bytes.Contains(data, []byte("<!DOCTYPE plist")) {
		t.Error("missing XML declaration or plist DOCTYPE")
	}
	top, err := decodePlist(data)
	if err != nil {
		t.Fatalf("not a valid plist: %v\n%s", err, data)
	}
	payloads, ok := top["PayloadContent"].([]any)
	if !ok || len(payloads) != 1 {
		t.Fatalf("PayloadContent = %#v, want one payload", top["PayloadContent"])
	}
	root, ok := payloads[0].(map[string]any)
	if !ok {
		t.Fatalf("payload is %T", payloads[0])
	}
	if der, _ := root["PayloadContent"].([]byte); !bytes.Equal(der, ca.CertDER()) {
		t.Error("root payload does not carry the CA certificate DER")
	}
	if !strings.Contains(string(data), base64.StdEncoding.EncodeToString(ca.CertDER())) {
		t.Error("profile does not contain the base64 DER verbatim")
	}
	tests := []struct {
		dict map[string]any
		key  string
		want any
	}{
		{top, "PayloadType", "Configuration"},
		{top, "PayloadVersion", 1},
		{top, "PayloadDisplayName", "jpegveil on Ana's laptop"},
		{top, "PayloadOrganization", "jpegveil"},
		{top, "PayloadRemovalDisallowed", false},
		{root, "PayloadType", "com.apple.security.root"},
		{root, "PayloadVersion", 1},
		{root, "PayloadDisplayName", ca.Certificate().Subject.CommonName},
		{root, "PayloadIdentifier", top["PayloadIdentifier"].(string) + ".root"},
	}
	for _, tt := range tests {
		if got := tt.dict[tt.key]; got != tt.want {
			t.Errorf("%s = %#v, want %#v", tt.key, got, tt.want)
		}
	}
	outer, inner := top["PayloadUUID"].(string), root["PayloadUUID"].(string)
	if !uuidRE.MatchString(outer) || !uuidRE.MatchString(inner) || outer == inner {
		t.Errorf("PayloadUUIDs %q and %q: want two distinct uppercase version-8 UUIDs", outer, inner)
	}
	if desc, _ := top["PayloadDescription"].(string); !strings.Contains(desc, ca.Fingerprint()) || !strings.Contains(desc, "googleapis.com") {
		t.Errorf("description lacks the fingerprint or the permitted domains: %q", desc)
	}
}

func TestMobileConfigDeterministic(t *testing.T) {
	ca, other := mustCA(t, CAOptions{}), mustCA(t, CAOptions{})
	a, _ := ca.MobileConfig("p")
	b, _ := ca.MobileConfig("p")
	if !bytes.Equal(a, b) {
		t.Fatal("two downloads of the same CA's profile differ; iOS would install duplicates")
	}
	pa, _ := decodePlist(a)
	c, _ := other.MobileConfig("p")
	pc, _ := decodePlist(c)
	for _, key := range []string{"PayloadUUID", "PayloadIdentifier"} {
		if pa[key] == pc[key] {
			t.Errorf("two different CAs share %s %v", key, pa[key])
		}
	}
}

func TestMobileConfigNames(t *testing.T) {
	ca := mustCA(t, CAOptions{})
	tests := []struct {
		in, want string // want "" means an *InvalidProfileNameError
	}{
		{"", ca.Certificate().Subject.CommonName},
		{`Tom & Jerry's <photos> "proxy"`, `Tom & Jerry's <photos> "proxy"`},
		{"Fotos für Oma 📷", "Fotos für Oma 📷"},
		{"bad\x00name", ""},
		{"line\nbreak", ""},
		{"\xff\xfe", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			data, err := ca.MobileConfig(tt.in)
			if tt.want == "" {
				var ipn *InvalidProfileNameError
				if !errors.As(err, &ipn) {
					t.Fatalf("err = %v, want *InvalidProfileNameError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := decodePlist(data)
			if err != nil {
				t.Fatal(err)
			}
			if got := p["PayloadDisplayName"]; got != tt.want {
				t.Errorf("PayloadDisplayName = %q, want %q", got, tt.want)
			}
		})
	}
}
