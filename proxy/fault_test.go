package proxy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// brokenReader yields its data up to cut bytes, then fails, like a client
// that goes away in the middle of an upload.
type brokenReader struct {
	r   io.Reader
	cut int
	n   int
}

var errClientGone = errors.New("client went away")

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.n >= b.cut {
		return 0, errClientGone
	}
	n, err := b.r.Read(p[:min(len(p), b.cut-b.n)])
	b.n += n
	return n, err
}

// TestFaults sends 200 uploads, a third of them from clients that disconnect
// at a random offset, to a service that resets some connections. Afterwards
// no goroutine is left behind and every upload that completed round-trips.
func TestFaults(t *testing.T) {
	photos := [][]byte{
		fakes.CorpusFile(t, "photos/coffee-q80-420.jpg"),
		fakes.CorpusFile(t, "photos/page-q70-gray-progressive.jpg"),
		fakes.CorpusFile(t, "photos/motorcycle-q80-restart8.jpg"),
		fakes.CorpusFile(t, "conformance/imagers-tests-reftest-images-restarts.jpg"),
	}
	svc := fakes.NewPhotos(t)
	svc.Srv.Config.Handler = resetting(svc.Srv.Config.Handler)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)

	settle := func() int {
		p.Client.CloseIdleConnections()
		p.Server.CloseIdleConnections()
		var n int
		for i := 0; i < 100; i++ {
			runtime.Gosched()
			time.Sleep(20 * time.Millisecond)
			n = runtime.NumGoroutine()
			if i > 5 && n <= baselineGoroutines {
				break
			}
		}
		return n
	}
	// Warm up: one complete upload, then count.
	if resp, _ := upload(t, p.Client, photos[0]); resp.StatusCode != 200 {
		t.Fatalf("warm-up upload: %s", resp.Status)
	}
	baselineGoroutines = 1 << 30
	baselineGoroutines = settle()

	completed, failed := faultyUploads(p, photos)
	if len(completed) < 40 {
		t.Fatalf("only %d uploads completed", len(completed))
	}
	for _, d := range completed {
		_, got := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", "https://photos.test/objects/"+d.id, nil))
		if !bytes.Equal(got, d.photo) {
			t.Fatalf("object %s does not round-trip", d.id)
		}
	}
	if n := settle(); n > baselineGoroutines {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("goroutines: %d after the faults, %d before\n%s", n, baselineGoroutines, firstStacks(string(buf), 12))
	}
	t.Logf("%d completed, %d failed on purpose; goroutines back to %d", len(completed), failed, baselineGoroutines)
}

var baselineGoroutines int

func firstStacks(all string, n int) string {
	parts := strings.Split(all, "\n\n")
	return strings.Join(parts[:min(n, len(parts))], "\n\n")
}

// resetting wraps a fake service's handler: a request with X-Test-Reset: 1
// has part of its body read, then its connection reset.
func resetting(inner http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test-Reset") != "1" {
			inner.ServeHTTP(w, r)
			return
		}
		io.CopyN(io.Discard, r.Body, 3000)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(interface{ NetConn() net.Conn }); ok {
			if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
				tcp.SetLinger(0)
			}
		}
		conn.Close()
	})
}

// done is an upload that completed: the photo and the ID the service gave.
type done struct {
	photo []byte
	id    string
}

// faultyUploads sends 200 uploads of the photos, 8 at a time: a third
// complete, a third break off on the client's side, a third are reset by
// the service. It returns the completed ones and the count of the others.
func faultyUploads(p *proxytest.Proxy, photos [][]byte) (completed []done, failed int) {
	rng := rand.New(rand.NewPCG(1, 2))
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		photo := photos[rng.IntN(len(photos))]
		mode := rng.IntN(3) // 0 complete, 1 client disconnects, 2 upstream resets
		cut := 1 + rng.IntN(len(photo)-1)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var body io.Reader = bytes.NewReader(photo)
			if mode == 1 {
				body = &brokenReader{r: body, cut: cut}
			}
			req, _ := http.NewRequest("POST", "https://photos.test/upload", body)
			req.ContentLength = int64(len(photo))
			req.Header.Set("X-Test-ID", fmt.Sprint(i))
			if mode == 2 {
				req.Header.Set("X-Test-Reset", "1")
			}
			resp, err := p.Client.Do(req)
			if err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
				return
			}
			id, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if resp.StatusCode == 200 && mode == 0 {
				completed = append(completed, done{photo, string(id)})
			} else {
				failed++
			}
		}()
	}
	wg.Wait()
	return completed, failed
}
