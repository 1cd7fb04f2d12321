package proxy_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestHashedUploadRefusals: a hash header on a body above hash_buffer, or
// one jpegveil does not recompute, stops the upload before it goes up.
func TestHashedUploadRefusals(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/astronaut-q95-444.jpg")
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "limits: {hash_buffer: 100KiB}\n"), nil)
	for _, tc := range []struct {
		name, header, value, reason string
	}{
		{"above hash_buffer", "Content-MD5", proxytest.ContentMD5(photo), "limits.hash_buffer"},
		{"Digest", "Digest", "sha-256=" + base64.StdEncoding.EncodeToString(make([]byte, 32)), "Digest header"},
		{"wrong hash", "Content-MD5", proxytest.ContentMD5([]byte("x")), "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := photo
			if tc.name != "above hash_buffer" {
				body = fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
			}
			req := proxytest.NewReq(t, "POST", "https://photos.test/upload", bytes.NewReader(body))
			req.Header.Set(tc.header, tc.value)
			resp, msg := proxytest.MustDo(t, p.Client, req)
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(msg), tc.reason) {
				t.Fatalf("%s %q, want 502 with %q", resp.Status, msg, tc.reason)
			}
		})
	}
	if svc.Received != 0 {
		t.Fatalf("%d refused uploads reached the service", svc.Received)
	}
}
