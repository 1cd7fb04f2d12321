package google_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/ledger"
)

// googleRules are the Google Photos presets of config.example.yaml,
// without the download rule's service: Google's resized copies pass.
const googleRules = `  - name: google-photos-library-upload
    hosts: [photoslibrary.googleapis.com]
    methods: [POST]
    paths: ["/v1/uploads"]
    body: resumable
    resumable: google
  - name: google-photos-web-upload
    hosts: [photos.google.com]
    paths: ["/_/upload/uploadmedia/**"]
    body: resumable
    resumable: google
  - name: google-photos-download
    hosts: [lh3.googleusercontent.com]
    paths: ["/**"]
    body: download
`

func startGoogle(t *testing.T, extra string) (*fakes.Google, *proxytest.Proxy) {
	t.Helper()
	f := fakes.NewGoogle(t)
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, fakes.GoogleHosts, googleRules, extra), nil)
	return f, p
}

// gClient speaks Google's upload protocol through the proxy, as the
// Library API clients do.
type gClient struct {
	t *testing.T
	c *http.Client
}

func (g gClient) req(method, u string, body io.Reader, hdr map[string]string) *http.Request {
	req := proxytest.NewReq(g.t, method, u, body)
	req.Header.Set("Authorization", "Bearer ya29.test-token")
	if strings.Contains(u, "photos.google.com") {
		req.Header.Set("Cookie", "SID=test")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

func (g gClient) start(base string, size int, body string) string {
	g.t.Helper()
	hdr := map[string]string{
		"X-Goog-Upload-Protocol":     "resumable",
		"X-Goog-Upload-Command":      "start",
		"X-Goog-Upload-Content-Type": "image/jpeg",
		"X-Goog-Upload-Raw-Size":     strconv.Itoa(size),
	}
	if body != "" {
		delete(hdr, "X-Goog-Upload-Raw-Size")
		hdr["X-Goog-Upload-Header-Content-Length"] = strconv.Itoa(size)
		hdr["Content-Type"] = "application/x-www-form-urlencoded;charset=utf-8"
	}
	resp, msg := proxytest.MustDo(g.t, g.c, g.req("POST", base, strings.NewReader(body), hdr))
	loc := resp.Header.Get("X-Goog-Upload-URL")
	if resp.StatusCode != 200 || loc == "" {
		g.t.Fatalf("start: %s %q", resp.Status, msg)
	}
	return loc
}

func (g gClient) chunk(loc string, off int, b []byte, cmd string, hdr map[string]string) (*http.Response, string) {
	g.t.Helper()
	h := map[string]string{"X-Goog-Upload-Command": cmd, "X-Goog-Upload-Offset": strconv.Itoa(off)}
	for k, v := range hdr {
		h[k] = v
	}
	resp, msg := proxytest.MustDo(g.t, g.c, g.req("POST", loc, bytes.NewReader(b), h))
	return resp, string(msg)
}

func (g gClient) query(loc string) (status string, received int) {
	g.t.Helper()
	resp, msg := proxytest.MustDo(g.t, g.c, g.req("POST", loc, nil, map[string]string{"X-Goog-Upload-Command": "query"}))
	n, err := strconv.Atoi(resp.Header.Get("X-Goog-Upload-Size-Received"))
	if resp.StatusCode != 200 || err != nil {
		g.t.Fatalf("query: %s %q", resp.Status, msg)
	}
	return resp.Header.Get("X-Goog-Upload-Status"), n
}

func (g gClient) mediaItem(token string) string {
	g.t.Helper()
	body := fmt.Sprintf(`{"newMediaItems":[{"simpleMediaItem":{"uploadToken":%q,"fileName":"photo.jpg"}}]}`, token)
	req := g.req("POST", "https://photoslibrary.googleapis.com/v1/mediaItems:batchCreate", strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
	resp, msg := proxytest.MustDo(g.t, g.c, req)
	var out struct {
		NewMediaItemResults []struct {
			MediaItem struct{ BaseURL string }
		}
	}
	if err := json.Unmarshal(msg, &out); resp.StatusCode != 200 || err != nil || len(out.NewMediaItemResults) != 1 || out.NewMediaItemResults[0].MediaItem.BaseURL == "" {
		g.t.Fatalf("batchCreate: %s %q", resp.Status, msg)
	}
	return out.NewMediaItemResults[0].MediaItem.BaseURL
}

// checkGoogleDownloads downloads the media item through the proxy (whole,
// ranged, and a server-rendered size) and directly.
func checkGoogleDownloads(t *testing.T, f *fakes.Google, p *proxytest.Proxy, baseURL string, photo, want []byte, ranges bool) {
	t.Helper()
	g := gClient{t: t, c: p.Client}
	_, got := proxytest.MustDo(t, p.Client, g.req("GET", baseURL+"=d", nil, nil))
	if !bytes.Equal(got, photo) {
		t.Fatal("the download through the proxy is not the original photo")
	}
	if ranges {
		proxytest.CheckRanges(t, p.Client, baseURL+"=d", photo, nil)
	}
	direct := proxytest.DirectClient(t, f.Srv.Listener.Addr().String(), f.CA)
	_, raw := proxytest.MustDo(t, direct, proxytest.NewReq(t, "GET", baseURL+"=d", nil))
	proxytest.CheckStored(t, "direct download", raw, photo, want)
	// A copy the service rendered from the ciphertext is no photo of ours:
	// it passes unchanged.
	_, viaProxy := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", baseURL+"=w200-h200", nil))
	_, viaDirect := proxytest.MustDo(t, direct, proxytest.NewReq(t, "GET", baseURL+"=w200-h200", nil))
	if len(viaDirect) == 0 || !bytes.Equal(viaProxy, viaDirect) {
		t.Fatal("a server-rendered copy was changed by the proxy")
	}
}

// TestGoogleResumableUpload uploads a photo in four requests of the Library
// API's resumable protocol, breaks off in the third and resumes after a
// query; the service gets the ciphertext, in chunks of its granularity.
func TestGoogleResumableUpload(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/phone-12mp-q92.jpg")
	f, p := startGoogle(t, "")
	want := proxytest.EncryptedWith(t, p, photo)
	f.Guard.Add("photo", photo)
	g := gClient{t: t, c: p.Client}

	loc := g.start("https://photoslibrary.googleapis.com/v1/uploads", len(photo), "")
	const cs = 2 * fakes.GoogleGranularity
	chunks := [][]byte{photo[:cs], photo[cs : 2*cs], photo[2*cs : 3*cs], photo[3*cs:]}
	for _, c := range chunks {
		f.Guard.Add("chunk", c)
	}
	for i, c := range chunks[:2] {
		resp, msg := g.chunk(loc, i*cs, c, "upload", nil)
		if resp.StatusCode != 200 || resp.Header.Get("X-Goog-Upload-Status") != "active" {
			t.Fatalf("chunk %d: %s %q", i, resp.Status, msg)
		}
	}
	if st, n := g.query(loc); st != "active" || n != 2*cs {
		t.Fatalf("query after two chunks: %s %d, want active %d", st, n, 2*cs)
	}

	breakAndResume(t, g, p, loc, chunks[2], 2*cs)
	// The last chunk carries hashes of itself (Content-MD5) and of the
	// whole file (X-Goog-Hash).
	resp, token := g.chunk(loc, 3*cs, chunks[3], "upload, finalize", map[string]string{
		"X-Goog-Hash": proxytest.GoogHash(photo),
		"Content-MD5": proxytest.ContentMD5(chunks[3]),
	})
	if resp.StatusCode != 200 || resp.Header.Get("X-Goog-Upload-Status") != "final" || token == "" {
		t.Fatalf("finalize: %s %q", resp.Status, token)
	}
	// The client did not see that answer and finalizes again: the proxy
	// has closed the session and asks the service, which says final.
	resp, again := g.chunk(loc, 3*cs, chunks[3], "upload, finalize", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Goog-Upload-Status") != "final" || again != token {
		t.Fatalf("repeated finalize: %s %q", resp.Status, again)
	}
	u := f.Upload1(loc)
	proxytest.CheckStored(t, "resumable upload", u.Data, photo, want)
	if !u.HashFinal {
		t.Fatal("the service got no X-Goog-Hash on the finalize")
	}
	checkChunkLengths(t, f)
	if n := p.Server.Uploads(); n != 0 {
		t.Fatalf("%d sessions left after the upload", n)
	}
	// Ranges at several offsets are checked with a smaller photo in
	// TestGoogleRawUpload.
	checkGoogleDownloads(t, f, p, g.mediaItem(token), photo, want, false)
	proxytest.CheckRecorded(t, p, want, ledger.ServiceRef{Service: "google", ID: loc})
}

// TestGoogleResumableUpstreamFailures makes the service fail forwards: once
// losing the chunk, once losing only the answer. The proxy keeps the
// bytes, the client queries and goes on, and the next forward first asks
// the service what it has.
//
// The service announces a granularity of 64 KiB here, so that a small photo
// makes several forwards.
func TestGoogleResumableUpstreamFailures(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/retina-q92-optimized.jpg")
	for _, tc := range []struct {
		name string
		fail []string // per upstream chunk request: "", "drop" or "store"
	}{
		{"chunk lost", []string{"", "drop"}},
		{"answer lost", []string{"", "store"}},
		{"finalize lost", []string{"", "", "drop"}},
		{"finalize answer lost", []string{"", "", "store"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, p := startGoogle(t, "")
			f.Mu.Lock()
			f.Gran = 65536
			f.FailNext = tc.fail
			f.Mu.Unlock()
			want := proxytest.EncryptedWith(t, p, photo)
			f.Guard.Add("photo", photo)
			g := gClient{t: t, c: p.Client}
			loc := g.start("https://photoslibrary.googleapis.com/v1/uploads", len(photo), "")
			const cs = 65536
			off, failures, token := 0, 0, ""
			for token == "" {
				end := min(off+cs, len(photo))
				cmd := "upload"
				if end == len(photo) {
					cmd = "upload, finalize"
				}
				resp, msg := g.chunk(loc, off, photo[off:end], cmd, nil)
				switch {
				case resp.StatusCode == http.StatusServiceUnavailable:
					failures++
					st, n := g.query(loc)
					if st != "active" {
						t.Fatalf("query after a failure: %s", st)
					}
					off = n
				case resp.StatusCode == 200 && cmd == "upload":
					off = end
				case resp.StatusCode == 200 && resp.Header.Get("X-Goog-Upload-Status") == "final":
					token = msg
				default:
					t.Fatalf("chunk at %d: %s %q", off, resp.Status, msg)
				}
			}
			if failures != 1 {
				t.Fatalf("%d failed chunks, want 1", failures)
			}
			proxytest.CheckStored(t, "upload after a failure", f.Upload1(loc).Data, photo, want)
			checkGoogleDownloads(t, f, p, g.mediaItem(token), photo, want, false)
		})
	}
}

// TestGoogleRawUpload is the Library API's single-request upload with a
// hash of the body.
func TestGoogleRawUpload(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/astronaut-q95-444.jpg")
	f, p := startGoogle(t, "")
	want := proxytest.EncryptedWith(t, p, photo)
	f.Guard.Add("photo", photo)
	g := gClient{t: t, c: p.Client}
	resp, token := proxytest.MustDo(t, p.Client, g.req("POST", "https://photoslibrary.googleapis.com/v1/uploads", bytes.NewReader(photo), map[string]string{
		"X-Goog-Upload-Protocol":     "raw",
		"X-Goog-Upload-Content-Type": "image/jpeg",
		"Content-Type":               "application/octet-stream",
		"X-Goog-Hash":                proxytest.GoogHash(photo),
		"Content-MD5":                proxytest.ContentMD5(photo),
	}))
	if resp.StatusCode != 200 {
		t.Fatalf("raw upload: %s %q", resp.Status, token)
	}
	checkGoogleDownloads(t, f, p, g.mediaItem(string(token)), photo, want, true)
	proxytest.CheckRecorded(t, p, want, ledger.ServiceRef{Service: "google", ID: "upload-token:" + string(token)})
}

// TestGoogleWebUpload is the web app's flow: JSON metadata in the start
// request, the whole file in one "upload, finalize".
func TestGoogleWebUpload(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/motorcycle-q88-progressive-restart1b.jpg")
	f, p := startGoogle(t, "")
	want := proxytest.EncryptedWith(t, p, photo)
	f.Guard.Add("photo", photo)
	g := gClient{t: t, c: p.Client}
	meta := fmt.Sprintf(`{"protocolVersion":"0.8","createSessionRequest":{"fields":[{"external":{"name":"file","filename":"m.jpg","size":%d}}]}}`, len(photo))
	loc := g.start("https://photos.google.com/_/upload/uploadmedia/interactive?authuser=0", len(photo), meta)
	if !strings.HasPrefix(loc, "https://photos.google.com/_/upload/uploadmedia/interactive?") {
		t.Fatalf("upload URL %s", loc)
	}
	resp, token := g.chunk(loc, 0, photo, "upload, finalize", nil)
	if resp.StatusCode != 200 || token == "" {
		t.Fatalf("upload: %s %q", resp.Status, token)
	}
	proxytest.CheckStored(t, "web upload", f.Upload1(loc).Data, photo, want)
}

// TestGoogleResumableRefusals: what cannot be encrypted is refused before it
// goes up, and a session the proxy lost is not continued.
func TestGoogleResumableRefusals(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	f, p := startGoogle(t, "limits: {max_sessions: 2, hash_buffer: 1MiB}\n")
	g := gClient{t: t, c: p.Client}
	base := "https://photoslibrary.googleapis.com/v1/uploads"

	heic := append([]byte("\x00\x00\x00\x18ftypheic"), bytes.Repeat([]byte{7}, 300000)...)
	loc := g.start(base, len(heic), "")
	resp, msg := g.chunk(loc, 0, heic[:fakes.GoogleGranularity], "upload", nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "HEIC/HEIF files are not supported") {
		t.Fatalf("HEIC chunk: %s %q", resp.Status, msg)
	}
	if len(f.Lens()) != 0 {
		t.Fatal("a refused upload reached the service")
	}

	big := bytes.Repeat(photo, 30)
	loc = g.start(base, len(big), "")
	resp, msg = g.chunk(loc, 0, big, "upload, finalize", nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "limits.hash_buffer") {
		t.Fatalf("chunk above hash_buffer: %s %q", resp.Status, msg)
	}

	// max_sessions is 2: a third start drops the least recently used.
	l1 := g.start(base, len(photo), "")
	l2 := g.start(base, len(photo), "")
	l3 := g.start(base, len(photo), "")
	if n := p.Server.Uploads(); n != 2 {
		t.Fatalf("%d sessions, want 2", n)
	}
	resp, msg = g.chunk(l1, 0, photo, "upload, finalize", nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "not known to jpegveil") {
		t.Fatalf("chunk of an evicted session: %s %q", resp.Status, msg)
	}
	if resp, msg = g.chunk(l2, 0, photo, "upload, finalize", nil); resp.StatusCode != 200 {
		t.Fatalf("upload 2: %s %q", resp.Status, msg)
	}
	// Sessions expire after session_ttl.
	p.Clock.Advance(25 * time.Hour)
	resp, msg = g.chunk(l3, 0, photo, "upload, finalize", nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "not known to jpegveil") {
		t.Fatalf("chunk of an expired session: %s %q", resp.Status, msg)
	}
}

// breakAndResume sends chunk at off broken off half-way, checks that the
// upload resumes at off, that a chunk elsewhere is refused, and resumes
// with chunk, twice (the repeat is answered from the session).
func breakAndResume(t *testing.T, g gClient, p *proxytest.Proxy, loc string, chunk []byte, off int) {
	t.Helper()
	// The chunk breaks off half-way.
	req := g.req("POST", loc, &proxytest.BrokenBody{R: bytes.NewReader(chunk[:len(chunk)/2])},
		map[string]string{"X-Goog-Upload-Command": "upload", "X-Goog-Upload-Offset": strconv.Itoa(off)})
	req.ContentLength = int64(len(chunk))
	if resp, err := p.Client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a broken chunk was answered %s", resp.Status)
	}
	// The client asks where to resume, and resumes there.
	if st, n := g.query(loc); st != "active" || n != off {
		t.Fatalf("query after the break: %s %d, want active %d", st, n, off)
	}
	// A chunk at another offset is refused: the proxy cannot go back.
	resp, msg := g.chunk(loc, off-len(chunk), chunk, "upload", nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "continues at offset") {
		t.Fatalf("chunk at a wrong offset: %s %q", resp.Status, msg)
	}
	resp, msg = g.chunk(loc, off, chunk, "upload", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("resumed chunk: %s %q", resp.Status, msg)
	}
	// A repeat of the last chunk (the client did not see the answer) is
	// answered from the session.
	resp, msg = g.chunk(loc, off, chunk, "upload", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Goog-Upload-Status") != "active" {
		t.Fatalf("repeated chunk: %s %q", resp.Status, msg)
	}
}

// checkChunkLengths checks that every upstream chunk but the last is a
// whole multiple of the granularity.
func checkChunkLengths(t *testing.T, f *fakes.Google) {
	t.Helper()
	lens := f.Lens()
	t.Logf("upstream chunk lengths %v", lens)
	if len(lens) < 3 {
		t.Fatalf("the service got %d chunk requests, want at least 3", len(lens))
	}
	for i, n := range lens[:len(lens)-1] {
		if n == 0 || n%fakes.GoogleGranularity != 0 {
			t.Fatalf("upstream chunk %d has %d bytes", i, n)
		}
	}
}
