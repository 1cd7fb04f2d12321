package google

import (
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"jpegveil/proxy/internal/hashes"
)

func TestParseCommands(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want commands
	}{
		{"", commands{}},
		{" , ", commands{}},
		{"start", commands{start: true, any: true}},
		{"upload", commands{upload: true, any: true}},
		{"upload, finalize", commands{upload: true, finalize: true, any: true}},
		{"Upload,Finalize", commands{upload: true, finalize: true, any: true}},
		{"finalize", commands{finalize: true, any: true}},
		{"query", commands{query: true, any: true}},
		{"cancel", commands{cancel: true, any: true}},
		{"start, upload, finalize", commands{start: true, upload: true, finalize: true, any: true}},
		{"upload, shred", commands{upload: true, unknown: "shred", any: true}},
	} {
		if got := parseCommands(tc.in); got != tc.want {
			t.Errorf("parseCommands(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestSessionKey(t *testing.T) {
	a, _ := url.Parse("https://Photos.Google.com:443/_/upload/uploadmedia/x?upload_id=1&p=2")
	b, _ := url.Parse("https://photos.google.com./_/upload/uploadmedia/x?upload_id=1&p=2")
	c, _ := url.Parse("https://photos.google.com/_/upload/uploadmedia/x?upload_id=2&p=2")
	if sessionKey(a) != sessionKey(b) {
		t.Errorf("host case, port and trailing dot change the key: %q, %q", sessionKey(a), sessionKey(b))
	}
	if sessionKey(a) == sessionKey(c) {
		t.Error("two upload IDs share a key")
	}
}

func TestCheckStartHashes(t *testing.T) {
	p := hashes.NewParser(append([]hashes.Header{hashes.ContentMD5}, Service{}.HashHeaders()...)...)
	body := []byte(`{"name":"a.jpg"}`)
	for _, tc := range []struct {
		name   string
		header http.Header
		ok     bool
	}{
		{"no hashes", http.Header{}, true},
		{"a hash of something else", http.Header{"Content-Md5": {"VHJ1ZVRydWVUcnVlVHJ1ZQ=="}}, false},
		{"announced Content-MD5", http.Header{"X-Goog-Upload-Header-Content-Md5": {"1B2M2Y8AsgTpgAmY7PhCfg=="}}, false},
		{"announced X-Goog-Hash", http.Header{"X-Goog-Upload-Header-X-Goog-Hash": {"md5=1B2M2Y8AsgTpgAmY7PhCfg=="}}, false},
		{"announced Digest", http.Header{"X-Goog-Upload-Header-Digest": {"sha-256=x"}}, false},
		{"other announced header", http.Header{"X-Goog-Upload-Header-Content-Length": {"1234"}}, true},
	} {
		err := checkStartHashes(p, tc.header, body)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	sum := md5.Sum(body)
	h := http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(sum[:])}}
	if err := checkStartHashes(p, h, body); err != nil {
		t.Errorf("a Content-MD5 of the start's own metadata: %v", err)
	}
}
