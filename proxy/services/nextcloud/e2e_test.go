package nextcloud_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"hash/adler32"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// nextcloudRules are the Nextcloud presets of config.example.yaml, for the
// host cloud.test.
const nextcloudRules = `  - name: nextcloud-upload
    hosts: [cloud.test]
    methods: [PUT]
    paths: ["/remote.php/dav/files/**"]
    body: raw
  - name: nextcloud-chunked-upload
    hosts: [cloud.test]
    methods: [MKCOL, PUT, MOVE, DELETE, PROPFIND]
    paths: ["/remote.php/dav/uploads/**"]
    body: resumable
    resumable: nextcloud
  - name: nextcloud-download
    hosts: [cloud.test]
    methods: [GET]
    paths: ["/remote.php/dav/files/**"]
    body: download
`

const ncBase = "https://cloud.test/remote.php/dav/"

func startNextcloud(t testing.TB) (*fakes.Nextcloud, *proxytest.Proxy) {
	t.Helper()
	f := fakes.NewNextcloud(t)
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"cloud.test"}, nextcloudRules, ""), nil)
	return f, p
}

func davDo(t *testing.T, c *http.Client, method, path string, body []byte, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req := proxytest.NewReq(t, method, ncBase+path, bytes.NewReader(body))
	if body == nil {
		req.Body = http.NoBody
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, msg := proxytest.MustDo(t, c, req)
	return resp, string(msg)
}

func ocSHA1(b []byte) string {
	s := sha1.Sum(b)
	return "SHA1:" + hex.EncodeToString(s[:])
}

// checkNextcloudDownloads reads the file back through the proxy, whole and
// ranged, and directly.
func checkNextcloudDownloads(t *testing.T, f *fakes.Nextcloud, p *proxytest.Proxy, rel string, photo, want []byte) {
	t.Helper()
	resp, got := davDo(t, p.Client, "GET", "files/"+rel, nil, nil)
	if resp.StatusCode != 200 || got != string(photo) {
		t.Fatalf("download through the proxy: %s, original: %v", resp.Status, got == string(photo))
	}
	proxytest.CheckRanges(t, p.Client, ncBase+"files/"+rel, photo, nil)
	direct := proxytest.DirectClient(t, f.Srv.Listener.Addr().String(), f.CA)
	_, raw := proxytest.MustDo(t, direct, proxytest.NewReq(t, "GET", ncBase+"files/"+rel, nil))
	proxytest.CheckStored(t, "direct download", raw, photo, want)
}

// TestNextcloudPut is a plain WebDAV upload with a checksum, as the desktop
// client and rclone send small files.
func TestNextcloudPut(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/retina-q92-optimized.jpg")
	f, p := startNextcloud(t)
	want := proxytest.EncryptedWith(t, p, photo)
	f.Guard.Add("photo", photo)
	if resp, msg := davDo(t, p.Client, "MKCOL", "files/alice/Photos", nil, nil); resp.StatusCode != 201 {
		t.Fatalf("MKCOL: %s %q", resp.Status, msg)
	}
	resp, msg := davDo(t, p.Client, "PUT", "files/alice/Photos/r.jpg", photo, map[string]string{
		"OC-Checksum": ocSHA1(photo) + " ADLER32:" + fmt.Sprintf("%x", adler(photo)),
		"X-OC-Mtime":  "1700000000",
	})
	if resp.StatusCode != 201 {
		t.Fatalf("PUT: %s %q", resp.Status, msg)
	}
	fl := f.File("alice/Photos/r.jpg")
	proxytest.CheckStored(t, "PUT", fl.Data, photo, want)
	if !strings.HasPrefix(fl.Checksum, ocSHA1(want)+" ADLER32:") {
		t.Fatalf("stored checksum %q is not that of the ciphertext", fl.Checksum)
	}
	checkNextcloudDownloads(t, f, p, "alice/Photos/r.jpg", photo, want)
	proxytest.CheckRecorded(t, p, want, ledger.ServiceRef{Service: "nextcloud", ID: "/remote.php/dav/files/alice/Photos/r.jpg"})
}

// TestNextcloudChunkedV2 uploads with chunked upload v2 (numbered chunks,
// Destination on every request), with a client that breaks off in a chunk
// and one that repeats a chunk, then assembles.
func TestNextcloudChunkedV2(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/hubble-q85-progressive.jpg")
	f, p := startNextcloud(t)
	f.SetMinChunk(40000) // as with object storage, scaled down
	want := proxytest.EncryptedWith(t, p, photo)
	f.Guard.Add("photo", photo)
	davDo(t, p.Client, "MKCOL", "files/alice/Photos", nil, nil)
	dest := ncBase + "files/alice/Photos/hubble.jpg"
	folder := "uploads/alice/web-file-upload-8f3a2c"
	hdr := map[string]string{"Destination": dest, "OC-Total-Length": strconv.Itoa(len(photo))}
	if resp, msg := davDo(t, p.Client, "MKCOL", folder, nil, hdr); resp.StatusCode != 201 {
		t.Fatalf("MKCOL: %s %q", resp.Status, msg)
	}
	const cs = 50000
	var chunks [][]byte
	for off := 0; off < len(photo); off += cs {
		chunks = append(chunks, photo[off:min(off+cs, len(photo))])
		f.Guard.Add("chunk", chunks[len(chunks)-1])
	}
	for i, c := range chunks {
		name := fmt.Sprintf("%05d", i+1)
		if i == 1 {
			breakChunk(t, p, folder+"/"+name, dest, c)
		}
		h := map[string]string{"Destination": dest, "OC-Total-Length": strconv.Itoa(len(photo))}
		if i == 2 {
			h["OC-Checksum"] = ocSHA1(c)
		}
		resp, msg := davDo(t, p.Client, "PUT", folder+"/"+name, c, h)
		if resp.StatusCode != 201 {
			t.Fatalf("chunk %s: %s %q", name, resp.Status, msg)
		}
		if i == 0 {
			// A repeat, as after a lost answer.
			if resp, msg := davDo(t, p.Client, "PUT", folder+"/"+name, c, h); resp.StatusCode/100 != 2 {
				t.Fatalf("repeated chunk: %s %q", resp.Status, msg)
			}
		}
		if i == 2 {
			// Going back to an earlier chunk is refused: the proxy
			// cannot rewind the encryption.
			resp, msg := davDo(t, p.Client, "PUT", folder+"/00002", chunks[1], h)
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "cannot go back") {
				t.Fatalf("an earlier chunk again: %s %q", resp.Status, msg)
			}
		}
		// A listing of the upload folder cannot be used to resume.
		if i == 1 {
			resp, msg := davDo(t, p.Client, "PROPFIND", folder, nil, map[string]string{"Depth": "1"})
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "cannot be resumed") {
				t.Fatalf("PROPFIND of the upload folder: %s %q", resp.Status, msg)
			}
		}
	}
	resp, msg := davDo(t, p.Client, "MOVE", folder+"/.file", nil, map[string]string{
		"Destination":     dest,
		"OC-Total-Length": strconv.Itoa(len(photo)),
		"OC-Checksum":     ocSHA1(photo),
		"X-OC-Mtime":      "1700000000",
	})
	if resp.StatusCode != 201 {
		t.Fatalf("MOVE: %s %q", resp.Status, msg)
	}
	fl := f.File("alice/Photos/hubble.jpg")
	proxytest.CheckStored(t, "chunked v2", fl.Data, photo, want)
	if fl.Checksum != ocSHA1(want) {
		t.Fatalf("stored checksum %q, want the ciphertext's", fl.Checksum)
	}
	// The last chunk holds the end of the image, so nothing was held back
	// for a tail chunk.
	wantPuts := []string{"00001", "00002", "00003", "00004"}
	if got := dedupe(f.Puts()); strings.Join(got, ",") != strings.Join(wantPuts, ",") {
		t.Fatalf("upstream chunks %v, want %v", got, wantPuts)
	}
	checkNextcloudDownloads(t, f, p, "alice/Photos/hubble.jpg", photo, want)
	proxytest.CheckRecorded(t, p, want, ledger.ServiceRef{Service: "nextcloud", ID: "/remote.php/dav/files/alice/Photos/hubble.jpg"})
}

