package immich_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/phonefiles"
	"jpegveil/internal/proxytest"
)

// TestImmichPhoneFiles uploads every kind of phone file as the Immich apps
// do (with and without x-immich-checksum, which makes the proxy buffer and
// rehash the form): the server stores veil's ciphertext, and the original
// comes back through the proxy whole and in ranges, those reaching the
// motion clip included.
func TestImmichPhoneFiles(t *testing.T) {
	t.Parallel()
	f := fakes.NewImmich(t)
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"immich.test"}, immichRules, ""), nil)
	key := http.Header{"X-Api-Key": {"test-key"}, "Accept-Encoding": {"gzip"}}
	for i, pf := range proxytest.PhoneFiles(t, 480, 360, 300<<10) {
		t.Run(strings.ReplaceAll(pf.Name, "/", "_"), func(t *testing.T) {
			photo := pf.Data
			want, res := proxytest.EncryptedPhone(t, p, photo)
			f.Guard.Add(pf.Name, photo)
			checksum := ""
			if i%2 == 0 {
				sum := sha1.Sum(photo)
				checksum = hex.EncodeToString(sum[:])
			}
			code, id, status := immichUpload(t, p.Client, photo, checksum, false, i%3 == 0)
			if code != http.StatusCreated || status != "created" {
				t.Fatalf("upload: %d %s", code, status)
			}
			stored, _ := f.Asset(id)
			proxytest.CheckStored(t, "asset", stored, photo, want)
			u := "https://immich.test/api/assets/" + id + "/original"
			req := proxytest.NewReq(t, "GET", u, nil)
			req.Header = key.Clone()
			resp, got := proxytest.MustDo(t, p.Client, req)
			if resp.StatusCode != 200 || !bytes.Equal(got, photo) {
				t.Fatalf("original through the proxy: %s, equal: %v", resp.Status, bytes.Equal(got, photo))
			}
			proxytest.CheckRanges(t, p.Client, u, photo, key)
			if res.TrailerOffset >= 0 {
				proxytest.CheckRangeCases(t, p.Client, u, photo, key, proxytest.RangeCasesAround(len(photo), int(res.TrailerOffset)))
			}
		})
	}
}

// TestImmichHEICRefused: a HEIC photo is refused with what to do about it.
func TestImmichHEICRefused(t *testing.T) {
	t.Parallel()
	f := fakes.NewImmich(t)
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"immich.test"}, immichRules, ""), nil)
	for _, checksum := range []string{"", "0123456789abcdef0123456789abcdef01234567"} {
		body, ctype := immichForm(t, phonefiles.HEIC(), false)
		req := proxytest.NewReq(t, "POST", "https://immich.test/api/assets", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("x-api-key", "test-key")
		if checksum != "" {
			req.Header.Set("x-immich-checksum", checksum)
		}
		resp, msg := proxytest.MustDo(t, p.Client, req)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(msg), "Most Compatible") {
			t.Errorf("HEIC upload (checksum %q): %s %q", checksum, resp.Status, msg)
		}
	}
	if f.Guard.Seen != 0 {
		t.Fatal("a refused upload reached the server")
	}
}
