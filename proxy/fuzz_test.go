package proxy_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/proxy"
	"jpegveil/veil"
)

// fuzzPhoto is a small baseline JPEG of noise, made here so that the fuzz
// target needs no files.
func fuzzPhoto(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	img.Set(0, 0, color.White)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// leakWatch is the service behind the proxy in the fuzz target: it looks
// in every body that reaches it on a route a rule covers for runs of the
// photo's bytes that encryption changes, and remembers each it finds.
type leakWatch struct {
	markers [][]byte
	active  atomic.Int32
	mu      sync.Mutex
	leaks   []string
}

// newLeakWatch picks 32-byte runs of photo that its ciphertext under key
// does not contain: finding one upstream means plaintext got there.
func newLeakWatch(t testing.TB, p *proxytest.Proxy, photo []byte) *leakWatch {
	var enc bytes.Buffer
	if _, err := veil.Encrypt(p.Key, &enc, bytes.NewReader(photo)); err != nil {
		t.Fatal(err)
	}
	w := &leakWatch{}
	for at := 600; at+32 <= len(photo); at += 256 {
		if !bytes.Contains(enc.Bytes(), photo[at:at+32]) {
			w.markers = append(w.markers, photo[at:at+32])
		}
	}
	if len(w.markers) < 8 {
		t.Fatalf("only %d runs of the photo change under encryption", len(w.markers))
	}
	return w
}

// covered reports whether the service reads method and path as a route a
// rule of fuzzRules covers.
func covered(method, path string) bool {
	switch proxy.MatchPath(path) {
	case "/upload", "/form", "/form-pass":
		return strings.EqualFold(method, "POST")
	}
	return false
}

func (w *leakWatch) handler(inner http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.active.Add(1)
		defer w.active.Add(-1)
		body, _ := io.ReadAll(r.Body) // what arrived, even of a request cut off
		if covered(r.Method, r.URL.Path) {
			for _, m := range w.markers {
				if bytes.Contains(body, m) {
					w.mu.Lock()
					w.leaks = append(w.leaks, fmt.Sprintf("%s %s (%d bytes) carries the photo unencrypted", r.Method, r.URL.Path, len(body)))
					w.mu.Unlock()
					break
				}
			}
		}
		io.WriteString(rw, "ok")
	})
}

// settle waits until no request is being served upstream, then returns and
// clears the leaks found.
func (w *leakWatch) settle() []string {
	for deadline := time.Now().Add(3 * time.Second); w.active.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.leaks
	w.leaks = nil
	return l
}

// FuzzRequestPath sends requests of every shape through an intercepted
// tunnel: multipart layouts with the photo in any part, header orders,
// Host headers and request targets in every form, chunked and
// length-delimited framing, hash headers, content codings. Whatever the
// proxy answers, nothing a rule covers reaches the service with the photo
// unencrypted, and the proxy keeps serving (a panic in it ends the run).
func FuzzRequestPath(f *testing.F) {
	photo := fuzzPhoto(f)
	svc := fakes.NewPhotos(f)
	p := proxytest.Start(f, proxytest.ConfigYAML(f.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "")+formRules, zap.NewNop())
	watch := newLeakWatch(f, p, photo)
	svc.Srv.Config.Handler = watch.handler(svc.Srv.Config.Handler)
	_, upstreamPort, _ := net.SplitHostPort(svc.Srv.Listener.Addr().String())
	for _, seed := range fuzzSeeds {
		f.Add(seed.shape, []byte(seed.junk))
	}
	f.Fuzz(func(t *testing.T, shape, junk []byte) {
		raw := buildRequest(&picker{b: shape}, photo, junk, upstreamPort)
		conn := p.Tunnel(t, "photos.test:443")
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		proxytest.RawExchange(conn, raw) // any answer, or none, is fine
		conn.Close()
		if leaks := watch.settle(); len(leaks) > 0 {
			t.Fatalf("%s\nrequest:\n%q", strings.Join(leaks, "\n"), head(raw, 600))
		}
	})
}