// breakChunk PUTs half of chunk c and breaks off.
func breakChunk(t *testing.T, p *proxytest.Proxy, path, dest string, c []byte) {
	t.Helper()
	req := proxytest.NewReq(t, "PUT", ncBase+path, &proxytest.BrokenBody{R: bytes.NewReader(c[:len(c)/2])})
	req.ContentLength = int64(len(c))
	req.Header.Set("Destination", dest)
	if resp, err := p.Client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a broken chunk was answered %s", resp.Status)
	}
}

func adler(b []byte) uint32 { return adler32.Checksum(b) }

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

// TestNextcloudChunkedByteRanges is chunked upload v1 as rclone does it:
// the folder is created with a trailing slash and without Destination,
// chunks are named by their byte range. The proxy renames them to the
// ranges it sends.
func TestNextcloudChunkedByteRanges(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/retina-q92-optimized.jpg")
	f, p := startNextcloud(t)
	want := proxytest.EncryptedWith(t, p, photo)
	f.Guard.Add("photo", photo)
	davDo(t, p.Client, "MKCOL", "files/alice/Photos", nil, nil)
	folder := "uploads/alice/rclone-chunked-upload-0123456789abcdef"
	if resp, _ := davDo(t, p.Client, "DELETE", folder+"/", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("purge of a missing folder: %s", resp.Status)
	}
	if resp, msg := davDo(t, p.Client, "MKCOL", folder+"/", nil, nil); resp.StatusCode != 201 {
		t.Fatalf("MKCOL: %s %q", resp.Status, msg)
	}
	const cs = 60000
	for off := 0; off < len(photo); off += cs {
		end := min(off+cs, len(photo))
		name := fmt.Sprintf("%015d-%015d", off, end-1)
		f.Guard.Add("chunk", photo[off:end])
		resp, msg := davDo(t, p.Client, "PUT", folder+"/"+name, photo[off:end], map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if resp.StatusCode != 201 {
			t.Fatalf("chunk %s: %s %q", name, resp.Status, msg)
		}
		if off == 0 {
			// A chunk that does not start where the last one ended.
			bad := fmt.Sprintf("%015d-%015d", off+cs+1, end+cs)
			resp, msg := davDo(t, p.Client, "PUT", folder+"/"+bad, photo[off+cs+1:end+cs+1], nil)
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "expects the next chunk to start at byte 60000") {
				t.Fatalf("chunk at a wrong offset: %s %q", resp.Status, msg)
			}
		}
	}
	resp, msg := davDo(t, p.Client, "MOVE", folder+"/.file", nil, map[string]string{
		"Destination": ncBase + "files/alice/Photos/retina.jpg",
		"OC-Checksum": ocSHA1(photo),
		"X-OC-Mtime":  "1700000000",
	})
	if resp.StatusCode != 201 {
		t.Fatalf("MOVE: %s %q", resp.Status, msg)
	}
	fl := f.File("alice/Photos/retina.jpg")
	proxytest.CheckStored(t, "chunked v1", fl.Data, photo, want)
	// The upstream chunks are named by the ranges they hold, contiguous.
	next := int64(0)
	puts := f.Puts()
	for _, n := range puts {
		a, b, _ := strings.Cut(n, "-")
		start, _ := strconv.ParseInt(a, 10, 64)
		end, _ := strconv.ParseInt(b, 10, 64)
		if len(a) != 15 || len(b) != 15 || start != next || end < start {
			t.Fatalf("upstream chunk names %v are not contiguous ranges", puts)
		}
		next = end + 1
	}
	if next != int64(len(photo)) || len(puts) != 4 {
		t.Fatalf("upstream chunks %v", puts)
	}
	checkNextcloudDownloads(t, f, p, "alice/Photos/retina.jpg", photo, want)
}

