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
	"jpegveil/internal/phonefiles"
	"jpegveil/internal/proxytest"
)

// budgetYAML gives room for two 1.8 MB uploads held whole, not three.
const budgetYAML = "limits: {hash_buffer: 2MiB, buffer_memory: 4MiB, buffer_wait: 300ms}\n"

// hashedUpload sends body with Content-MD5 of photo, which makes the proxy
// hold it whole.
func hashedUpload(t *testing.T, p *proxytest.Proxy, photo []byte, body io.Reader) (*http.Response, []byte) {
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

// holdBudget starts two hashed uploads of photo that hold their memory
// until the returned function is called, which waits for them to end
// stored.
func holdBudget(t *testing.T, p *proxytest.Proxy, photo []byte) (finish func()) {
	release := make(chan struct{})
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, _ := hashedUpload(t, p, photo, &proxytest.HeldBody{R: bytes.NewReader(photo), Head: 64 << 10, Release: release}); resp != nil {
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
	return func() {
		close(release)
		wg.Wait()
		if codes[0] != http.StatusOK || codes[1] != http.StatusOK {
			t.Fatalf("the uploads holding the memory ended %v", codes)
		}
	}
}

// checkBusy checks a 503 for memory.
func checkBusy(t *testing.T, what string, resp *http.Response, msg []byte, svc *fakes.Photos, received int) {
	t.Helper()
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("%s beyond limits.buffer_memory: %v %q, want 503", what, status(resp), msg)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs <= 0 {
		t.Fatalf("503 with Retry-After %q", resp.Header.Get("Retry-After"))
	}
	svc.Mu.Lock()
	defer svc.Mu.Unlock()
	if svc.Received != received {
		t.Fatalf("the service received %d uploads, want %d", svc.Received, received)
	}
}

// TestBufferedUploadsShareOneMemoryBudget: uploads held in memory for a
// hash header share limits.buffer_memory. While two of them hold it, a
// third waits limits.buffer_wait and then gets 503 with Retry-After,
// before anything of it reaches the service; the two finish, and the third
// goes through when tried again. Nothing is lost.
func TestBufferedUploadsShareOneMemoryBudget(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/phone-12mp-q92.jpg") // 1.8 MB
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, budgetYAML), nil)
	finish := holdBudget(t, p, photo)
	resp, msg := hashedUpload(t, p, photo, bytes.NewReader(photo))
	checkBusy(t, "a third buffered upload", resp, msg, svc, 0)
	finish()
	if resp, msg := hashedUpload(t, p, photo, bytes.NewReader(photo)); resp == nil || resp.StatusCode != http.StatusOK {
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

// TestHeldVideoCountsInMemoryBudget: a streaming upload whose transformer
// holds a motion photo's video until the body ends takes that memory from
// limits.buffer_memory too; without it the upload gets 503 and goes
// through when tried again.
func TestHeldVideoCountsInMemoryBudget(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/phone-12mp-q92.jpg")
	motion := phonefiles.PixelMotion(phonefiles.NewParts(1024, 768, 1500<<10, 23), 0)
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, budgetYAML), nil)
	finish := holdBudget(t, p, photo)
	resp, msg := upload(t, p.Client, motion)
	checkBusy(t, "a motion photo's held video", resp, []byte(msg), svc, 0)
	finish()
	resp, id := upload(t, p.Client, motion)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the motion photo tried again: %s %q", resp.Status, id)
	}
	want, _ := proxytest.EncryptedPhone(t, p, motion)
	svc.Mu.Lock()
	defer svc.Mu.Unlock()
	proxytest.CheckStored(t, "motion photo", svc.Objects[id], motion, want)
}

func status(resp *http.Response) string {
	if resp == nil {
		return "no response"
	}
	return resp.Status
}
