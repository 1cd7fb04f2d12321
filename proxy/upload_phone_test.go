package proxy_test

import (
	"net/http"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/phonefiles"
	"jpegveil/internal/proxytest"
)

// TestUploadHoldsVideoWithinLimit: a single-request upload holds a motion
// photo's video until the body ends, up to limits.hash_buffer; a larger
// one is refused, not sent in part.
func TestUploadHoldsVideoWithinLimit(t *testing.T) {
	t.Parallel()
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, "limits: {hash_buffer: 512KiB}\n"), nil)
	parts := phonefiles.NewParts(320, 240, 300<<10, 21)
	small := phonefiles.Samsung(parts, true)
	want, _ := proxytest.EncryptedPhone(t, p, small)
	resp, id := upload(t, p.Client, small)
	if resp.StatusCode != 200 {
		t.Fatalf("a video within the limit: %s %s", resp.Status, id)
	}
	proxytest.CheckStored(t, "upload", svc.Objects[id], small, want)

	// The second primary image is larger than what is encrypted before
	// the request goes upstream: the refusal comes while it is sent.
	parts = phonefiles.NewParts(320, 240, 900<<10, 22)
	large := phonefiles.NewParts(1024, 768, 900<<10, 23)
	for _, big := range [][]byte{phonefiles.Samsung(parts, true), phonefiles.PixelMotion(large, 0)} {
		resp, msg := upload(t, p.Client, big)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, "limits.hash_buffer") {
			t.Fatalf("a video above the limit: %s %q", resp.Status, msg)
		}
	}
	if svc.Received != 1 {
		t.Fatalf("%d uploads reached the service, want 1", svc.Received)
	}
}
