package proxy

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"jpegveil/certs"
	"jpegveil/veil"
)

// This file holds what the fake services share: a TLS server answering for
// several host names, the plaintext-hash guard every fake runs on every
// request, and helpers of the service tests.

// newMultiHostTLSServer starts an HTTPS server on 127.0.0.1 that presents,
// for each SNI name, a certificate from a CA of its own; it returns the
// server and that CA's PEM file.
func newMultiHostTLSServer(t testing.TB, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	ca, err := certs.NewCA(certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	iss := ca.NewIssuer(certs.IssuerOptions{})
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		return iss.Certificate(hello.ServerName)
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "upstream-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}

// plainGuard fails the test when a hash of a plaintext reaches a fake
// service: it knows every digest (MD5, SHA-1, SHA-256, CRC32C, Adler-32) of
// every plaintext span registered with add, in every encoding a header
// could use, and looks for them in every header value and in JSON bodies.
type plainGuard struct {
	t      testing.TB
	mu     sync.Mutex
	needle map[string]string // encoded digest → what it is
	seen   int               // requests checked
}

func newPlainGuard(t testing.TB) *plainGuard {
	return &plainGuard{t: t, needle: map[string]string{}}
}

// add registers a plaintext: a file, or a chunk a client sends.
func (g *plainGuard) add(what string, b []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
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
func (g *plainGuard) check(r *http.Request, body []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen++
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

// encryptedWith returns the ciphertext jpegveil must produce for photo.
func encryptedWith(t testing.TB, p *testProxy, photo []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := veil.Encrypt(p.state.Key, &out, bytes.NewReader(photo)); err != nil {
		t.Fatalf("veil.Encrypt: %v", err)
	}
	if out.Len() != len(photo) || bytes.Equal(out.Bytes(), photo) {
		t.Fatal("veil.Encrypt did not encrypt the photo in place")
	}
	return out.Bytes()
}

// checkStored compares what a fake stored with the expected ciphertext.
func checkStored(t testing.TB, what string, stored, photo, want []byte) {
	t.Helper()
	if len(stored) != len(photo) {
		t.Fatalf("%s: stored %d bytes, the photo has %d", what, len(stored), len(photo))
	}
	if bytes.Equal(stored, photo) {
		t.Fatalf("%s: the service stored the plaintext", what)
	}
	if !bytes.Equal(stored, want) {
		i := 0
		for i < len(want) && stored[i] == want[i] {
			i++
		}
		t.Fatalf("%s: stored bytes differ from veil.Encrypt of the photo from byte %d on", what, i)
	}
}

// servicesConfigYAML is a proxy config for the fakes: every host in hosts
// is resolved to addr, the fake's CA is trusted upstream, and rules are
// the given rule list.
func servicesConfigYAML(stateDir, addr, caFile string, hosts []string, rules, extra string) string {
	var b strings.Builder
	b.WriteString("listen: 127.0.0.1:0\nstate_dir: " + stateDir + "\nlog: {level: debug}\n")
	b.WriteString("upstream:\n  ca_files: [" + caFile + "]\n  resolve:\n")
	for _, h := range hosts {
		fmt.Fprintf(&b, "    %q: %q\n", h+":443", addr)
	}
	b.WriteString(extra)
	b.WriteString("rules:\n" + rules)
	return b.String()
}

// serverRendered is what a service makes of a stored JPEG for a thumbnail
// or a resized copy: decoded, scaled down and encoded again.
func serverRendered(stored []byte, maxSide int) ([]byte, error) {
	img, err := jpeg.Decode(bytes.NewReader(stored))
	if err != nil {
		return nil, err
	}
	bnd := img.Bounds()
	w, h := bnd.Dx(), bnd.Dy()
	scale := max(w, h)/maxSide + 1
	dst := image.NewRGBA(image.Rect(0, 0, max(w/scale, 1), max(h/scale, 1)))
	for y := 0; y < dst.Bounds().Dy(); y++ {
		for x := 0; x < dst.Bounds().Dx(); x++ {
			dst.Set(x, y, img.At(bnd.Min.X+x*scale, bnd.Min.Y+y*scale))
		}
	}
	var out bytes.Buffer
	err = jpeg.Encode(&out, dst, &jpeg.Options{Quality: 75})
	return out.Bytes(), err
}

// rangeCases returns Range headers at several offsets of an n-byte file
// and the slices they select.
func rangeCases(n int) []struct {
	rng        string
	start, end int
} {
	return []struct {
		rng        string
		start, end int
	}{
		{"bytes=0-0", 0, 0},
		{"bytes=0-99", 0, 99},
		{fmt.Sprintf("bytes=%d-%d", 4095, 4096+8191), 4095, 4096 + 8191},
		{fmt.Sprintf("bytes=%d-%d", n/3, n/3+70000), n / 3, min(n/3+70000, n-1)},
		{fmt.Sprintf("bytes=%d-", n/2+17), n/2 + 17, n - 1},
		{"bytes=-1000", n - 1000, n - 1},
		{fmt.Sprintf("bytes=%d-%d", n-10, n+100), n - 10, n - 1},
	}
}

// checkRanges downloads u through the proxy with each of rangeCases and
// compares with the photo.
func checkRanges(t *testing.T, c *http.Client, u string, photo []byte, hdr http.Header) {
	t.Helper()
	n := len(photo)
	for _, tc := range rangeCases(n) {
		req := newReq(t, "GET", u, nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("Range", tc.rng)
		resp, got := mustDo(t, c, req)
		want := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, n)
		if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != want {
			t.Fatalf("%s: %s Content-Range %q, want 206 %q", tc.rng, resp.Status, resp.Header.Get("Content-Range"), want)
		}
		if !bytes.Equal(got, photo[tc.start:tc.end+1]) || resp.ContentLength != int64(len(got)) {
			t.Fatalf("%s: wrong slice (%d bytes, Content-Length %d)", tc.rng, len(got), resp.ContentLength)
		}
	}
}

// naturalLess orders names as PHP's strnatcmp does for the names chunked
// uploads use: runs of digits compare as numbers.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitRun(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

func sortNatural(names []string) {
	sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
}

// readBody is how every fake service starts a request: it reads the body,
// lets the guard check that no plaintext hash came with it, and refuses a
// body whose length differs from Content-Length. It reports whether the
// request may go on.
func (g *plainGuard) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
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
