package proxy_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"jpegveil/internal/phonefiles"
	"jpegveil/internal/proxytest"
)

// TestDownloadRangeReachingTrailer: a range of a motion photo is served
// from a prefix of the file while it stays before the video; one that
// reaches the video is read from the whole file (the video's items are
// planned from the end of the file), and never from another version of it.
func TestDownloadRangeReachingTrailer(t *testing.T) {
	t.Parallel()
	photo := phonefiles.PixelMotion(phonefiles.NewParts(640, 480, 300<<10, 5), 8)
	o, p, id := startOdd(t, photo)
	_, res := proxytest.EncryptedPhone(t, p, photo)
	at, n := int(res.TrailerOffset), len(photo)
	if at <= 100000 {
		t.Fatalf("trailer at %d: the primary image is too small for this test", at)
	}
	u := "https://photos.test/objects/" + id
	for _, tc := range []struct {
		start, end int
		whole      bool
	}{
		{1000, 2000, false},
		{at - 80000, at - 70000, false}, // the prefix with its margin stays before the video
		{at - 1000, at - 1, false},      // its margin reaches the video, but no byte of it is wanted
		{at - 1000, at + 1000, true},
		{at + 5000, at + 90000, true},
		{at + 5000, n - 100000, true},
		{n - 100, n - 1, false}, // the prefix with its margin is the whole file
	} {
		t.Run(fmt.Sprintf("%d-%d", tc.start, tc.end), func(t *testing.T) {
			o.seenRanges()
			req := proxytest.NewReq(t, "GET", u, nil)
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", tc.start, tc.end))
			resp, got := proxytest.MustDo(t, p.Client, req)
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, photo[tc.start:tc.end+1]) {
				t.Fatalf("%s: wrong slice (%d bytes)", resp.Status, len(got))
			}
			seen := o.seenRanges()
			fetchedWhole := len(seen) == 2 && seen[1] == ""
			if len(seen) < 1 || seen[0] == "" || fetchedWhole != tc.whole || len(seen) > 2 {
				t.Fatalf("the service saw ranges %q; want a prefix, then the whole file: %v", seen, tc.whole)
			}
		})
	}

	// The file changed between the prefix and the whole file: the client
	// gets a broken body rather than bytes of two versions.
	o.omu.Lock()
	o.wholeETag = `"v2"`
	o.omu.Unlock()
	req := proxytest.NewReq(t, "GET", u, nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", at-10, at+5000))
	resp, err := p.Client.Do(req)
	if err == nil {
		var buf bytes.Buffer
		_, err = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if err == nil && bytes.Equal(buf.Bytes(), photo[at-10:at+5001]) {
			t.Fatal("a range was served across two versions of the file")
		}
	}
}
