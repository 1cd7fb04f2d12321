package google_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/phonefiles"
	"jpegveil/internal/proxytest"
)

// webUpload uploads photo as the web app does (JSON metadata in the start,
// the whole file in one "upload, finalize") and returns the upload URL and
// the service's answer.
func webUpload(g gClient, photo []byte) (string, *http.Response, string) {
	meta := fmt.Sprintf(`{"protocolVersion":"0.8","createSessionRequest":{"fields":[{"external":{"name":"file","filename":"PXL.jpg","size":%d}}]}}`, len(photo))
	loc := g.start("https://photos.google.com/_/upload/uploadmedia/interactive?authuser=0", len(photo), meta)
	resp, msg := g.chunk(loc, 0, photo, "upload, finalize", nil)
	return loc, resp, msg
}

// chunkedUpload uploads photo through the Library API's resumable protocol
// in chunks of one granularity each and returns the upload URL and token.
func chunkedUpload(t *testing.T, g gClient, photo []byte) (string, string) {
	t.Helper()
	loc := g.start("https://photoslibrary.googleapis.com/v1/uploads", len(photo), "")
	const cs = fakes.GoogleGranularity
	for off := 0; ; off += cs {
		if off+cs >= len(photo) {
			resp, token := g.chunk(loc, off, photo[off:], "upload, finalize", nil)
			if resp.StatusCode != 200 || token == "" {
				t.Fatalf("finalize at %d: %s %q", off, resp.Status, token)
			}
			return loc, token
		}
		resp, msg := g.chunk(loc, off, photo[off:off+cs], "upload", nil)
		if resp.StatusCode != 200 || resp.Header.Get("X-Goog-Upload-Status") != "active" {
			t.Fatalf("chunk at %d: %s %q", off, resp.Status, msg)
		}
		if st, n := g.query(loc); st != "active" || n != off+cs {
			t.Fatalf("query after the chunk at %d: %s %d", off, st, n)
		}
	}
}

// TestGooglePhoneFiles uploads every kind of phone file through the web
// app's route, through the Library API in several chunks and in a single
// request: the service
// stores veil's ciphertext, and every download through the proxy, whole or
// ranged (ranges reaching the motion clip included), is the original.
func TestGooglePhoneFiles(t *testing.T) {
	t.Parallel()
	f, p := startGoogle(t, "")
	for _, pf := range proxytest.PhoneFiles(t, 640, 480, 700<<10) {
		t.Run(strings.ReplaceAll(pf.Name, "/", "_"), func(t *testing.T) {
			photo := pf.Data
			want, res := proxytest.EncryptedPhone(t, p, photo)
			f.Guard.Add(pf.Name, photo)
			g := gClient{t: t, c: p.Client}

			loc, resp, token := webUpload(g, photo)
			if resp.StatusCode != 200 || token == "" {
				t.Fatalf("web upload: %s %q", resp.Status, token)
			}
			proxytest.CheckStored(t, "web upload", f.Upload1(loc).Data, photo, want)

			loc, token = chunkedUpload(t, g, photo)
			proxytest.CheckStored(t, "chunked upload", f.Upload1(loc).Data, photo, want)

			// The Library API's single request, with hashes of the file.
			resp, raw := proxytest.MustDo(t, p.Client, g.req("POST", "https://photoslibrary.googleapis.com/v1/uploads", bytes.NewReader(photo), map[string]string{
				"X-Goog-Upload-Protocol": "raw", "Content-Type": "application/octet-stream",
				"X-Goog-Hash": proxytest.GoogHash(photo),
			}))
			if resp.StatusCode != 200 {
				t.Fatalf("raw upload: %s %q", resp.Status, raw)
			}
			f.Mu.Lock()
			stored := f.Tokens[string(raw)]
			f.Mu.Unlock()
			proxytest.CheckStored(t, "raw upload", stored, photo, want)

			base := g.mediaItem(token)
			checkGoogleDownloads(t, f, p, base, photo, want, true)
			if res.TrailerOffset >= 0 {
				proxytest.CheckRangeCases(t, p.Client, base+"=d", photo, nil, proxytest.RangeCasesAround(len(photo), int(res.TrailerOffset)))
			}
		})
	}
}

// TestGooglePhoneRefusals: a HEIC photo is refused on every upload route,
// with what to do about it, and so is a file with data after the image
// that no layout declares.
func TestGooglePhoneRefusals(t *testing.T) {
	t.Parallel()
	f, p := startGoogle(t, "")
	g := gClient{t: t, c: p.Client}
	heic := phonefiles.HEIC()
	check := func(route string, resp *http.Response, msg string) {
		t.Helper()
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "HEIC") || !strings.Contains(msg, "Most Compatible") {
			t.Errorf("%s: %s %q, want 502 with the iPhone setting", route, resp.Status, msg)
		}
	}
	_, resp, msg := webUpload(g, heic)
	check("web upload", resp, msg)
	loc := g.start("https://photoslibrary.googleapis.com/v1/uploads", len(heic), "")
	resp, msg = g.chunk(loc, 0, heic, "upload", nil)
	check("resumable chunk", resp, msg)
	resp, body := proxytest.MustDo(t, p.Client, g.req("POST", "https://photoslibrary.googleapis.com/v1/uploads", bytes.NewReader(heic), map[string]string{
		"X-Goog-Upload-Protocol": "raw", "Content-Type": "application/octet-stream",
	}))
	check("raw upload", resp, string(body))
	// Data after the image that no layout explains (here: a clip without
	// any XMP or Samsung trailer that declares it) is refused too.
	parts := phonefiles.NewParts(64, 48, 4096, 3)
	unexplained := append(phonefiles.JPEG(64, 48, 3), parts.Video...)
	_, resp, msg = webUpload(g, unexplained)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "neither a motion photo's video nor another item jpegveil knows") {
		t.Errorf("unexplained trailer: %s %q", resp.Status, msg)
	}
	if len(f.Lens()) != 0 || len(f.Tokens) != 0 {
		t.Fatal("a refused upload reached the service")
	}
}

// TestGoogleChunkedVideoAboveLimit: the video of a motion photo is held
// until the upload is finalized, within limits.hash_buffer; a chunk that
// would take the proxy past it is refused, and none of the video has gone
// up.
func TestGoogleChunkedVideoAboveLimit(t *testing.T) {
	t.Parallel()
	f, p := startGoogle(t, "limits: {hash_buffer: 512KiB}\n")
	g := gClient{t: t, c: p.Client}
	photo := phonefiles.PixelMotion(phonefiles.NewParts(480, 360, 900<<10, 11), 8)
	_, res := proxytest.EncryptedPhone(t, p, photo)
	loc := g.start("https://photoslibrary.googleapis.com/v1/uploads", len(photo), "")
	const cs = fakes.GoogleGranularity
	var resp *http.Response
	var msg string
	off := 0
	for ; off+cs < len(photo); off += cs {
		if resp, msg = g.chunk(loc, off, photo[off:off+cs], "upload", nil); resp.StatusCode != 200 {
			break
		}
	}
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "limits.hash_buffer") {
		t.Fatalf("chunk at %d: %s %q", off, resp.Status, msg)
	}
	if got := int64(len(f.Upload1(loc).Data)); got > res.TrailerOffset {
		t.Fatalf("the service has %d bytes; the video starts at %d", got, res.TrailerOffset)
	}
}
