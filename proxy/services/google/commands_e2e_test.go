package google_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestGoogleStartCarriesNoData: a start request never takes data of the
// file to the service, nor a hash of it; a start with JSON metadata (and a
// hash of that metadata) still goes through.
func TestGoogleStartCarriesNoData(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	f, p := startGoogle(t, "")
	f.Guard.Add("photo", photo)
	g := gClient{t: t, c: p.Client}
	base := "https://photoslibrary.googleapis.com/v1/uploads"
	start := map[string]string{
		"X-Goog-Upload-Protocol":     "resumable",
		"X-Goog-Upload-Command":      "start",
		"X-Goog-Upload-Content-Type": "image/jpeg",
		"X-Goog-Upload-Raw-Size":     strconv.Itoa(len(photo)),
	}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{}
		for k, v := range start {
			h[k] = v
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		body []byte
		want string
	}{
		{"start+upload+finalize", with(map[string]string{"X-Goog-Upload-Command": "start, upload, finalize"}), photo, "starts an upload and sends its data"},
		{"start+upload without body", with(map[string]string{"X-Goog-Upload-Command": "start, upload"}), nil, "starts an upload and sends its data"},
		{"start with the photo as body", start, photo, "not JSON metadata"},
		{"start with an unknown command", with(map[string]string{"X-Goog-Upload-Command": "start, frobnicate"}), nil, "unknown X-Goog-Upload-Command"},
		{"file MD5 ahead", with(map[string]string{"X-Goog-Upload-Header-Content-MD5": proxytest.ContentMD5(photo)}), nil, "X-Goog-Upload-Header-Content-MD5"},
		{"file X-Goog-Hash ahead", with(map[string]string{"X-Goog-Upload-Header-X-Goog-Hash": proxytest.GoogHash(photo)}), nil, "X-Goog-Upload-Header-X-Goog-Hash"},
		{"file digest ahead", with(map[string]string{"X-Goog-Upload-Header-Digest": "sha-256=abc"}), nil, "X-Goog-Upload-Header-Digest"},
		{"X-Goog-Hash of the file on the start", with(map[string]string{"X-Goog-Hash": proxytest.GoogHash(photo)}), nil, "cannot tell what it covers"},
		{"Content-MD5 of the file on the start", with(map[string]string{"Content-MD5": proxytest.ContentMD5(photo)}), nil, "cannot tell what it covers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.UpstreamRequests()
			resp, msg := proxytest.MustDo(t, p.Client, g.req("POST", base, bytes.NewReader(tc.body), tc.hdr))
			if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Jpegveil-Refused") != "true" || !strings.Contains(string(msg), tc.want) {
				t.Fatalf("%s %q, want 502 with %q", resp.Status, msg, tc.want)
			}
			if n := f.UpstreamRequests() - before; n != 0 {
				t.Fatalf("%d requests reached the service", n)
			}
		})
	}
	f.Mu.Lock()
	n := len(f.Uploads) + len(f.Tokens)
	f.Mu.Unlock()
	if n != 0 || p.Server.Uploads() != 0 {
		t.Fatalf("refused starts left %d uploads at the service, %d sessions", n, p.Server.Uploads())
	}

	// The web app's start: JSON metadata, here with a hash of it.
	meta := `{"protocolVersion":"0.8","createSessionRequest":{"fields":[{"external":{"name":"file","filename":"c.jpg","size":` + strconv.Itoa(len(photo)) + `}}]}}`
	resp, msg := proxytest.MustDo(t, p.Client, g.req("POST", "https://photos.google.com/_/upload/uploadmedia/interactive", strings.NewReader(meta), map[string]string{
		"X-Goog-Upload-Protocol":              "resumable",
		"X-Goog-Upload-Command":               "start",
		"X-Goog-Upload-Header-Content-Length": strconv.Itoa(len(photo)),
		"X-Goog-Upload-Header-Content-Type":   "image/jpeg",
		"Content-Type":                        "application/x-www-form-urlencoded;charset=utf-8",
		"Content-MD5":                         proxytest.ContentMD5([]byte(meta)),
	}))
	loc := resp.Header.Get("X-Goog-Upload-URL")
	if resp.StatusCode != 200 || loc == "" {
		t.Fatalf("web start with metadata: %s %q", resp.Status, msg)
	}
	resp, token := g.chunk(loc, 0, photo, "upload, finalize", nil)
	if resp.StatusCode != 200 || token == "" {
		t.Fatalf("upload after the web start: %s %q", resp.Status, token)
	}
	proxytest.CheckStored(t, "web upload", f.Upload1(loc).Data, photo, proxytest.EncryptedWith(t, p, photo))
}

