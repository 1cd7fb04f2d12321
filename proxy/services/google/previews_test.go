package google

import (
	"net/http/httptest"
	"testing"

	"jpegveil/proxy/internal/preview"
)

func TestFIFERenditions(t *testing.T) {
	tests := []struct {
		url, original string
		spec          preview.Spec
		ok            bool
	}{
		{"https://lh3.googleusercontent.com/lr/abc=w400-h300", "/lr/abc=d", preview.Spec{Width: 400, Height: 300}, true},
		{"https://lh3.googleusercontent.com/lr/abc=w200-h200-c", "/lr/abc=d", preview.Spec{Width: 200, Height: 200, Crop: true}, true},
		{"https://lh3.googleusercontent.com/lr/abc=s512-no", "/lr/abc=d", preview.Side(512), true},
		{"https://lh3.googleusercontent.com/lr/abc=w640-k-rj", "/lr/abc=d", preview.Spec{Width: 640}, true},
		{"https://lh3.googleusercontent.com/pw/AP1x=w1024-h768-p-k-no", "/pw/AP1x=s0-d", preview.Spec{Width: 1024, Height: 768, Crop: true}, true},
		{"https://photos.fife.usercontent.google.com/pw/AP1x=s0", "/pw/AP1x=s0-d", preview.Spec{}, true},
		{"https://lh3.googleusercontent.com/lr/abc=d", "", preview.Spec{}, false},
		{"https://lh3.googleusercontent.com/lr/abc=s0-d", "", preview.Spec{}, false},
		{"https://lh3.googleusercontent.com/lr/abc=dv", "", preview.Spec{}, false},
		{"https://lh3.googleusercontent.com/lr/abc", "", preview.Spec{}, false},
		{"https://lh3.googleusercontent.com/lr/abc=w400-fSoften", "", preview.Spec{}, false},
		{"https://photos.google.com/lr/abc=w400", "", preview.Spec{}, false},
	}
	for _, tc := range tests {
		r, ok := Service{}.Rendition(httptest.NewRequest("GET", tc.url, nil), nil)
		if ok != tc.ok || (ok && (r.Spec != tc.spec || r.Original.URL.Path != tc.original)) {
			t.Errorf("%s: %v %+v, want %v %v %s", tc.url, ok, r, tc.ok, tc.spec, tc.original)
		}
	}
}
