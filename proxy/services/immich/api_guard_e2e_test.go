package immich_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestImmichAPIRouteNeverPassesPlaintext: on the api rule, a photo under a
// JSON label or a compressed body is refused, and a JSON body under
// another label still has its checksums translated. The fake's guard
// fails the test if the photo or any hash of it reaches the server.
func TestImmichAPIRouteNeverPassesPlaintext(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/chelsea-q90-422.jpg")
	s := startImmichPreviews(t, "")
	s.f.Guard.Add("photo", photo)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(photo)
	zw.Close()
	for _, tc := range []struct {
		name, path, contentType, encoding string
		body                              []byte
	}{
		{"JPEG labelled JSON", "/api/assets", "application/json", "", photo},
		{"JPEG labelled XML", "/api/assets/x/metadata", "text/xml", "", photo},
		{"gzip JPEG", "/api/assets/x/original", "application/octet-stream", "gzip", gz.Bytes()},
		{"gzip labelled JSON", "/api/assets/x", "application/json", "gzip", gz.Bytes()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := proxytest.NewReq(t, "PUT", "https://immich.test"+tc.path, bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			apiKey(req)
			resp, msg := proxytest.MustDo(t, s.p.Client, req)
			if resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("%s %q, want 502", resp.Status, msg)
			}
		})
	}
	sum := sha1.Sum(photo)
	for _, ct := range []string{"", "text/plain;charset=UTF-8", "application/vnd.api+json"} {
		t.Run("bulk-upload-check as "+ct, func(t *testing.T) {
			check := `{"assets":[{"id":"a.jpg","checksum":"` + hex.EncodeToString(sum[:]) + `"}]}`
			req := proxytest.NewReq(t, "POST", "https://immich.test/api/assets/bulk-upload-check", strings.NewReader(check))
			req.Header.Set("Content-Type", ct)
			apiKey(req)
			if resp, msg := proxytest.MustDo(t, s.p.Client, req); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %q", resp.Status, msg)
			}
		})
	}
}