// TestGoogleStartDataPassPolicy: with on_unsupported pass, a start that
// carries data is the user's choice to let through unchanged.
func TestGoogleStartDataPassPolicy(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	rules := strings.Replace(googleRules, "    resumable: google\n", "    resumable: google\n    on_unsupported: pass\n", 1)
	f := fakes.NewGoogle(t)
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, fakes.GoogleHosts, rules, ""), nil)
	g := gClient{t: t, c: p.Client}
	before := f.UpstreamRequests()
	resp, msg := proxytest.MustDo(t, p.Client, g.req("POST", "https://photoslibrary.googleapis.com/v1/uploads", bytes.NewReader(photo), map[string]string{
		"X-Goog-Upload-Protocol": "resumable",
		"X-Goog-Upload-Command":  "start, upload, finalize",
	}))
	if resp.Header.Get("X-Jpegveil-Refused") != "" || f.UpstreamRequests() != before+1 {
		t.Fatalf("with on_unsupported pass the start was not forwarded: %s %q", resp.Status, msg)
	}
}

// TestGoogleQueryCancelBody: a query or a cancel carries no body to the
// service, with or without a session.
func TestGoogleQueryCancelBody(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	f, p := startGoogle(t, "")
	g := gClient{t: t, c: p.Client}
	loc := g.start("https://photoslibrary.googleapis.com/v1/uploads", len(photo), "")
	unknown := "https://photoslibrary.googleapis.com/v1/uploads?upload_id=0123456789abcdef&upload_protocol=resumable"
	chunked := func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) } // no length: chunked
	for _, tc := range []struct {
		name, url, cmd string
		body           io.Reader
	}{
		{"query", loc, "query", bytes.NewReader(photo)},
		{"query chunked", loc, "query", chunked(photo[:10])},
		{"query without session", unknown, "query", bytes.NewReader(photo)},
		{"cancel", loc, "cancel", bytes.NewReader(photo)},
		{"upload+cancel", loc, "upload, cancel", chunked(photo)},
		{"cancel without session", unknown, "cancel", chunked(photo)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.UpstreamRequests()
			req := g.req("POST", tc.url, tc.body, map[string]string{"X-Goog-Upload-Command": tc.cmd})
			resp, msg := proxytest.MustDo(t, p.Client, req)
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(msg), "with a body") {
				t.Fatalf("%s %q, want 502", resp.Status, msg)
			}
			if n := f.UpstreamRequests() - before; n != 0 {
				t.Fatalf("%d requests reached the service", n)
			}
			if p.Server.Uploads() != 1 {
				t.Fatal("the refused request dropped the session")
			}
		})
	}
	// An empty chunked body is no body.
	req := g.req("POST", loc, chunked(nil), map[string]string{"X-Goog-Upload-Command": "query"})
	req.ContentLength = -1
	if resp, msg := proxytest.MustDo(t, p.Client, req); resp.StatusCode != 200 || resp.Header.Get("X-Goog-Upload-Status") != "active" {
		t.Fatalf("query with an empty chunked body: %s %q", resp.Status, msg)
	}
	resp, msg := proxytest.MustDo(t, p.Client, g.req("POST", loc, nil, map[string]string{"X-Goog-Upload-Command": "cancel"}))
	if resp.StatusCode != 200 || resp.Header.Get("X-Goog-Upload-Status") != "cancelled" {
		t.Fatalf("cancel: %s %q", resp.Status, msg)
	}
	if p.Server.Uploads() != 0 || f.Upload1(loc).Status != "cancelled" {
		t.Fatal("the cancel did not end the upload")
	}
}

