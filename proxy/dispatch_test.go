package proxy

import (
	"testing"
)

func TestMatchPath(t *testing.T) {
	for in, want := range map[string]string{
		"/upload":          "/upload",
		"/upload/":         "/upload",
		"//upload":         "/upload",
		"/upload;jsid=1":   "/upload",
		"/a/./b/../upload": "/a/upload",
		"":                 "/",
		"/v1/uploads;x/":   "/v1/uploads",
	} {
		if got := matchPath(in); got != want {
			t.Errorf("matchPath(%q) = %q, want %q", in, got, want)
		}
	}
}
