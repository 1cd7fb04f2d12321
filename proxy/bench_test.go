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

// BenchmarkProxy measures uploads and downloads of a 12-megapixel photo
// through the proxy, with the rule encrypting and with the same proxy
// passing the body through (the host is intercepted, no rule matches the
// path). cpu-ms/MB is the whole process (client, proxy and fake service);
// the interop benchmark measures the proxy process alone.
func BenchmarkProxy(b *testing.B) {
	photo := fakes.CorpusFile(b, "photos/phone-12mp-q92.jpg")
	svc := fakes.NewPhotos(b)
	yaml := proxytest.ConfigYAML(b.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "")
	p := proxytest.Start(b, yaml, nil)
	p.Client.Transport.(*http.Transport).DisableKeepAlives = false
	// Pass-through: the same service under a path no rule matches.
	inner := svc.Srv.Config.Handler
	svc.Srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = strings.Replace(r.URL.Path, "/plain/", "/", 1)
		inner.ServeHTTP(w, r)
	})
	for _, mode := range []struct{ name, prefix string }{{"encrypt", ""}, {"passthrough", "/plain"}} {
		var id string
		b.Run("upload/"+mode.name, func(b *testing.B) {
			b.SetBytes(int64(len(photo)))
			start := cpuTime()
			for b.Loop() {
				resp, err := p.Client.Post("https://photos.test"+mode.prefix+"/upload", "image/jpeg", bytes.NewReader(photo))
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s %s", resp.Status, body)
				}
				id = string(body)
			}
			b.ReportMetric(float64(cpuTime()-start)/1e6/(float64(b.N)*float64(len(photo))/1e6), "cpu-ms/MB")
		})
		b.Run("download/"+mode.name, func(b *testing.B) {
			b.SetBytes(int64(len(photo)))
			start := cpuTime()
			for b.Loop() {
				resp, err := p.Client.Get("https://photos.test" + mode.prefix + "/objects/" + id)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if n != int64(len(photo)) {
					b.Fatalf("downloaded %d bytes", n)
				}
			}
			b.ReportMetric(float64(cpuTime()-start)/1e6/(float64(b.N)*float64(len(photo))/1e6), "cpu-ms/MB")
		})
	}
}
