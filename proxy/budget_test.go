package proxy_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestBufferedUploadsShareOneMemoryBudget: uploads held in memory for a
// hash header share limits.buffer_memory. While two of them hold it, a
// third waits limits.buffer_wait and then gets 503 with Retry-After,
// before anything of it reaches the service; the two finish, and the third
// goes through when tried again. Nothing is lost.
func TestBufferedUploadsShareOneMemoryBudget(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/phone-12mp-q92.jpg") // 1.8 MB
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile},
		"limits: {hash_buffer: 2MiB, buffer_memory: 4MiB, buffer_wait: 300ms}\n"), nil)
	upload := func(body io.Reader) (*http.Response, []byte) {
		req := proxytest.NewReq(t, "POST", "https://photos.test/upload", body)
		req.ContentLength = int64(len(photo))
		req.Header.Set("Content-MD5", proxytest.ContentMD5(photo))
		resp, err := p.Client.Do(req)
		if err != nil {
			t.Errorf("upload: %v", err)
			return nil, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	release := make(chan struct{})
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, _ := upload(&proxytest.HeldBody{R: bytes.NewReader(photo), Head: 64 << 10, Release: release}); resp != nil {
				codes[i] = resp.StatusCode
			}
		}()
	}
	// Wait until both hold their memory.
	if bb, ok := any(p.Server).(interface{ BufferedBytes() int64 }); ok {
		for deadline := time.Now().Add(10 * time.Second); bb.BufferedBytes() < 2*int64(len(photo)) && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	} else {
		time.Sleep(time.Second)
	}

	resp, msg := upload(bytes.NewReader(photo))
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a third buffered upload beyond limits.buffer_memory: %v %q, want 503", status(resp), msg)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs <= 0 {
		t.Fatalf("503 with Retry-After %q", resp.Header.Get("Retry-After"))
	}
	svc.Mu.Lock()
	received := svc.Received
	svc.Mu.Unlock()
	if received != 0 {
		t.Fatalf("the service saw %d uploads while all three were held", received)
	}

	close(release)
	wg.Wait()
	if codes[0] != http.StatusOK || codes[1] != http.StatusOK {
		t.Fatalf("the uploads holding the memory ended %v", codes)
	}
	if resp, msg := upload(bytes.NewReader(photo)); resp == nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the refused upload tried again: %v %q", status(resp), msg)
	}
	want := proxytest.EncryptedWith(t, p, photo)
	svc.Mu.Lock()
	defer svc.Mu.Unlock()
	if svc.Received != 3 {
		t.Fatalf("the service received %d uploads, want 3", svc.Received)
	}
	for _, stored := range svc.Objects {
		proxytest.CheckStored(t, "buffered upload", stored, photo, want)
	}
}

func status(resp *http.Response) string {
	if resp == nil {
		return "no response"
	}
	return resp.Status
}
