package nextcloud

import (
	"net/url"
	"testing"
)

func TestParseChunkName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want chunkName
		ok   bool
	}{
		{"1", chunkName{num: 1, wNum: 1}, true},
		{"00042", chunkName{num: 42, wNum: 5}, true},
		{"10000", chunkName{num: 10000, wNum: 5}, true},
		{"000000000000000-000000010485759", chunkName{isRange: true, num: 0, end: 10485759, wNum: 15, wEnd: 15}, true},
		{"5-9", chunkName{isRange: true, num: 5, end: 9, wNum: 1, wEnd: 1}, true},
		{"123456789012345678", chunkName{num: 123456789012345678, wNum: 18}, true},
		{"1234567890123456789", chunkName{}, false}, // 19 digits
		{"", chunkName{}, false},
		{".file", chunkName{}, false},
		{"chunk-1", chunkName{}, false},
		{"1-2-3", chunkName{}, false},
		{"-5", chunkName{}, false},
		{"+5", chunkName{}, false},
	} {
		got, ok := parseChunkName(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseChunkName(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestUpstreamName(t *testing.T) {
	for _, tc := range []struct {
		name string
		off  int64
		n    int
		want string
	}{
		{"7", 0, 100, "7"},
		{"00007", 5000, 100, "00007"},
		{"000000000000000-000000000000099", 0, 90, "000000000000000-000000000000089"},
		{"000000000000100-000000000000199", 90, 110, "000000000000090-000000000000199"},
		{"0-9", 10, 5, "10-14"},
	} {
		c, ok := parseChunkName(tc.name)
		if !ok {
			t.Fatalf("%q does not parse", tc.name)
		}
		if got := c.upstreamName(tc.off, tc.n); got != tc.want {
			t.Errorf("%q.upstreamName(%d, %d) = %q, want %q", tc.name, tc.off, tc.n, got, tc.want)
		}
	}
}

func TestUploadPath(t *testing.T) {
	const up = "/remote.php/dav/uploads/"
	for _, tc := range []struct {
		in, dir, name string
		ok            bool
	}{
		{up + "alice/web-123", up + "alice/web-123", "", true},
		{up + "alice/web-123/", up + "alice/web-123", "", true},
		{up + "alice/web-123/00001", up + "alice/web-123", "00001", true},
		{up + "alice/web-123/.file", up + "alice/web-123", ".file", true},
		{"/nc" + up + "alice/d/1", "/nc" + up + "alice/d", "1", true},
		{up + "alice", "", "", false},
		{up + "alice/d/1/2", "", "", false},
		{up + "alice//1", "", "", false},
		{up + "alice/../1", "", "", false},
		{"/remote.php/dav/files/alice/a.jpg", "", "", false},
	} {
		dir, name, ok := uploadPath(tc.in)
		if ok != tc.ok || dir != tc.dir || name != tc.name {
			t.Errorf("uploadPath(%q) = %q, %q, %v; want %q, %q, %v", tc.in, dir, name, ok, tc.dir, tc.name, tc.ok)
		}
	}
}

func TestTailName(t *testing.T) {
	for _, tc := range []struct {
		last string
		want string
	}{
		{"", "1"},
		{"3", "4"},
		{"00009", "00010"},
		{"99", "100"},
	} {
		nc := &upload{st: nil}
		if tc.last != "" {
			cn, _ := parseChunkName(tc.last)
			nc.last.Set, nc.lastNm = true, cn
		}
		if got := tailName(nc); got != tc.want {
			t.Errorf("after %q: tail %q, want %q", tc.last, got, tc.want)
		}
	}
}

func TestSiblingURL(t *testing.T) {
	u, _ := url.Parse("https://cloud.test/remote.php/dav/uploads/al%20ice/d/00001")
	got := siblingURL(u, "00002")
	if got.EscapedPath() != "/remote.php/dav/uploads/al%20ice/d/00002" || got.Path != "/remote.php/dav/uploads/al ice/d/00002" {
		t.Fatalf("siblingURL: %q (%q)", got.EscapedPath(), got.Path)
	}
}
