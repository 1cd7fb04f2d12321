// Package hashes reads and rewrites the request headers in which clients
// send a hash of what they upload. A hash of the plaintext must never reach
// a photo service (it would identify the photo), so every such header is
// checked against the plaintext it covers and replaced by the hash of the
// same span of the bytes actually sent, in the same encoding; a header that
// cannot be recomputed is refused.
//
// Which headers exist is not known here: each photo service declares the
// ones its clients use as a Header, and the proxy builds one Parser from
// all of them plus the generic Content-MD5 (RFC 1864).
package hashes

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/adler32"
	"hash/crc32"
	"strings"
)

// Alg is a hash algorithm a header may carry.
type Alg uint8

// Hash algorithms.
const (
	MD5 Alg = iota
	SHA1
	SHA256
	CRC32C
	Adler32
	numAlgs
)

var sizes = [numAlgs]int{MD5: 16, SHA1: 20, SHA256: 32, CRC32C: 4, Adler32: 4}

var crc32cTable = crc32.MakeTable(crc32.Castagnoli)

func newHash(a Alg) hash.Hash {
	switch a {
	case MD5:
		return md5.New()
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	case CRC32C:
		return crc32.New(crc32cTable)
	case Adler32:
		return adler32.New()
	}
	panic("hashes: unknown algorithm")
}

// Set computes several hashes of the same bytes.
type Set struct{ h [numAlgs]hash.Hash }

// NewSet returns a Set computing algs.
func NewSet(algs ...Alg) *Set {
	hs := &Set{}
	for _, a := range algs {
		hs.h[a] = newHash(a)
	}
	return hs
}

// Write adds p to every hash; it never fails.
func (hs *Set) Write(p []byte) (int, error) {
	for _, h := range hs.h {
		if h != nil {
			h.Write(p)
		}
	}
	return len(p), nil
}

// Sums returns the digests so far.
func (hs *Set) Sums() Digests {
	var d Digests
	for a, h := range hs.h {
		if h != nil {
			d[a] = h.Sum(nil)
		}
	}
	return d
}

// Digests holds one digest per algorithm, nil where not computed.
type Digests [numAlgs][]byte

// Of returns the digests of b for algs.
func Of(b []byte, algs ...Alg) Digests {
	hs := NewSet(algs...)
	hs.Write(b)
	return hs.Sums()
}

// encoding is how a digest is written in a header.
type encoding struct {
	b64   *base64.Encoding // nil: hex
	upper bool             // hex in upper case
	short bool             // hex without leading zeros (some ADLER32 writers)
}

func (e encoding) encode(d []byte) string {
	if e.b64 != nil {
		return e.b64.EncodeToString(d)
	}
	s := hex.EncodeToString(d)
	if e.short {
		s = strings.TrimLeft(s, "0")
		if s == "" {
			s = "0"
		}
	}
	if e.upper {
		s = strings.ToUpper(s)
	}
	return s
}

// decode decodes a digest of size bytes written in hex (when allowHex) or
// base64 (when allowB64), and says how it was written.
func decode(s string, size int, allowHex, allowB64 bool) ([]byte, encoding, error) {
	s = strings.TrimSpace(s)
	if allowHex && isHex(s) && (len(s) == 2*size || size == 4 && len(s) < 8 && len(s) > 0) {
		e := encoding{upper: strings.ToUpper(s) == s && strings.ToLower(s) != s, short: len(s) < 2*size}
		padded := strings.Repeat("0", 2*size-len(s)) + s
		d, err := hex.DecodeString(padded)
		return d, e, err
	}
	if allowB64 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if d, err := enc.DecodeString(s); err == nil && len(d) == size {
				return d, encoding{b64: enc}, nil
			}
		}
	}
	return nil, encoding{}, fmt.Errorf("%q is not a %d-byte digest", s, size)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return len(s) > 0
}