var fuzzSeeds = []struct {
	shape []byte
	junk  string
}{
	{[]byte{0, 0, 0, 0, 0, 0, 0, 0}, ""},                              // a plain raw upload
	{[]byte{0, 1, 0, 0, 1, 3, 0, 1, 1, 0, 0, 0, 0}, "deviceId"},       // a form
	{[]byte{0, 1, 0, 0, 1, 3, 2, 1, 1, 2, 1, 0, 0}, "x"},              // a JPEG before the field
	{[]byte{0, 2, 0, 0, 1, 3, 1, 5, 2, 1, 0, 3, 1}, "\r\n--b\r\n"},    // under pass, junk in a field
	{[]byte{0, 0, 1, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, "abc"},         // another host by absolute-form
	{[]byte{0, 3, 0, 3, 2, 2, 3, 0, 1, 7, 9, 200, 4, 4, 4}, "zz"},     // chunked, odd host forms
	{[]byte{1, 4, 2, 1, 3, 1, 4, 4, 4, 2, 2, 2, 9, 9, 9}, "\xff\xd8"}, // path variants, hash headers
}

// picker turns fuzz bytes into choices; past their end every choice is 0.
type picker struct {
	b []byte
	i int
}

func (p *picker) n(k int) int {
	if p.i >= len(p.b) {
		return 0
	}
	v := int(p.b[p.i]) % k
	p.i++
	return v
}

func head(b []byte, n int) []byte { return b[:min(len(b), n)] }

// buildRequest makes the bytes of one request from the choices in pk.
func buildRequest(pk *picker, photo, junk []byte, upstreamPort string) []byte {
	method := []string{"POST", "POST", "PUT", "post"}[pk.n(4)]
	path := []string{"/upload", "/form", "/form-pass", "/upload/", "//form", "/upload;x=1", "/./form-pass", "/form?x=1", "/other", "/UPLOAD", "/up%6Coad"}[pk.n(11)]
	hosts := []string{"photos.test", "PHOTOS.test", "photos.test.", "photos.test:443", "photos.test:8443", "127.0.0.1:" + upstreamPort, "other.test", "localhost:" + upstreamPort}
	target := path
	if pk.n(3) == 1 {
		target = "https://" + hosts[pk.n(len(hosts))] + path
	}
	var hdrs []string
	switch pk.n(4) {
	case 0, 1:
		hdrs = append(hdrs, "Host: "+hosts[pk.n(len(hosts))])
	case 2:
		hdrs = append(hdrs, "Host: photos.test", "Host: "+hosts[pk.n(len(hosts))])
	}
	var body []byte
	if strings.Contains(path, "form") || pk.n(3) == 0 {
		var ct string
		body, ct = buildForm(pk, photo, junk)
		hdrs = append(hdrs, "Content-Type: "+ct)
	} else {
		body = photo
		switch pk.n(4) {
		case 1:
			body = append(append([]byte{}, junk...), photo...)
		case 2:
			body = append(append([]byte{}, photo...), junk...)
		}
		hdrs = append(hdrs, "Content-Type: image/jpeg")
	}
	for opt := pk.n(16); opt != 0; opt &= opt - 1 {
		switch opt & -opt {
		case 1:
			m := md5.Sum(body)
			hdrs = append(hdrs, "Content-MD5: "+base64.StdEncoding.EncodeToString(m[:]))
		case 2:
			hdrs = append(hdrs, "Expect: 100-continue")
		case 4:
			hdrs = append(hdrs, []string{"Content-Encoding: gzip", "Content-Encoding: identity", "Trailer: Content-MD5"}[pk.n(3)])
		case 8:
			hdrs = append(hdrs, "Connection: close")
		}
	}
	var framed []byte
	switch pk.n(5) {
	case 0, 1: // Content-Length
		hdrs = append(hdrs, fmt.Sprintf("Content-Length: %d", len(body)))
		framed = body
	case 2: // shorter Content-Length: the rest is a second request
		cut := pk.n(len(body) + 1)
		hdrs = append(hdrs, fmt.Sprintf("Content-Length: %d", cut))
		framed = body
	default: // chunked, at sizes from the choices
		hdrs = append(hdrs, []string{"Transfer-Encoding: chunked", "Transfer-Encoding: Chunked", "Transfer-Encoding: chunked\r\nContent-Length: 10"}[pk.n(3)])
		framed = chunked(pk, body)
	}
	for i := len(hdrs) - 1; i > 0; i-- { // header order
		j := pk.n(i + 1)
		hdrs[i], hdrs[j] = hdrs[j], hdrs[i]
	}
	req := fmt.Sprintf("%s %s HTTP/1.1\r\n%s\r\n\r\n", method, target, strings.Join(hdrs, "\r\n"))
	return append([]byte(req), framed...)
}

// chunked frames body in chunks whose sizes pk picks.
func chunked(pk *picker, body []byte) []byte {
	var b bytes.Buffer
	for len(body) > 0 {
		n := min(len(body), 1+pk.n(4096)*pk.n(8)+pk.n(64))
		fmt.Fprintf(&b, "%x\r\n", n)
		b.Write(body[:n])
		b.WriteString("\r\n")
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

// buildForm makes a multipart form of one to five parts: text fields, the
// photo under the rule's field or another, with or without a filename, a
// type or a transfer encoding, junk, in any order and framing.
func buildForm(pk *picker, photo, junk []byte) ([]byte, string) {
	boundary := []string{"b", "----WebKitFormBoundaryx7Qz", "a'b=c", "x y"}[pk.n(4)]
	ct := "multipart/form-data; boundary=\"" + boundary + "\""
	if pk.n(2) == 0 && !strings.ContainsAny(boundary, "' =") {
		ct = "multipart/form-data; boundary=" + boundary
	}
	var b bytes.Buffer
	if pk.n(4) == 0 {
		b.Write(junk) // preamble
		b.WriteString("\r\n")
	}
	for i, n := 0, 1+pk.n(5); i < n; i++ {
		b.WriteString("--" + boundary + []string{"\r\n", "\r\n", " \r\n", "\n"}[pk.n(4)])
		name := []string{"assetData", "assetData", "deviceId", "thumb", "file"}[pk.n(5)]
		disp := "Content-Disposition: form-data; name=\"" + name + "\""
		switch pk.n(6) {
		case 0: // a text field
			b.WriteString(disp + "\r\n\r\n" + "phone-1")
		case 1, 2: // the photo as a browser sends it
			b.WriteString(disp + "; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n")
			b.Write(photo)
		case 3: // the photo, bare
			b.WriteString(disp + "\r\n\r\n")
			b.Write(photo)
		case 4: // the photo, declared transfer-encoded
			b.WriteString(disp + "\r\nContent-Transfer-Encoding: " + []string{"binary", "quoted-printable", "base64"}[pk.n(3)] + "\r\n\r\n")
			b.Write(photo)
		case 5: // junk
			b.WriteString(disp + "\r\n\r\n")
			b.Write(junk)
		}
		b.WriteString("\r\n")
	}
	if pk.n(5) != 0 {
		b.WriteString("--" + boundary + "--\r\n")
	}
	if pk.n(4) == 0 {
		b.Write(junk) // epilogue
	}
	return b.Bytes(), ct
}