// TestNextcloudChunkedTail uploads a photo whose end the proxy can only
// encrypt once it knows the file ended (it is truncated, and the rule
// passes what it cannot encrypt): the held-back end goes up as one more
// chunk before the MOVE. With the block policy the MOVE is refused.
func TestNextcloudChunkedTail(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/coffee-q95-420-optimized.jpg")
	photo = photo[:len(photo)-3000]
	for _, tc := range []struct {
		name, policy string
		v1           bool   // byte-range names, no Destination on the chunks
		puts         string // upstream chunks, the tail last
	}{
		{"pass", "pass", false, "1,2,3,4"},
		{"pass-v1", "pass", true, ""},
		{"block", "block", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fakes.NewNextcloud(t)
			rules := strings.Replace(nextcloudRules, "    resumable: nextcloud\n", "    resumable: nextcloud\n    on_unsupported: "+tc.policy+"\n", 1)
			p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"cloud.test"}, rules, ""), nil)
			var want bytes.Buffer
			if _, err := veil.Encrypt(p.Key, &want, bytes.NewReader(photo)); err == nil {
				t.Fatal("the truncated photo encrypted without an error")
			}
			f.Guard.Add("photo", photo)
			davDo(t, p.Client, "MKCOL", "files/alice/Photos", nil, nil)
			dest := ncBase + "files/alice/Photos/t.jpg"
			folder := "uploads/alice/web-file-upload-tail"
			hdr := map[string]string{"Destination": dest}
			if tc.v1 {
				hdr = nil
			}
			davDo(t, p.Client, "MKCOL", folder, nil, hdr)
			const cs = 40000
			for i := 0; i*cs < len(photo); i++ {
				end := min((i+1)*cs, len(photo))
				c := photo[i*cs : end]
				name := strconv.Itoa(i + 1)
				if tc.v1 {
					name = fmt.Sprintf("%06d-%06d", i*cs, end-1)
				}
				f.Guard.Add("chunk", c)
				if resp, msg := davDo(t, p.Client, "PUT", folder+"/"+name, c, hdr); resp.StatusCode != 201 {
					t.Fatalf("chunk %s: %s %q", name, resp.Status, msg)
				}
			}
			resp, msg := davDo(t, p.Client, "MOVE", folder+"/.file", nil, map[string]string{"Destination": dest, "OC-Total-Length": strconv.Itoa(len(photo))})
			if tc.policy == "block" {
				if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "corrupt JPEG") {
					t.Fatalf("MOVE of a truncated photo: %s %q", resp.Status, msg)
				}
				if f.File("alice/Photos/t.jpg") != nil {
					t.Fatal("a refused upload was assembled")
				}
				return
			}
			if resp.StatusCode != 201 {
				t.Fatalf("MOVE: %s %q", resp.Status, msg)
			}
			puts := f.Puts()
			if !tc.v1 && strings.Join(puts, ",") != tc.puts {
				t.Fatalf("upstream chunks %v, want %s (the tail last)", puts, tc.puts)
			}
			if tc.v1 {
				next := 0
				for _, n := range puts {
					var a, b int
					if _, err := fmt.Sscanf(n, "%06d-%06d", &a, &b); err != nil || len(n) != 13 || a != next || b < a {
						t.Fatalf("upstream chunks %v are not contiguous ranges", puts)
					}
					next = b + 1
				}
				if len(puts) != 4 || next != len(photo) {
					t.Fatalf("upstream chunks %v: want 3 and the tail, up to %d", puts, len(photo))
				}
			}
			proxytest.CheckStored(t, "chunked upload with a tail", f.File("alice/Photos/t.jpg").Data, photo, want.Bytes())
		})
	}
}

