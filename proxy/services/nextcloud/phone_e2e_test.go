package nextcloud_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/phonefiles"
	"jpegveil/internal/proxytest"
)

// ncChunked uploads photo as a chunked upload v2 in chunks of cs bytes and
// returns the answer to the first request that was not a success, or to
// the MOVE.
func ncChunked(t *testing.T, p *proxytest.Proxy, name string, photo []byte, cs int) (*http.Response, string) {
	t.Helper()
	dest := ncBase + "files/alice/Photos/" + name
	folder := "uploads/alice/web-file-upload-" + name
	hdr := map[string]string{"Destination": dest, "OC-Total-Length": strconv.Itoa(len(photo))}
	if resp, msg := davDo(t, p.Client, "MKCOL", folder, nil, hdr); resp.StatusCode != 201 {
		t.Fatalf("MKCOL: %s %q", resp.Status, msg)
	}
	for i, off := 1, 0; off < len(photo); i, off = i+1, off+cs {
		resp, msg := davDo(t, p.Client, "PUT", fmt.Sprintf("%s/%05d", folder, i), photo[off:min(off+cs, len(photo))], hdr)
		if resp.StatusCode != 201 {
			return resp, msg
		}
	}
	hdr["OC-Checksum"] = ocSHA1(photo)
	return davDo(t, p.Client, "MOVE", folder+"/.file", nil, hdr)
}

// TestNextcloudChunkedPhoneFiles: a phone file in chunks, the video's held
// back until the upload is assembled and sent as one more chunk, within
// limits.hash_buffer; a video larger than that is refused at the chunk
// that would pass the limit, before any of it goes up.
func TestNextcloudChunkedPhoneFiles(t *testing.T) {
	t.Parallel()
	f, p := startNextcloud(t)
	f.SetMinChunk(40000)
	davDo(t, p.Client, "MKCOL", "files/alice/Photos", nil, nil)
	for _, pf := range proxytest.PhoneFiles(t, 480, 360, 300<<10)[:6] {
		t.Run(pf.Name, func(t *testing.T) {
			photo := pf.Data
			want, _ := proxytest.EncryptedPhone(t, p, photo)
			f.Guard.Add(pf.Name, photo)
			resp, msg := ncChunked(t, p, pf.Name+".jpg", photo, 50000)
			if resp.StatusCode != 201 {
				t.Fatalf("upload: %s %q", resp.Status, msg)
			}
			fl := f.File("alice/Photos/" + pf.Name + ".jpg")
			proxytest.CheckStored(t, "chunked v2", fl.Data, photo, want)
			checkNextcloudDownloads(t, f, p, "alice/Photos/"+pf.Name+".jpg", photo, want)
		})
	}

	g, small := fakes.NewNextcloud(t), (*proxytest.Proxy)(nil)
	small = proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), g.Srv.Listener.Addr().String(), g.CA, []string{"cloud.test"}, nextcloudRules, "limits: {hash_buffer: 256KiB}\n"), nil)
	davDo(t, small.Client, "MKCOL", "files/alice/Photos", nil, nil)
	photo := phonefiles.PixelMotion(phonefiles.NewParts(480, 360, 400<<10, 9), 8)
	resp, msg := ncChunked(t, small, "big.jpg", photo, 50000)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "limits.hash_buffer") {
		t.Fatalf("a video above hash_buffer: %s %q", resp.Status, msg)
	}
}

// TestNextcloudHEICRefused: a HEIC photo is refused with what to do about
// it, as a plain PUT and as a chunked upload.
func TestNextcloudHEICRefused(t *testing.T) {
	t.Parallel()
	f, p := startNextcloud(t)
	davDo(t, p.Client, "MKCOL", "files/alice/Photos", nil, nil)
	heic := phonefiles.HEIC()
	resp, msg := davDo(t, p.Client, "PUT", "files/alice/Photos/IMG_0001.HEIC", heic, nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "Most Compatible") {
		t.Errorf("PUT: %s %q", resp.Status, msg)
	}
	resp, msg = ncChunked(t, p, "IMG_0002.HEIC", heic, 4096)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "Most Compatible") {
		t.Errorf("chunked: %s %q", resp.Status, msg)
	}
	if f.File("alice/Photos/IMG_0001.HEIC") != nil || f.File("alice/Photos/IMG_0002.HEIC") != nil {
		t.Fatal("a refused upload was stored")
	}
}
