package proxy_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestPartlyDecryptedIsNeverServedAsFine: a stored ciphertext cut short
// decrypts only up to the cut. Within the pre-read the client gets 502 and
// the reason; beyond it the body is cut short, so no client sees it
// complete. Both are counted as lost.
func TestPartlyDecryptedIsNeverServedAsFine(t *testing.T) {
	for _, tc := range []struct {
		name, photo string
		keep        float64 // part of the stored ciphertext kept
		want502     bool
	}{
		{"within the pre-read", "photos/coffee-q80-420.jpg", 0.6, true},
		{"after the headers", "photos/phone-12mp-q92.jpg", 0.9, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			photo := fakes.CorpusFile(t, tc.photo)
			svc := fakes.NewPhotos(t)
			p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
			resp, id := upload(t, p.Client, photo)
			if resp.StatusCode != 200 {
				t.Fatalf("upload: %s", resp.Status)
			}
			svc.Mu.Lock()
			svc.Objects[id] = svc.Objects[id][:int(float64(len(photo))*tc.keep)]
			svc.Mu.Unlock()

			dl, err := p.Client.Do(proxytest.NewReq(t, "GET", "https://photos.test/objects/"+id, nil))
			if err != nil {
				t.Fatal(err)
			}
			body, readErr := io.ReadAll(dl.Body)
			dl.Body.Close()
			if tc.want502 {
				if dl.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "decrypts only partly") {
					t.Fatalf("got %s %q, want 502 with the reason", dl.Status, body)
				}
			} else if readErr == nil && dl.StatusCode == 200 && int64(len(body)) == dl.ContentLength {
				t.Fatalf("a partly decrypted photo was served whole (%d bytes)", len(body))
			}
			if bytes.Equal(body, photo) {
				t.Fatal("a cut ciphertext decrypted to the photo")
			}
			if lost, _ := p.Server.Losses(); lost != 1 {
				t.Errorf("Losses() lost = %d, want 1", lost)
			}
		})
	}
}
