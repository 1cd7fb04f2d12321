// Package proxytest runs a jpegveil proxy for tests, in front of the fake
// services of internal/fakes, with a client that trusts its CA, and checks
// what the services stored.
package proxytest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"jpegveil/certs"
	"jpegveil/config"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/proxy"
	"jpegveil/veil"
)

// Proxy is a running jpegveil proxy in front of the fake service.
type Proxy struct {
	Server  *proxy.Server
	Key     *keystream.Key // the current key
	Keyring *keystream.Keyring
	CA      *certs.CA
	Ledger  ledger.Ledger
	Clock   *Clock // ages the upload sessions
	URL     *url.URL
	Client  *http.Client // trusts jpegveil's CA and uses the proxy
}

// ConfigYAML is a proxy configuration for the fake Photos service at
// upstreamAddr, as photos.test: a raw upload rule for /upload and a
// download rule for /objects/* and /thumb/*, then extra.
func ConfigYAML(stateDir, upstreamAddr string, caFiles []string, extra string) string {
	var b strings.Builder
	b.WriteString("listen: 127.0.0.1:0\nstate_dir: " + stateDir + "\nlog: {level: debug}\n")
	b.WriteString("upstream:\n  resolve: {\"photos.test:443\": \"" + upstreamAddr + "\"}\n  ca_files: [")
	b.WriteString(strings.Join(caFiles, ", ") + "]\n")
	b.WriteString(`rules:
  - name: test-upload
    hosts: [photos.test]
    methods: [POST]
    paths: [/upload]
    body: raw
  - name: test-download
    hosts: [photos.test]
    paths: [/objects/*, /thumb/*]
    body: download
`)
	b.WriteString(extra)
	return b.String()
}

// Start runs a proxy with the configuration yaml (state in a temporary
// directory) until the test ends. log defaults to the test's log at warn
// level; extraRoots are PEM files the client trusts besides jpegveil's CA.
func Start(t testing.TB, yaml string, log *zap.Logger, extraRoots ...string) *Proxy {
	t.Helper()
	return StartWith(t, yaml, Options{Log: log, ExtraRoots: extraRoots})
}

// Options are StartWith's choices beyond the configuration.
type Options struct {
	// Log defaults to the test's log at warn level.
	Log *zap.Logger
	// ExtraRoots are PEM files the client trusts besides jpegveil's CA.
	ExtraRoots []string
	// Keys are the proxy's keyring, the current key first; default one
	// new random key.
	Keys []*keystream.Key
	// Ledger defaults to a new ledger.db in the state directory.
	Ledger ledger.Ledger
	// EditDeps, if set, changes the proxy's dependencies before it is
	// built.
	EditDeps func(*proxy.Deps)
}

