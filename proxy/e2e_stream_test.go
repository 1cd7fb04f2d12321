package proxy_test

import (
	"bytes"
	"crypto/sha256"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/veil"
)

// writeNoiseJPEG writes a w×h grayscale JPEG of noise at quality 100 (about
// 1.6 bytes per pixel) and returns its path.
func writeNoiseJPEG(t testing.TB, w, h int) string {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	x := uint32(2463534242)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = byte(x)
	}
	path := filepath.Join(t.TempDir(), "big.jpg")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLargeUploadStreams uploads a photo of more than 50 MB through the proxy
// and checks that the process heap grows by less than 16 MB meanwhile: the
// body streams through the transform, it is never held whole.
func TestLargeUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("large upload skipped in -short mode")
	}
	path := writeNoiseJPEG(t, 6400, 5200)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < 50<<20 {
		t.Fatalf("test photo is only %d bytes", st.Size())
	}

	var gotSum [32]byte
	var gotLen int64
	svc := fakes.NewPhotos(t)
	svc.Srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		gotLen = n
		copy(gotSum[:], h.Sum(nil))
		io.WriteString(w, "ok")
	})
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)

	stop := watchHeap()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	req := proxytest.NewReq(t, "POST", "https://photos.test/upload", f)
	req.ContentLength = st.Size()
	start := time.Now()
	resp, body := proxytest.MustDo(t, p.Client, req)
	elapsed := time.Since(start)
	growth := stop()
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %s %s", resp.Status, body)
	}
	t.Logf("uploaded %d MB in %v (%.0f MB/s); heap growth %.1f MB", st.Size()>>20, elapsed, float64(st.Size())/1e6/elapsed.Seconds(), float64(growth)/(1<<20))
	if growth > 16<<20 {
		t.Errorf("heap grew by %.1f MB during the upload, want < 16 MB", float64(growth)/(1<<20))
	}
	if gotLen != st.Size() {
		t.Fatalf("service received %d bytes, want %d", gotLen, st.Size())
	}
	in, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var enc bytes.Buffer
	if _, err := veil.Encrypt(p.Key, &enc, bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(enc.Bytes()) != gotSum {
		t.Fatal("the service did not receive the ciphertext of the photo")
	}
}

// watchHeap samples the heap until stop is called, which returns how far it
// grew above where it was at the start.
func watchHeap() (stop func() int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		return int64(peak.Load()) - int64(base)
	}
}
