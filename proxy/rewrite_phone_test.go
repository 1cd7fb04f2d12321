package proxy_test

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"jpegveil/exif"
	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// itemOutcome says what became of one item of a phone file (plaintext p,
// as uploaded c) in a download d through the proxy after the service
// rewrote metadata: decrypted, still encrypted (passed as the service
// sent it), cut by the service (and then whether the part left is
// decrypted), or gone.
func itemOutcome(d, p, c []byte, off int) string {
	switch {
	case bytes.Contains(d, p):
		return "decrypted"
	case bytes.Contains(d, c):
		return "encrypted"
	case off < len(d) && len(d) < off+len(p):
		switch rest := d[off:]; {
		case bytes.Equal(rest, p[:len(rest)]):
			return "cut, decrypted"
		case bytes.Equal(rest, c[:len(rest)]):
			return "cut, encrypted"
		}
		return "cut, other"
	}
	return "gone"
}

// gpsOutcome compares the GPS values of the download's Exif with the
// plaintext's and the ciphertext's.
func gpsOutcome(d, p, c []byte) string {
	values := func(f []byte) string {
		md, _ := exif.Scan(f)
		if md == nil || len(md.Exif) == 0 {
			return ""
		}
		s := md.Exif[0]
		x, _ := exif.Parse(f[s.Offset : s.Offset+s.Length])
		if x == nil || x.GPS == nil {
			return ""
		}
		var b strings.Builder
		for _, e := range x.GPS.Entries {
			fmt.Fprintf(&b, "%d=%x;", e.Tag, x.Value(e))
		}
		return b.String()
	}
	switch got := values(d); {
	case got == "":
		return "gone"
	case got == values(p):
		return "decrypted"
	case got == values(c):
		return "encrypted"
	}
	return "other"
}

// TestDownloadAfterMetadataRewrites uploads every kind of phone file, then
// downloads it through the proxy after each rewrite a service makes on the
// way down (internal/fakes.Rewriter). The primary image decrypts exactly
// in every case; every other item decides its direction by itself, and
// what became of each is logged (and pinned where the outcome is sure).
func TestDownloadAfterMetadataRewrites(t *testing.T) {
	t.Parallel()
	f := fakes.NewRewriter(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), []string{f.CAFile}, ""), nil)
	var table []string
	for _, pf := range proxytest.PhoneFiles(t, 320, 240, 120<<10) {
		photo := pf.Data
		enc, res := proxytest.EncryptedPhone(t, p, photo)
		resp, id := upload(t, p.Client, photo)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: upload: %s %s", pf.Name, resp.Status, id)
		}
		for _, mode := range fakes.Rewrites {
			req := proxytest.NewReq(t, "GET", "https://photos.test/objects/"+id+"?rewrite="+mode, nil)
			resp, got := proxytest.MustDo(t, p.Client, req)
			if resp.StatusCode != 200 {
				t.Fatalf("%s, %s: %s", pf.Name, mode, resp.Status)
			}
			if want := fakes.PrimaryImage(photo); !bytes.Equal(fakes.PrimaryImage(got), want) || len(want) == 0 {
				t.Errorf("%s, %s: the primary image does not decrypt exactly", pf.Name, mode)
			}
			row := []string{"image: exact"}
			outcomes := map[string]string{}
			for _, m := range res.Metadata {
				if !m.Transformed || m.Length == 0 {
					continue
				}
				var o string
				if m.Label == "gps" {
					o = gpsOutcome(got, photo, enc)
				} else {
					a, b := int(m.Offset), int(m.Offset+m.Length)
					o = itemOutcome(got, photo[a:b], enc[a:b], a)
				}
				outcomes[m.Label] = o
				row = append(row, m.Label+": "+o)
			}
			table = append(table, fmt.Sprintf("%-45s %-17s %s", pf.Name, mode, strings.Join(row, ", ")))
			checkRewriteOutcome(t, pf.Name, mode, outcomes)
		}
	}
	sort.Strings(table)
	t.Log("what comes back through the proxy after each rewrite:\n" + strings.Join(table, "\n"))
}

// checkRewriteOutcome pins the outcomes that follow from the design: an
// item the rewrite leaves in place decrypts, wherever it moved.
func checkRewriteOutcome(t *testing.T, name, mode string, outcomes map[string]string) {
	t.Helper()
	want := map[string]string{}
	switch mode {
	case fakes.RewriteExif:
		for label := range outcomes {
			want[label] = "decrypted"
		}
	case fakes.RewriteDropThumbnail:
		for label := range outcomes {
			want[label] = "decrypted"
		}
		want["exif thumbnail"] = "gone"
	case fakes.RewriteStripAPP1:
		want["exif thumbnail"], want["gps"] = "gone", "gone"
		want["mpf image 2"] = "decrypted" // MPF is APP2
		// A Samsung trailer explains itself; a video that only the XMP
		// declared cannot be found without it, and comes back as the
		// service holds it, encrypted.
		want["motion video"] = "encrypted"
		if strings.Contains(name, "samsung") {
			want["motion video"], want["sef block 3"] = "decrypted", "decrypted"
		}
	case fakes.RewriteTruncate:
		want["exif thumbnail"], want["gps"] = "decrypted", "decrypted"
		want["motion video"] = "cut, encrypted" // planned from the end of the file, which is gone
	case fakes.RewriteStillOnly:
		want["exif thumbnail"], want["gps"] = "decrypted", "decrypted"
		want["motion video"], want["sef block 3"], want["mpf image 2"] = "gone", "gone", "gone"
	}
	for label, w := range want {
		if got, ok := outcomes[label]; ok && got != w {
			t.Errorf("%s, %s: %s %s, want %s", name, mode, label, got, w)
		}
	}
}
