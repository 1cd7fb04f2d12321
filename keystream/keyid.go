package keystream

import "encoding/hex"

// keyIDBytes is how much of the "key id" subkey the ID shows. Eight bytes
// (16 hex digits) are easy to compare by eye between two devices and make
// an accidental match between two keys a 2^-64 event; the ID is not an
// authenticator, so it needs no more.
const keyIDBytes = 8

// keyIDLen is the length of a key ID string.
const keyIDLen = 2 * keyIDBytes

func formatKeyID(s *subkeys) string {
	return hex.EncodeToString(s.keyID[:keyIDBytes])
}

// validKeyID reports whether id has the shape of a key ID: exactly 16
// lower-case hex digits. The canonical form is enforced so that two files
// naming the same key always spell its ID the same way.
func validKeyID(id string) bool {
	if len(id) != keyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