// TestGoogleUnsureDeadUpload: after a forward failed, the service ends the
// upload (cancelled, or forgotten: expired). The client's next query, or
// its next chunk, gets a clear refusal and the session is dropped, instead
// of "active" from the session and 503 on every chunk after.
func TestGoogleUnsureDeadUpload(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/retina-q92-optimized.jpg")
	const cs = 3 * 65536
	for _, tc := range []struct {
		name   string
		kill   func(u *fakes.GoogleUpload, f *fakes.Google, id string)
		next   string // "query" or "chunk"
		status string // X-Goog-Upload-Status of the refusal
		want   string
	}{
		{"cancelled then query", func(u *fakes.GoogleUpload, _ *fakes.Google, _ string) { u.Status = "cancelled" }, "query", "cancelled", "reports this upload as cancelled"},
		{"expired then query", func(_ *fakes.GoogleUpload, f *fakes.Google, id string) { delete(f.Uploads, id) }, "query", "", "no longer knows this upload"},
		{"cancelled then chunk", func(u *fakes.GoogleUpload, _ *fakes.Google, _ string) { u.Status = "cancelled" }, "chunk", "cancelled", "reports this upload as cancelled"},
		{"expired then chunk", func(_ *fakes.GoogleUpload, f *fakes.Google, id string) { delete(f.Uploads, id) }, "chunk", "", "no longer knows this upload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, p := startGoogle(t, "")
			f.Mu.Lock()
			f.Gran = 65536
			f.FailNext = []string{"drop"}
			f.Mu.Unlock()
			g := gClient{t: t, c: p.Client}
			loc := g.start("https://photoslibrary.googleapis.com/v1/uploads", len(photo), "")
			resp, msg := g.chunk(loc, 0, photo[:cs], "upload", nil)
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("first chunk: %s %q, want 503 (the forward fails)", resp.Status, msg)
			}
			f.Mu.Lock()
			id := loc[strings.Index(loc, "upload_id=")+len("upload_id="):]
			id, _, _ = strings.Cut(id, "&")
			tc.kill(f.Uploads[id], f, id)
			f.Mu.Unlock()

			if tc.next == "query" {
				resp, msg = mustDoString(t, p.Client, g.req("POST", loc, nil, map[string]string{"X-Goog-Upload-Command": "query"}))
			} else {
				resp, msg = g.chunk(loc, cs, photo[cs:], "upload, finalize", nil)
			}
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, tc.want) || resp.Header.Get("X-Goog-Upload-Status") != tc.status {
				t.Fatalf("%s after the service ended the upload: %s (status %q) %q, want 502 (status %q) %q",
					tc.next, resp.Status, resp.Header.Get("X-Goog-Upload-Status"), msg, tc.status, tc.want)
			}
			if n := p.Server.Uploads(); n != 0 {
				t.Fatalf("%d sessions left", n)
			}
			// The session is gone: a query now gets the service's answer.
			resp, msg = mustDoString(t, p.Client, g.req("POST", loc, nil, map[string]string{"X-Goog-Upload-Command": "query"}))
			if resp.StatusCode == 200 && resp.Header.Get("X-Goog-Upload-Status") == "active" {
				t.Fatalf("query of the dead upload: %s %q", resp.Status, msg)
			}
		})
	}
}

// TestGoogleUnsureQueryResyncs: a query after a failed forward asks the
// service, so the count it answers is right even when the service lost
// bytes the proxy had sent, and a failure to ask is a 503, not a guess.
func TestGoogleUnsureQueryResyncs(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/retina-q92-optimized.jpg")
	f, p := startGoogle(t, "")
	f.Mu.Lock()
	f.Gran = 65536
	f.FailNext = []string{"store"} // the service keeps the bytes, the answer is lost
	f.Mu.Unlock()
	g := gClient{t: t, c: p.Client}
	loc := g.start("https://photoslibrary.googleapis.com/v1/uploads", len(photo), "")
	const cs = 3 * 65536
	if resp, msg := g.chunk(loc, 0, photo[:cs], "upload", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("first chunk: %s %q", resp.Status, msg)
	}
	before := f.UpstreamRequests()
	if st, n := g.query(loc); st != "active" || n != cs {
		t.Fatalf("query: %s %d, want active %d", st, n, cs)
	}
	if f.UpstreamRequests() != before+1 {
		t.Fatal("the query after a failed forward did not ask the service")
	}
	// Now sure: the next query is answered from the session.
	if st, n := g.query(loc); st != "active" || n != cs || f.UpstreamRequests() != before+1 {
		t.Fatalf("second query: %s %d", st, n)
	}
	resp, token := g.chunk(loc, cs, photo[cs:], "upload, finalize", nil)
	if resp.StatusCode != 200 || token == "" {
		t.Fatalf("finalize: %s %q", resp.Status, token)
	}
	proxytest.CheckStored(t, "upload after a resync", f.Upload1(loc).Data, photo, proxytest.EncryptedWith(t, p, photo))
}

func mustDoString(t testing.TB, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, b := proxytest.MustDo(t, c, req)
	return resp, string(b)
}