// TestNextcloudChunkUpstreamFailure: a chunk the server does not take stays
// in the session; the proxy refuses to go on without it, and the client's
// retry of that chunk sends the same bytes again.
func TestNextcloudChunkUpstreamFailure(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	f, p := startNextcloud(t)
	f.Mu.Lock()
	f.FailPuts = []string{"", "fail"}
	f.Mu.Unlock()
	want := proxytest.EncryptedWith(t, p, photo)
	f.Guard.Add("photo", photo)
	davDo(t, p.Client, "MKCOL", "files/alice/Photos", nil, nil)
	dest := ncBase + "files/alice/Photos/c.jpg"
	folder := "uploads/alice/retry"
	hdr := map[string]string{"Destination": dest}
	davDo(t, p.Client, "MKCOL", folder, nil, hdr)
	const cs = 16384
	put := func(i int) (*http.Response, string) {
		return davDo(t, p.Client, "PUT", fmt.Sprintf("%s/%d", folder, i+1), photo[i*cs:min((i+1)*cs, len(photo))], hdr)
	}
	if resp, msg := put(0); resp.StatusCode != 201 {
		t.Fatalf("chunk 1: %s %q", resp.Status, msg)
	}
	if resp, _ := put(1); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("chunk 2: %s, want the server's 503", resp.Status)
	}
	if resp, msg := put(2); resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "did not reach the server") {
		t.Fatalf("chunk 3 before chunk 2 is in: %s %q", resp.Status, msg)
	}
	for i := 1; i*cs < len(photo); i++ {
		if resp, msg := put(i); resp.StatusCode != 201 {
			t.Fatalf("chunk %d: %s %q", i+1, resp.Status, msg)
		}
	}
	if resp, msg := davDo(t, p.Client, "MOVE", folder+"/.file", nil, hdr); resp.StatusCode != 201 {
		t.Fatalf("MOVE: %s %q", resp.Status, msg)
	}
	proxytest.CheckStored(t, "upload after a failed chunk", f.File("alice/Photos/c.jpg").Data, photo, want)
}

// TestNextcloudDownloadCheck: a file the server recompressed is known as
// ours by its path when it is downloaded, and counted as lost.
func TestNextcloudDownloadCheck(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/retina-q92-optimized.jpg")
	f, p := startNextcloud(t)
	f.Keeping = fakes.Recompresses
	davDo(t, p.Client, "MKCOL", "files/alice/Photos", nil, nil)
	if resp, msg := davDo(t, p.Client, "PUT", "files/alice/Photos/r.jpg", photo, nil); resp.StatusCode != 201 {
		t.Fatalf("PUT: %s %q", resp.Status, msg)
	}
	resp, _ := davDo(t, p.Client, "GET", "files/alice/Photos/r.jpg", nil, nil)
	if resp.Header.Get("X-Jpegveil-Lost") != "true" {
		t.Errorf("a recompressed file was served without a warning: %s %v", resp.Status, resp.Header)
	}
	if lost, _ := p.Server.Losses(); lost != 1 {
		t.Errorf("Losses() lost = %d, want 1", lost)
	}
}
