package proxy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestAuditLineMatchesWhatWasSent: the log line of an upload says what was
// sent, also when the service answers before it has read the body and
// reads it slowly, for many uploads at once. Before, the outcome was taken
// after a bounded wait for the upload to finish and said passed for photos
// that went up encrypted.
func TestAuditLineMatchesWhatWasSent(t *testing.T) {
	photos := [][]byte{fakes.CorpusFile(t, "photos/phone-12mp-q92.jpg")}
	svc := fakes.NewPhotos(t)
	var mu sync.Mutex
	stored := map[string][]byte{}
	inner := svc.Srv.Config.Handler
	svc.Srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/early" {
			inner.ServeHTTP(w, r)
			return
		}
		// Answer first, then read, as a service that accepts the upload
		// as soon as it has its headers.
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		stored[r.Header.Get("X-Test-ID")] = b
		mu.Unlock()
	})
	core, logs := observer.New(zapcore.InfoLevel)
	extra := "  - name: test-early\n    hosts: [photos.test]\n    methods: [POST]\n    paths: [/early]\n    body: raw\n"
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, extra), zap.New(core))

	const n = 12
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			photo := photos[i%len(photos)]
			req, _ := http.NewRequest("POST", "https://photos.test/early", &slowReader{b: photo, fast: 400 << 10})
			req.ContentLength = int64(len(photo))
			sum := sha256.Sum256([]byte{byte(i)})
			req.Header.Set("X-Test-ID", hex.EncodeToString(sum[:4]))
			resp, err := p.Client.Do(req)
			if err != nil {
				t.Errorf("upload %d: %v", i, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for logs.FilterField(zap.String("path", "/early")).Len() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	lines := logs.FilterField(zap.String("path", "/early")).All()
	if len(lines) != n {
		t.Fatalf("%d log lines for %d uploads", len(lines), n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stored) != n {
		t.Fatalf("the service stored %d uploads of %d", len(stored), n)
	}
	for id, b := range stored {
		for _, photo := range photos {
			if bytes.Equal(b, photo) {
				t.Fatalf("upload %s was stored unencrypted", id)
			}
		}
	}
	for _, l := range lines {
		if out := l.ContextMap()["outcome"]; out != "transformed" {
			t.Errorf("an encrypted upload was logged as %v: %v", out, l.ContextMap())
		}
	}
}

// slowReader sends its first fast bytes at once, then 64 KiB every 150 ms,
// as a phone on a slow uplink.
type slowReader struct {
	b    []byte
	fast int
	n    int
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.n >= len(s.b) {
		return 0, io.EOF
	}
	limit := len(s.b)
	if s.n >= s.fast {
		time.Sleep(150 * time.Millisecond)
		limit = min(limit, s.n+64<<10)
	} else {
		limit = min(limit, s.fast)
	}
	m := copy(p, s.b[s.n:limit])
	s.n += m
	return m, nil
}
