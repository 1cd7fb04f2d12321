package proxy_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/proxy"
)

// oddPhotos is Photos with downloads that behave as some services do:
// ranges capped to a length, Range ignored with a chunked 200, hash headers
// of the stored bytes.
type oddPhotos struct {
	*fakes.Photos

	omu         sync.Mutex
	capLen      int64    // a 206 holds at most capLen bytes (0: no cap)
	ignoreRange bool     // every download is a 200 without Content-Length
	hashes      bool     // Content-MD5 and X-Goog-Hash of the stored bytes
	wholeETag   string   // the ETag of an answer without Range ("": "v1")
	ranges      []string // the Range header of every download, in order
}

func newOddPhotos(t testing.TB) *oddPhotos {
	o := &oddPhotos{Photos: &fakes.Photos{Objects: map[string][]byte{}}}
	o.Srv, o.CAFile = fakes.NewTLSServer(t, "photos.test", http.HandlerFunc(o.handle))
	return o
}

func (o *oddPhotos) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/objects/") {
		o.Photos.Handler(w, r)
		return
	}
	o.Photos.Mu.Lock()
	b, ok := o.Objects[strings.TrimPrefix(r.URL.Path, "/objects/")]
	o.Photos.Mu.Unlock()
	o.omu.Lock()
	o.ranges = append(o.ranges, r.Header.Get("Range"))
	capLen, ignore, hashes := o.capLen, o.ignoreRange, o.hashes
	o.omu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("ETag", `"v1"`)
	if o.wholeETag != "" && r.Header.Get("Range") == "" {
		h.Set("ETag", o.wholeETag) // the file changed since the prefix
	}
	if hashes {
		h.Set("Content-MD5", proxytest.ContentMD5(b))
		h.Set("X-Goog-Hash", proxytest.GoogHash(b))
	}
	// The proxy asks for ranges as a prefix, bytes=0-end.
	var start, end int64
	_, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &start, &end)
	ranged := err == nil
	switch {
	case ignore:
		w.WriteHeader(http.StatusOK)
		w.Write(b[:len(b)/2])
		w.(http.Flusher).Flush() // no Content-Length: chunked
		w.Write(b[len(b)/2:])
	case capLen > 0 && ranged:
		n := int64(len(b))
		if end >= n {
			end = n - 1
		}
		end = min(end, start+capLen-1)
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, n))
		h.Set("Content-Length", strconv.FormatInt(end-start+1, 10))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(b[start : end+1])
	default:
		http.ServeContent(w, r, "photo.jpg", time.Time{}, bytes.NewReader(b))
	}
}

func (o *oddPhotos) seenRanges() []string {
	o.omu.Lock()
	defer o.omu.Unlock()
	r := o.ranges
	o.ranges = nil
	return r
}

// startOdd starts the fake and the proxy and uploads photo through it: the
// service holds its ciphertext, the ledger knows it.
func startOdd(t *testing.T, photo []byte) (*oddPhotos, *proxytest.Proxy, string) {
	t.Helper()
	o := newOddPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), o.Srv.Listener.Addr().String(), []string{o.CAFile}, ""), nil)
	resp, id := upload(t, p.Client, photo)
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %s %s", resp.Status, id)
	}
	if stored := o.Objects[id]; len(stored) != len(photo) || bytes.Equal(stored, photo) {
		t.Fatal("the upload was not stored encrypted")
	}
	return o, p, id
}