// StartWith is Start with the keyring, the ledger and the other choices
// of o.
func StartWith(t testing.TB, yaml string, o Options) *Proxy {
	t.Helper()
	cfg, err := config.ParseConfig([]byte(yaml), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := openState(t, cfg, o)
	log, extraRoots := o.Log, o.ExtraRoots
	if log == nil {
		log = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	clock := &Clock{}
	st.Now = clock.Now
	if o.EditDeps != nil {
		o.EditDeps(&st.Deps)
	}
	srv, err := proxy.New(cfg, log, st.Deps)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(st.CA.CertPEM())
	for _, f := range extraRoots {
		b, _ := os.ReadFile(f)
		pool.AppendCertsFromPEM(b)
	}
	pu := &url.URL{Scheme: "http", Host: l.Addr().String()}
	tp := &Proxy{Server: srv, Key: st.Keyring.Current(), Keyring: st.Keyring, CA: st.CA, Ledger: st.Ledger, URL: pu, Clock: clock}
	tp.Client = &http.Client{Transport: &http.Transport{
		Proxy:             http.ProxyURL(pu),
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		DisableKeepAlives: true,
	}, Timeout: 60 * time.Second}
	return tp
}

// DirectClient talks to the fake service without the proxy.
func DirectClient(t testing.TB, addr, caFile string) *http.Client {
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

// MustDo sends req with c and returns the response and its whole body.
func MustDo(t testing.TB, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp, body
}

// NewReq is http.NewRequest that fails the test on an error.
func NewReq(t testing.TB, method, u string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// Clock is the time now, moved forward by Advance.
type Clock struct{ offset atomic.Int64 }

func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// EncryptedWith returns the ciphertext jpegveil must produce for photo.
func EncryptedWith(t testing.TB, p *Proxy, photo []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := veil.Encrypt(p.Key, &out, bytes.NewReader(photo)); err != nil {
		t.Fatalf("veil.Encrypt: %v", err)
	}
	if out.Len() != len(photo) || bytes.Equal(out.Bytes(), photo) {
		t.Fatal("veil.Encrypt did not encrypt the photo in place")
	}
	return out.Bytes()
}

// CheckStored compares what a fake stored with the expected ciphertext.
func CheckStored(t testing.TB, what string, stored, photo, want []byte) {
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

// ServicesConfigYAML is a proxy config for the fakes: every host in hosts
// is resolved to addr, the fake's CA is trusted upstream, and rules are
// the given rule list.
func ServicesConfigYAML(stateDir, addr, caFile string, hosts []string, rules, extra string) string {
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

// RangeCases returns Range headers at several offsets of an n-byte file
// and the slices they select.
func RangeCases(n int) []struct {
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

// RangeCasesAround returns Range headers around file offset at of an n-byte
// file (where the data after a phone photo's image starts): ending just
// before it, reaching just into it, crossing it by more than a keystream
// chunk, inside it, and from it to the end.
func RangeCasesAround(n, at int) []struct {
	rng        string
	start, end int
} {
	cases := []struct {
		rng        string
		start, end int
	}{
		{fmt.Sprintf("bytes=0-%d", at-1), 0, at - 1},
		{fmt.Sprintf("bytes=%d-%d", at-100, at), at - 100, at},
		{fmt.Sprintf("bytes=%d-%d", max(at-70000, 0), min(at+70000, n-1)), max(at-70000, 0), min(at+70000, n-1)},
		{fmt.Sprintf("bytes=%d-%d", at+10, min(at+5000, n-1)), at + 10, min(at+5000, n-1)},
		{fmt.Sprintf("bytes=%d-", at), at, n - 1},
	}
	return cases
}

// CheckRanges downloads u through the proxy with each of RangeCases and
// compares with the photo.
func CheckRanges(t *testing.T, c *http.Client, u string, photo []byte, hdr http.Header) {
	t.Helper()
	CheckRangeCases(t, c, u, photo, hdr, RangeCases(len(photo)))
}

// CheckRangeCases downloads u through the proxy with each of cases and
// compares with the photo.
func CheckRangeCases(t *testing.T, c *http.Client, u string, photo []byte, hdr http.Header, cases []struct {
	rng        string
	start, end int
}) {
	t.Helper()
	n := len(photo)
	for _, tc := range cases {
		req := NewReq(t, "GET", u, nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("Range", tc.rng)
		resp, got := MustDo(t, c, req)
		want := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, n)
		if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != want {
			t.Fatalf("%s: %s Content-Range %q, want 206 %q", tc.rng, resp.Status, resp.Header.Get("Content-Range"), want)
		}
		if !bytes.Equal(got, photo[tc.start:tc.end+1]) || resp.ContentLength != int64(len(got)) {
			t.Fatalf("%s: wrong slice (%d bytes, Content-Length %d)", tc.rng, len(got), resp.ContentLength)
		}
	}
}

// state holds what cmd/jpegveil's OpenState makes of a state directory
// (a key, the CA constrained to the rule domains, a ledger), made fresh for
// one test.
type state struct {
	proxy.Deps
}

func openState(t testing.TB, cfg *config.Config, o Options) *state {
	t.Helper()
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	keys := o.Keys
	if len(keys) == 0 {
		keys = []*keystream.Key{stateKey(t, cfg.KeyFile)}
	}
	ring, err := keystream.NewKeyring(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	var opts certs.CAOptions
	if cfg.CA.NameConstraints {
		opts.PermittedDomains = cfg.RuleDomains()
	}
	ca, _, err := certs.LoadOrCreateCA(cfg.StateDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	led := o.Ledger
	if led == nil {
		bl, err := ledger.OpenBolt(filepath.Join(cfg.StateDir, "ledger.db"), ledger.BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bl.Close() })
		led = bl
	}
	return &state{proxy.Deps{Keyring: ring, CA: ca, Ledger: led}}
}

// ContentMD5 is the Content-MD5 header of b.
func ContentMD5(b []byte) string {
	m := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(m[:])
}

// BrokenBody sends part of a chunk and then fails, as a client whose
// connection drops in the middle of a request.
type BrokenBody struct {
	R io.Reader // what is sent before the connection drops
}

func (b *BrokenBody) Read(p []byte) (int, error) {
	n, err := b.R.Read(p)
	if err == io.EOF {
		time.Sleep(50 * time.Millisecond) // let the proxy read what was sent
		return n, errors.New("connection dropped")
	}
	return n, err
}

// HeldBody sends the first Head bytes of R, then waits for Release to be
// closed before it sends the rest: an upload still arriving.
type HeldBody struct {
	R       io.Reader
	Head    int
	Release <-chan struct{}
}

func (b *HeldBody) Read(p []byte) (int, error) {
	if b.Head > 0 {
		n, err := b.R.Read(p[:min(len(p), b.Head)])
		b.Head -= n
		return n, err
	}
	<-b.Release
	return b.R.Read(p)
}

// GoogHash is the X-Goog-Hash header of b (CRC32C and MD5).
func GoogHash(b []byte) string {
	m := md5.Sum(b)
	var c [4]byte
	binary.BigEndian.PutUint32(c[:], crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	return "crc32c=" + base64.StdEncoding.EncodeToString(c[:]) + ",md5=" + base64.StdEncoding.EncodeToString(m[:])
}

// stateKey reads the key file, or makes one: a proxy started again on the
// same state directory has the same key.
func stateKey(t testing.TB, path string) *keystream.Key {
	t.Helper()
	if b, err := os.ReadFile(path); err == nil {
		kf, err := keystream.ParseKeyFile(b)
		if err != nil {
			t.Fatal(err)
		}
		key, err := kf.Key(nil)
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	key, err := keystream.GenerateKey(keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, key.MarshalKeyFile(), 0o600); err != nil {
		t.Fatal(err)
	}
	return key
}

// CheckRecorded checks that the ledger of p recorded, for the ciphertext
// want of an upload, the SHA-256 of want and the service identity ref.
func CheckRecorded(t testing.TB, p *Proxy, want []byte, ref ledger.ServiceRef) {
	t.Helper()
	res, err := veil.Encrypt(p.Key, io.Discard, bytes.NewReader(want))
	if err != nil && !veil.IsParseError(err) {
		t.Fatal(err)
	}
	// The ciphertext's own fingerprint is the In of transforming it.
	fp := ledger.Fingerprint(res.In)
	rec, found, err := p.Ledger.(interface {
		Record(context.Context, ledger.Fingerprint) (ledger.Record, bool, error)
	}).Record(context.Background(), fp)
	switch {
	case err != nil || !found:
		t.Fatalf("the ledger has no record of the upload: %v", err)
	case !rec.HasHash || rec.CiphertextSHA256 != sha256.Sum256(want):
		t.Errorf("the ledger has no SHA-256 of the uploaded file, or another one")
	case !slices.Contains(rec.Services, ref):
		t.Errorf("the ledger records the upload at %v, want %v among them", rec.Services, ref)
	}
}
