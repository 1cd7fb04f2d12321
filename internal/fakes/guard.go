package fakes

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash/adler32"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// PlainGuard fails the test when a hash of a plaintext reaches a fake
// service: it knows every digest (MD5, SHA-1, SHA-256, CRC32C, Adler-32) of
// every plaintext span registered with add, in every encoding a header
// could use, and looks for them in every header value and in JSON bodies.
type PlainGuard struct {
	t      testing.TB
	Mu     sync.Mutex
	needle map[string]string // encoded digest → what it is
	Seen   int               // requests checked
}

func NewPlainGuard(t testing.TB) *PlainGuard {
	return &PlainGuard{t: t, needle: map[string]string{}}
}

// Add registers a plaintext: a file, or a chunk a client sends.
func (g *PlainGuard) Add(what string, b []byte) {
	g.Mu.Lock()
	defer g.Mu.Unlock()
	m, s1, s256 := md5.Sum(b), sha1.Sum(b), sha256.Sum256(b)
	var c, a [4]byte
	binary.BigEndian.PutUint32(c[:], crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	binary.BigEndian.PutUint32(a[:], adler32.Checksum(b))
	for alg, d := range map[string][]byte{"md5": m[:], "sha1": s1[:], "sha256": s256[:], "crc32c": c[:], "adler32": a[:]} {
		for _, enc := range []string{
			hex.EncodeToString(d), strings.ToUpper(hex.EncodeToString(d)),
			base64.StdEncoding.EncodeToString(d), base64.RawStdEncoding.EncodeToString(d),
			base64.URLEncoding.EncodeToString(d), base64.RawURLEncoding.EncodeToString(d),
		} {
			if len(enc) >= 6 {
				g.needle[enc] = alg + " of the plaintext " + what
			}
		}
	}
}

// check looks at one request; body is its body when the fake read it.
func (g *PlainGuard) check(r *http.Request, body []byte) {
	g.Mu.Lock()
	defer g.Mu.Unlock()
	g.Seen++
	look := func(where, s string) {
		for n, what := range g.needle {
			if strings.Contains(s, n) {
				g.t.Errorf("%s %s: %s carries the %s", r.Method, r.URL.Path, where, what)
			}
		}
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			look("header "+k, v)
		}
	}
	look("the query", r.URL.RawQuery)
	if strings.Contains(r.Header.Get("Content-Type"), "json") && len(body) < 1<<20 {
		look("the JSON body", string(body))
	}
}

// ReadBody is how every fake service starts a request: it reads the body,
// lets the guard check that no plaintext hash came with it, and refuses a
// body whose length differs from Content-Length. It reports whether the
// request may go on.
func (g *PlainGuard) ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, false
	}
	g.check(r, body)
	if r.ContentLength >= 0 && int64(len(body)) != r.ContentLength {
		http.Error(w, "length mismatch", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}
