package hashes_test

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/adler32"
	"net/http"
	"strings"
	"testing"

	"jpegveil/internal/proxytest"
	"jpegveil/proxy/internal/hashes"
	"jpegveil/proxy/services/google"
	"jpegveil/proxy/services/icloud"
	"jpegveil/proxy/services/immich"
	"jpegveil/proxy/services/nextcloud"
)

// TestHashHeaderRewrite checks parsing and re-encoding of every hash
// header form: the recomputed value keeps the client's encoding.
func TestHashHeaderRewrite(t *testing.T) {
	t.Parallel()
	plain, cipher := []byte("the plaintext"), []byte("the ciphertext")
	m := func(b []byte) []byte { s := md5.Sum(b); return s[:] }
	s1 := func(b []byte) []byte { s := sha1.Sum(b); return s[:] }
	ad := func(b []byte) string { return fmt.Sprintf("%x", adler32.Checksum(b)) }
	tests := []struct {
		name, header, in, want string
	}{
		{"md5 base64", "Content-MD5", base64.StdEncoding.EncodeToString(m(plain)), base64.StdEncoding.EncodeToString(m(cipher))},
		{"md5 hex", "Content-MD5", hex.EncodeToString(m(plain)), hex.EncodeToString(m(cipher))},
		{"goog", "X-Goog-Hash", proxytest.GoogHash(plain), proxytest.GoogHash(cipher)},
		{"goog md5 only", "X-Goog-Hash", "md5=" + base64.StdEncoding.EncodeToString(m(plain)), "md5=" + base64.StdEncoding.EncodeToString(m(cipher))},
		{"immich hex", "X-Immich-Checksum", hex.EncodeToString(s1(plain)), hex.EncodeToString(s1(cipher))},
		{"immich HEX", "X-Immich-Checksum", strings.ToUpper(hex.EncodeToString(s1(plain))), strings.ToUpper(hex.EncodeToString(s1(cipher)))},
		{"immich base64", "X-Immich-Checksum", base64.StdEncoding.EncodeToString(s1(plain)), base64.StdEncoding.EncodeToString(s1(cipher))},
		{"oc sha1", "OC-Checksum", "SHA1:" + hex.EncodeToString(s1(plain)), "SHA1:" + hex.EncodeToString(s1(cipher))},
		{"oc several", "OC-Checksum", "SHA1:" + hex.EncodeToString(s1(plain)) + " MD5:" + hex.EncodeToString(m(plain)) + " ADLER32:" + ad(plain),
			"SHA1:" + hex.EncodeToString(s1(cipher)) + " MD5:" + hex.EncodeToString(m(cipher)) + " ADLER32:" + ad(cipher)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(tt.header, tt.in)
			hhs, err := parser().Parse(h)
			if err != nil || len(hhs) != 1 {
				t.Fatalf("parse: %v %v", hhs, err)
			}
			algs := hashes.Algs(hhs)
			span := &hashes.Span{What: "file", Plain: hashes.Of(plain, algs...), Cipher: hashes.Of(cipher, algs...)}
			if err := hashes.Rewrite(h, hhs, span, span); err != nil {
				t.Fatal(err)
			}
			if got := h.Get(tt.header); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	// A hash that matches nothing the client sent is refused.
	h := http.Header{}
	h.Set("X-Immich-Checksum", hex.EncodeToString(s1([]byte("something else"))))
	hhs, _ := parser().Parse(h)
	span := &hashes.Span{What: "file", Plain: hashes.Of(plain, hashes.SHA1), Cipher: hashes.Of(cipher, hashes.SHA1)}
	if err := hashes.Rewrite(h, hhs, nil, span); err == nil || !strings.Contains(err.Error(), "does not match the file") {
		t.Fatalf("a foreign hash: %v", err)
	}
	for _, bad := range []http.Header{
		{"Digest": {"sha-256=abc"}},
		{"Repr-Digest": {"sha-256=:abc:"}},
		{"X-Goog-Hash": {"sha256=abc"}},
		{"Oc-Checksum": {"SHA3:abc"}},
		{"Content-Md5": {"not a digest"}},
	} {
		if _, err := parser().Parse(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// parser knows the headers of every service, as the proxy's does.
func parser() *hashes.Parser {
	headers := []hashes.Header{hashes.ContentMD5}
	for _, s := range []interface{ HashHeaders() []hashes.Header }{google.Service{}, immich.Service{}, nextcloud.Service{}, icloud.Service{}} {
		headers = append(headers, s.HashHeaders()...)
	}
	return hashes.NewParser(headers...)
}
