package proxy_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// cpuTime is the CPU time (user+system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRules intercept photos.test: raw uploads to /upload, downloads of
// /objects/*. plain.test, the same service under another name, is not
// intercepted: its CONNECTs are tunnelled.
const benchRules = `  - name: bench-upload
    hosts: [photos.test]
    methods: [POST]
    paths: [/upload]
    body: raw
  - name: bench-download
    hosts: [photos.test]
    paths: [/objects/*]
    body: download
`

// BenchmarkProxy measures uploads and downloads of a 12-megapixel photo
// through the proxy: encrypting and decrypting; passing (a re-upload of
// the proxy's own ciphertext, a download of a photo the ledger does not
// know); forwarding on an intercepted host where no rule matches (a
// download, and the upload of a body that is no JPEG: a JPEG there is
// refused); and tunnelling to a host no
// rule names. cpu-ms/MB is the whole process (client, proxy and fake
// service); the interop benchmark measures the proxy process alone.
func BenchmarkProxy(b *testing.B) {
	photo := fakes.CorpusFile(b, "photos/phone-12mp-q92.jpg")
	svc := &fakes.Photos{Objects: map[string][]byte{}}
	svc.Srv, svc.CAFile = fakes.NewMultiHostTLSServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = strings.Replace(r.URL.Path, "/plain/", "/", 1)
		svc.Handler(w, r)
	}))
	hosts := []string{"photos.test", "plain.test"}
	yaml := proxytest.ServicesConfigYAML(b.TempDir(), svc.Srv.Listener.Addr().String(), svc.CAFile, hosts, benchRules, "")
	p := proxytest.Start(b, yaml, nil, svc.CAFile)
	p.Client.Transport.(*http.Transport).DisableKeepAlives = false

	upload := func(b *testing.B, url string, body []byte) string {
		b.Helper()
		resp, err := p.Client.Post(url, "image/jpeg", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		id, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s %s", resp.Status, id)
		}
		return string(id)
	}
	download := func(b *testing.B, url string) {
		b.Helper()
		resp, err := p.Client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != int64(len(photo)) {
			b.Fatalf("%s: downloaded %d bytes", resp.Status, n)
		}
	}
	// The ciphertext (stored through the proxy) and the plaintext (stored
	// through the tunnel) of the photo.
	cipherID := upload(b, "https://photos.test/upload", photo)
	plainID := upload(b, "https://plain.test/upload", photo)

	// Forwarded on a route no rule covers, a JPEG is refused: the photo
	// with its first byte changed is no JPEG, and goes up as it is.
	notJPEG := append([]byte{'X'}, photo[1:]...)

	perMB := func(b *testing.B, start time.Duration) {
		b.ReportMetric(float64(cpuTime()-start)/1e6/(float64(b.N)*float64(len(photo))/1e6), "cpu-ms/MB")
	}
	cases := []struct {
		name string
		run  func(b *testing.B)
	}{
		{"upload/encrypt", func(b *testing.B) { upload(b, "https://photos.test/upload", photo) }},
		{"upload/pass", func(b *testing.B) { upload(b, "https://photos.test/upload", svc.Objects[cipherID]) }},
		{"upload/forward", func(b *testing.B) { upload(b, "https://photos.test/plain/upload", notJPEG) }},
		{"upload/tunnel", func(b *testing.B) { upload(b, "https://plain.test/upload", photo) }},
		{"download/decrypt", func(b *testing.B) { download(b, "https://photos.test/objects/"+cipherID) }},
		{"download/pass", func(b *testing.B) { download(b, "https://photos.test/objects/"+plainID) }},
		{"download/forward", func(b *testing.B) { download(b, "https://photos.test/plain/objects/"+cipherID) }},
		{"download/tunnel", func(b *testing.B) { download(b, "https://plain.test/objects/"+cipherID) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(photo)))
			start := cpuTime()
			for b.Loop() {
				c.run(b)
			}
			perMB(b, start)
		})
	}
}
