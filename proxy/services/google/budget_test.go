package google_test

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestGoogleChunkBeyondMemoryBudgetIsRetried: a chunk of a resumable upload
// takes its memory from limits.buffer_memory. While other chunks hold all
// of it, the chunk gets 503 with Retry-After and nothing is committed: the
// client sends it again later at the same offset, and the upload ends
// encrypted as if nothing had happened.
func TestGoogleChunkBeyondMemoryBudgetIsRetried(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/phone-12mp-q92.jpg")
	f, p := startGoogle(t, "limits: {hash_buffer: 1MiB, buffer_memory: 3MiB, buffer_wait: 200ms}\n")
	want := proxytest.EncryptedWith(t, p, photo)
	g := gClient{t: t, c: p.Client}
	const cs = 2 * fakes.GoogleGranularity
	loc := g.start("https://photoslibrary.googleapis.com/v1/uploads", len(photo), "")
	if resp, msg := g.chunk(loc, 0, photo[:cs], "upload", nil); resp.StatusCode != 200 {
		t.Fatalf("chunk 0: %s %q", resp.Status, msg)
	}

	// Two other uploads hold the memory with chunks that are still arriving.
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		other := g.start("https://photoslibrary.googleapis.com/v1/uploads", len(photo), "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := g.req("POST", other, &proxytest.HeldBody{R: bytes.NewReader(photo[:cs]), Head: 4096, Release: release},
				map[string]string{"X-Goog-Upload-Command": "upload", "X-Goog-Upload-Offset": "0"})
			req.ContentLength = cs
			resp, err := p.Client.Do(req)
			if err != nil {
				t.Errorf("held chunk: %v", err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("held chunk: %s", resp.Status)
			}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); p.Server.BufferedBytes() < 2*2*cs && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}

	resp, msg := g.chunk(loc, cs, photo[cs:2*cs], "upload", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a chunk beyond limits.buffer_memory: %s %q, want 503", resp.Status, msg)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs <= 0 {
		t.Fatalf("503 with Retry-After %q", resp.Header.Get("Retry-After"))
	}
	if st, n := g.query(loc); st != "active" || n != cs {
		t.Fatalf("after the 503 the upload is %s at %d, want active at %d", st, n, cs)
	}
	close(release)
	wg.Wait()

	if resp, msg := g.chunk(loc, cs, photo[cs:2*cs], "upload", nil); resp.StatusCode != 200 {
		t.Fatalf("the chunk sent again: %s %q", resp.Status, msg)
	}
	if resp, msg := g.chunk(loc, 2*cs, photo[2*cs:3*cs], "upload", nil); resp.StatusCode != 200 {
		t.Fatalf("chunk 2: %s %q", resp.Status, msg)
	}
	if resp, msg := g.chunk(loc, 3*cs, photo[3*cs:], "upload, finalize", nil); resp.StatusCode != 200 {
		t.Fatalf("finalize: %s %q", resp.Status, msg)
	}
	proxytest.CheckStored(t, "upload with a 503 in the middle", f.Upload1(loc).Data, photo, want)
}
