package certs

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MobileConfig returns an unsigned iOS/macOS configuration profile
// (.mobileconfig, XML property list). The profile holds one
// com.apple.security.root payload carrying the CA certificate. An empty
// profileName means the CA's CommonName.
//
// Every identifier and UUID in the profile is derived from the certificate's
// SHA-256. Installing the profile again replaces the earlier copy rather
// than adding a duplicate, and a different CA gets a separate profile.
//
// After installing the profile on iOS, the user must still enable full trust
// under Settings > General > About > Certificate Trust Settings.
func (ca *CA) MobileConfig(profileName string) ([]byte, error) {
	if profileName == "" {
		profileName = ca.cert.Subject.CommonName
	}
	if err := checkProfileText(profileName); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(ca.der)
	// Reverse-DNS-style identifier. iOS replaces an installed profile that
	// has the same PayloadIdentifier.
	profileID := "jpegveil.ca." + hex.EncodeToString(sum[:8])
	desc := "Installs the jpegveil root certificate " + ca.cert.Subject.CommonName +
		" (SHA-256 " + ca.fingerprint + ") so that jpegveil can encrypt your photos on their way to the services in its rules."
	if d := ca.cert.PermittedDNSDomains; len(d) > 0 {
		desc += " The certificate is limited to: " + strings.Join(d, ", ") + "."
	}

	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString(`<plist version="1.0">` + "\n<dict>\n")
	b.WriteString("\t<key>PayloadContent</key>\n\t<array>\n\t\t<dict>\n")
	plistString(&b, 3, "PayloadCertificateFileName", "jpegveil-ca.cer")
	fmt.Fprintf(&b, "\t\t\t<key>PayloadContent</key>\n\t\t\t<data>%s</data>\n", base64.StdEncoding.EncodeToString(ca.der))
	plistString(&b, 3, "PayloadDescription", "Adds the jpegveil root certificate.")
	plistString(&b, 3, "PayloadDisplayName", ca.cert.Subject.CommonName)
	plistString(&b, 3, "PayloadIdentifier", profileID+".root")
	plistString(&b, 3, "PayloadType", "com.apple.security.root")
	plistString(&b, 3, "PayloadUUID", derivedUUID(sum, "root-payload"))
	b.WriteString("\t\t\t<key>PayloadVersion</key>\n\t\t\t<integer>1</integer>\n")
	b.WriteString("\t\t</dict>\n\t</array>\n")
	plistString(&b, 1, "PayloadDescription", desc)
	plistString(&b, 1, "PayloadDisplayName", profileName)
	plistString(&b, 1, "PayloadIdentifier", profileID)
	plistString(&b, 1, "PayloadOrganization", "jpegveil")
	b.WriteString("\t<key>PayloadRemovalDisallowed</key>\n\t<false/>\n")
	plistString(&b, 1, "PayloadType", "Configuration")
	plistString(&b, 1, "PayloadUUID", derivedUUID(sum, "profile"))
	b.WriteString("\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n")
	b.WriteString("</dict>\n</plist>\n")
	return b.Bytes(), nil
}

// plistString writes one <key>/<string> pair, XML-escaped.
func plistString(b *bytes.Buffer, indent int, key, value string) {
	tabs := strings.Repeat("\t", indent)
	b.WriteString(tabs + "<key>" + key + "</key>\n" + tabs + "<string>")
	_ = xml.EscapeText(b, []byte(value)) // writes to a bytes.Buffer, which does not fail
	b.WriteString("</string>\n")
}

// checkProfileText refuses text that XML 1.0 cannot carry, or that would
// show up garbled in the iOS install sheet.
func checkProfileText(s string) error {
	if !utf8.ValidString(s) {
		return &InvalidProfileNameError{Name: s, Reason: "not valid UTF-8"}
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return &InvalidProfileNameError{Name: s, Reason: "contains control characters"}
		}
	}
	return nil
}

// derivedUUID derives a UUID (RFC 9562 version 8, the custom/hash-based
// version) from the certificate hash and a purpose label. The same
// certificate and label always give the same UUID.
func derivedUUID(certSum [sha256.Size]byte, label string) string {
	h := sha256.New()
	h.Write([]byte("jpegveil mobileconfig uuid\x00"))
	h.Write([]byte(label))
	h.Write([]byte{0})
	h.Write(certSum[:])
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	x := strings.ToUpper(hex.EncodeToString(u[:]))
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
