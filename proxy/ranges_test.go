package proxy

import (
	"net/http"
	"testing"
)

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want byteRange
		ok   bool
	}{
		{"bytes=0-0", byteRange{0, 0, false}, true},
		{"bytes=0-99", byteRange{0, 99, false}, true},
		{" bytes=10-20 ", byteRange{10, 20, false}, true},
		{"bytes= 10-20", byteRange{10, 20, false}, true},
		{"bytes=500-", byteRange{500, -1, false}, true},
		{"bytes=-1000", byteRange{1000, 0, true}, true},
		{"bytes=-0", byteRange{}, false},
		{"bytes=20-10", byteRange{}, false},
		{"bytes=0-1,5-6", byteRange{}, false},
		{"bytes=-", byteRange{}, false},
		{"bytes=a-b", byteRange{}, false},
		{"bytes=-5-", byteRange{}, false},
		{"bytes=1", byteRange{}, false},
		{"items=0-9", byteRange{}, false},
		{"", byteRange{}, false},
		{"bytes=99999999999999999999-", byteRange{}, false},
	} {
		got, ok := parseRange(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseRange(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestContentRange(t *testing.T) {
	for _, tc := range []struct {
		in                string
		start, end, total int64
		ok                bool
	}{
		{"bytes 0-99/1000", 0, 99, 1000, true},
		{"bytes 10-19/*", 10, 19, -1, true},
		{"bytes 0-999/1000", 0, 999, 1000, true},
		{"bytes 0-1000/1000", 0, 0, 0, false}, // past the end
		{"bytes 20-10/1000", 0, 0, 0, false},
		{"bytes */1000", 0, 0, 0, false},
		{"", 0, 0, 0, false},
		{"bytes 0-9/x", 0, 0, 0, false},
	} {
		resp := &http.Response{Header: http.Header{"Content-Range": {tc.in}}}
		start, end, total, ok := contentRange(resp)
		if ok != tc.ok || ok && (start != tc.start || end != tc.end || total != tc.total) {
			t.Errorf("contentRange(%q) = %d, %d, %d, %v; want %d, %d, %d, %v", tc.in, start, end, total, ok, tc.start, tc.end, tc.total, tc.ok)
		}
	}
}

func TestPrefixCovers(t *testing.T) {
	for _, tc := range []struct {
		name, contentRange string
		rng                byteRange
		want               bool
	}{
		{"margin reached", "bytes 0-70000/1048576", byteRange{0, 99, false}, true},
		{"margin short", "bytes 0-1000/1048576", byteRange{0, 99, false}, false},
		{"end of file", "bytes 0-1048575/1048576", byteRange{1048000, 1048575, false}, true},
		{"not from 0", "bytes 10-70000/1048576", byteRange{0, 99, false}, false},
		{"size unknown", "bytes 0-70000/*", byteRange{0, 99, false}, false},
		{"open range needs the whole file", "bytes 0-70000/1048576", byteRange{5, -1, false}, false},
		{"suffix needs the whole file", "bytes 0-1048575/1048576", byteRange{100, 0, true}, true},
	} {
		resp := &http.Response{Header: http.Header{"Content-Range": {tc.contentRange}}}
		if got := prefixCovers(resp, tc.rng); got != tc.want {
			t.Errorf("%s: prefixCovers = %v, want %v", tc.name, got, tc.want)
		}
	}
}