// TestDownloadCappedRange: a service that answers the proxy's range from
// byte 0 with a shorter 206 than asked (it caps the length of a range). The
// proxy fetches the whole file and the client gets exactly its slice,
// correctly decrypted, never a slice whose last bytes were decrypted from a
// cut chunk, nor one shorter than its Content-Length.
func TestDownloadCappedRange(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/retina-q92-optimized.jpg")
	o, p, id := startOdd(t, photo)
	const capLen = 100000
	o.omu.Lock()
	o.capLen = capLen
	o.omu.Unlock()
	u := "https://photos.test/objects/" + id
	n := len(photo)
	for _, tc := range []struct {
		start, end int
		refetch    bool
	}{
		{1000, 2000, false},                 // the prefix with its margin fits in the cap
		{50000, 60000, true},                // the range fits, its margin does not
		{capLen - 4100, capLen - 100, true}, // the cut falls just past the range
		{capLen - 10, capLen + 10, true},    // the range crosses the cut
		{150000, 160000, true},              // the range starts past the cut
		{n - 5000, n + 100, true},           // past the end of the file
	} {
		t.Run(fmt.Sprintf("%d-%d", tc.start, tc.end), func(t *testing.T) {
			req := proxytest.NewReq(t, "GET", u, nil)
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", tc.start, tc.end))
			o.seenRanges()
			resp, got := proxytest.MustDo(t, p.Client, req)
			end := min(tc.end, n-1)
			want := fmt.Sprintf("bytes %d-%d/%d", tc.start, end, n)
			if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != want {
				t.Fatalf("%s Content-Range %q, want 206 %q", resp.Status, resp.Header.Get("Content-Range"), want)
			}
			if resp.ContentLength != int64(end-tc.start+1) || !bytes.Equal(got, photo[tc.start:end+1]) {
				t.Fatalf("wrong slice: %d bytes, Content-Length %d", len(got), resp.ContentLength)
			}
			seen := o.seenRanges()
			if tc.refetch && (len(seen) != 2 || seen[1] != "") || !tc.refetch && len(seen) != 1 {
				t.Fatalf("the service saw the ranges %q", seen)
			}
		})
	}
}

// TestDownloadRangeIgnoredChunked: a service that ignores Range and answers
// a 200 without Content-Length. The client gets the whole decrypted file
// (RFC 9110 lets a server ignore Range), not a broken connection.
func TestDownloadRangeIgnoredChunked(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/coffee-q95-420-optimized.jpg")
	o, p, id := startOdd(t, photo)
	o.omu.Lock()
	o.ignoreRange = true
	o.omu.Unlock()
	for _, rng := range []string{"bytes=100-200", "bytes=-100", "bytes=5000-"} {
		req := proxytest.NewReq(t, "GET", "https://photos.test/objects/"+id, nil)
		req.Header.Set("Range", rng)
		resp, got := proxytest.MustDo(t, p.Client, req)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, photo) {
			t.Fatalf("%s: %s, %d bytes, want 200 with the whole photo", rng, resp.Status, len(got))
		}
	}
}

