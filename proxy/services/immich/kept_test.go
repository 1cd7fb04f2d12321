package immich_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// TestDownloadCheck uploads a photo to an Immich server that keeps its
// bytes, rewrites its Exif, or recompresses it, and downloads it again:
// the ledger recorded the asset ID and the ciphertext's hash at upload,
// and the download check finds what the server did.
func TestDownloadCheck(t *testing.T) {
	t.Parallel()
	photo := fakes.CorpusFile(t, "photos/astronaut-q85-progressive.jpg")
	for _, tc := range []struct {
		keeping       fakes.Keeping
		lost, changed int
	}{
		{fakes.KeepsBytes, 0, 0},
		{fakes.RewritesExif, 0, 1},
		{fakes.Recompresses, 1, 0},
	} {
		t.Run(tc.keeping.String(), func(t *testing.T) {
			t.Parallel()
			f := fakes.NewImmich(t)
			f.Keeping = tc.keeping
			core, logs := observer.New(zap.InfoLevel)
			p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"immich.test"}, immichRules, ""), zap.New(core))
			want := proxytest.EncryptedWith(t, p, photo)
			code, id, _ := immichUpload(t, p.Client, photo, "", false, false)
			if code != http.StatusCreated {
				t.Fatalf("upload: %d", code)
			}

			// The ledger knows where the photo went and what was sent.
			enc, err := veil.Encrypt(p.Key, &bytes.Buffer{}, bytes.NewReader(photo))
			if err != nil {
				t.Fatal(err)
			}
			fp := enc.Out
			rec, found, err := p.Ledger.(interface {
				Record(context.Context, ledger.Fingerprint) (ledger.Record, bool, error)
			}).Record(context.Background(), ledger.Fingerprint(fp))
			if err != nil || !found {
				t.Fatalf("ledger record: %v %v", found, err)
			}
			if len(rec.Services) != 1 || rec.Services[0] != (ledger.ServiceRef{Service: "immich", ID: id}) {
				t.Errorf("service identities %v, want immich %s", rec.Services, id)
			}
			if !rec.HasHash || rec.CiphertextSHA256 != sha256.Sum256(want) {
				t.Errorf("ciphertext hash not recorded, or not that of the ciphertext")
			}

			req := proxytest.NewReq(t, "GET", "https://immich.test/api/assets/"+id+"/original", nil)
			req.Header.Set("x-api-key", "test-key")
			resp, got := proxytest.MustDo(t, p.Client, req)
			lost, changed := p.Server.Losses()
			if lost != tc.lost || changed != tc.changed {
				t.Errorf("Losses() = %d lost, %d changed; want %d, %d", lost, changed, tc.lost, tc.changed)
			}
			errors := logs.FilterLevelExact(zap.ErrorLevel).FilterField(zap.String("photo", "immich "+id)).Len()
			switch tc.keeping {
			case fakes.KeepsBytes:
				if resp.StatusCode != 200 || !bytes.Equal(got, photo) {
					t.Errorf("download: %s, exact %v", resp.Status, bytes.Equal(got, photo))
				}
			case fakes.RewritesExif:
				if resp.StatusCode != 200 || resp.Header.Get("X-Jpegveil-Lost") != "" || bytes.Equal(got, photo) {
					t.Errorf("download: %s %q", resp.Status, resp.Header.Get("X-Jpegveil-Lost"))
				}
			case fakes.Recompresses:
				if resp.Header.Get("X-Jpegveil-Lost") != "true" || resp.Header.Get("Warning") == "" {
					t.Errorf("a lost photo was served without a warning: %s %v", resp.Status, resp.Header)
				}
				if errors != 1 {
					t.Errorf("%d error lines naming the photo, want 1: %v", errors, logs.All())
				}
				_, page := proxytest.MustDo(t, &http.Client{}, proxytest.NewReq(t, "GET", p.URL.String()+"/", nil))
				if !strings.Contains(string(page), "1 download(s) of your photos did not decrypt") || !strings.Contains(string(page), "immich "+id) {
					t.Errorf("the proxy's page does not show the loss")
				}
			}
			if tc.keeping != fakes.Recompresses && errors != 0 {
				t.Errorf("error logged for a photo the server kept: %v", logs.FilterLevelExact(zap.ErrorLevel).All())
			}
		})
	}
}
