package proxy

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"jpegveil/veil"
)

// This file holds what the fake services share: a TLS server answering for
// several host names, the plaintext-hash guard every fake runs on every
// request, and helpers of the service tests.

// encryptedWith returns the ciphertext jpegveil must produce for photo.
func encryptedWith(t testing.TB, p *testProxy, photo []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := veil.Encrypt(p.state.Key, &out, bytes.NewReader(photo)); err != nil {
		t.Fatalf("veil.Encrypt: %v", err)
	}
	if out.Len() != len(photo) || bytes.Equal(out.Bytes(), photo) {
		t.Fatal("veil.Encrypt did not encrypt the photo in place")
	}
	return out.Bytes()
}

// checkStored compares what a fake stored with the expected ciphertext.
func checkStored(t testing.TB, what string, stored, photo, want []byte) {
	t.Helper()
	if len(stored) != len(photo) {
		t.Fatalf("%s: stored %d bytes, the photo has %d", what, len(stored), len(photo))
	}
	if bytes.Equal(stored, photo) {
		t.Fatalf("%s: the service stored the plaintext", what)
	}
	if !bytes.Equal(stored, want) {
		i := 0
		for i < len(want) && stored[i] == want[i] {
			i++
		}
		t.Fatalf("%s: stored bytes differ from veil.Encrypt of the photo from byte %d on", what, i)
	}
}

// servicesConfigYAML is a proxy config for the fakes: every host in hosts
// is resolved to addr, the fake's CA is trusted upstream, and rules are
// the given rule list.
func servicesConfigYAML(stateDir, addr, caFile string, hosts []string, rules, extra string) string {
	var b strings.Builder
	b.WriteString("listen: 127.0.0.1:0\nstate_dir: " + stateDir + "\nlog: {level: debug}\n")
	b.WriteString("upstream:\n  ca_files: [" + caFile + "]\n  resolve:\n")
	for _, h := range hosts {
		fmt.Fprintf(&b, "    %q: %q\n", h+":443", addr)
	}
	b.WriteString(extra)
	b.WriteString("rules:\n" + rules)
	return b.String()
}

// rangeCases returns Range headers at several offsets of an n-byte file
// and the slices they select.
func rangeCases(n int) []struct {
	rng        string
	start, end int
} {
	return []struct {
		rng        string
		start, end int
	}{
		{"bytes=0-0", 0, 0},
		{"bytes=0-99", 0, 99},
		{fmt.Sprintf("bytes=%d-%d", 4095, 4096+8191), 4095, 4096 + 8191},
		{fmt.Sprintf("bytes=%d-%d", n/3, n/3+70000), n / 3, min(n/3+70000, n-1)},
		{fmt.Sprintf("bytes=%d-", n/2+17), n/2 + 17, n - 1},
		{"bytes=-1000", n - 1000, n - 1},
		{fmt.Sprintf("bytes=%d-%d", n-10, n+100), n - 10, n - 1},
	}
}

// checkRanges downloads u through the proxy with each of rangeCases and
// compares with the photo.
func checkRanges(t *testing.T, c *http.Client, u string, photo []byte, hdr http.Header) {
	t.Helper()
	n := len(photo)
	for _, tc := range rangeCases(n) {
		req := newReq(t, "GET", u, nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("Range", tc.rng)
		resp, got := mustDo(t, c, req)
		want := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, n)
		if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != want {
			t.Fatalf("%s: %s Content-Range %q, want 206 %q", tc.rng, resp.Status, resp.Header.Get("Content-Range"), want)
		}
		if !bytes.Equal(got, photo[tc.start:tc.end+1]) || resp.ContentLength != int64(len(got)) {
			t.Fatalf("%s: wrong slice (%d bytes, Content-Length %d)", tc.rng, len(got), resp.ContentLength)
		}
	}
}