// TestDownloadHashHeaders: a decrypted download does not carry the hashes
// of the ciphertext (Content-MD5, X-Goog-Hash); a download the proxy does
// not change keeps them. Content-Length and ETag are kept.
func TestDownloadHashHeaders(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/astronaut-q95-444.jpg")
	o, p, id := startOdd(t, photo)
	o.omu.Lock()
	o.hashes = true
	o.omu.Unlock()
	stranger := fakes.CorpusFile(t, "photos/chelsea-q90-422.jpg")
	video := append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), bytes.Repeat([]byte{9}, 300000)...)
	// A JPEG whose image data starts past the pre-read: whether it is
	// decrypted is not known when the headers go, so its hashes go too.
	late := lateJPEG(stranger, 300<<10)
	o.Photos.Mu.Lock()
	o.Objects["stranger"] = stranger
	o.Objects["video"] = video
	o.Objects["late"] = late
	o.Photos.Mu.Unlock()

	get := func(name, rng string) (*http.Response, []byte) {
		req := proxytest.NewReq(t, "GET", "https://photos.test/objects/"+name, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		return proxytest.MustDo(t, p.Client, req)
	}
	for _, tc := range []struct {
		name     string
		want     []byte
		keepsMD5 bool
	}{
		{id, photo, false},
		{"stranger", stranger, true},
		{"video", video, true},
		{"late", late, false},
	} {
		resp, got := get(tc.name, "")
		if resp.StatusCode != 200 || !bytes.Equal(got, tc.want) || resp.ContentLength != int64(len(tc.want)) {
			t.Fatalf("%s: %s, %d bytes (Content-Length %d), want the %d bytes", tc.name, resp.Status, len(got), resp.ContentLength, len(tc.want))
		}
		if resp.Header.Get("ETag") != `"v1"` {
			t.Fatalf("%s: ETag %q", tc.name, resp.Header.Get("ETag"))
		}
		md5, gh := resp.Header.Get("Content-MD5"), resp.Header.Get("X-Goog-Hash")
		if tc.keepsMD5 {
			if md5 != proxytest.ContentMD5(got) || gh != proxytest.GoogHash(got) {
				t.Fatalf("%s: an unchanged download lost its hashes (Content-MD5 %q, X-Goog-Hash %q)", tc.name, md5, gh)
			}
		} else if md5 != "" || gh != "" {
			t.Fatalf("%s: a decrypted download kept the ciphertext's hashes (Content-MD5 %q, X-Goog-Hash %q)", tc.name, md5, gh)
		}
	}
	// A slice is not the body the service hashed: no Content-MD5. The
	// stranger's X-Goog-Hash is of the whole object and stays.
	resp, got := get(id, "bytes=100-5000")
	if resp.StatusCode != 206 || !bytes.Equal(got, photo[100:5001]) || resp.Header.Get("Content-MD5") != "" || resp.Header.Get("X-Goog-Hash") != "" {
		t.Fatalf("ranged decrypted download: %s, headers %v", resp.Status, resp.Header)
	}
	resp, got = get("stranger", "bytes=100-5000")
	if resp.StatusCode != 206 || !bytes.Equal(got, stranger[100:5001]) || resp.Header.Get("Content-MD5") != "" || resp.Header.Get("X-Goog-Hash") != proxytest.GoogHash(stranger) {
		t.Fatalf("ranged unchanged download: %s, headers %v", resp.Status, resp.Header)
	}
}

// lateJPEG returns jpg with APP15 segments of n bytes in all inserted
// after its SOI.
func lateJPEG(jpg []byte, n int) []byte {
	out := append([]byte(nil), jpg[:2]...)
	for n > 0 {
		l := min(n, 65000)
		var seg [4]byte
		seg[0], seg[1] = 0xFF, 0xEF
		binary.BigEndian.PutUint16(seg[2:], uint16(l+2))
		out = append(out, seg[:]...)
		out = append(out, bytes.Repeat([]byte{'x'}, l)...)
		n -= l
	}
	return append(out, jpg[2:]...)
}

// TestDownloadRangeNotJPEG: a ranged download of a file that is no JPEG (a
// video on a download route) is asked for again with the client's own
// range once the proxy sees it cannot be decrypted, instead of being read
// from byte 0 (for an open or suffix range, the whole file) and sliced.
func TestDownloadRangeNotJPEG(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	o, p, _ := startOdd(t, photo)
	video := append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), make([]byte, 400000)...)
	for i := range video[24:] {
		video[24+i] = byte(i * 7)
	}
	o.Photos.Mu.Lock()
	o.Objects["video"] = video
	o.Photos.Mu.Unlock()
	n := len(video)
	for _, tc := range []struct {
		rng        string
		start, end int
		first      string // the proxy's first request
	}{
		{"bytes=300000-300099", 300000, 300099, fmt.Sprintf("bytes=0-%d", 300099+proxy.RangeMargin)},
		{"bytes=-100", n - 100, n - 1, ""},
		{"bytes=350000-", 350000, n - 1, ""},
	} {
		o.seenRanges()
		req := proxytest.NewReq(t, "GET", "https://photos.test/objects/video", nil)
		req.Header.Set("Range", tc.rng)
		resp, got := proxytest.MustDo(t, p.Client, req)
		want := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, n)
		if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != want || !bytes.Equal(got, video[tc.start:tc.end+1]) {
			t.Fatalf("%s: %s %q, %d bytes", tc.rng, resp.Status, resp.Header.Get("Content-Range"), len(got))
		}
		if seen := o.seenRanges(); len(seen) != 2 || seen[0] != tc.first || seen[1] != tc.rng {
			t.Fatalf("%s: the service saw the ranges %q", tc.rng, seen)
		}
	}
}
