package google

import (
	"net/http"
	"strconv"
	"strings"

	"jpegveil/proxy/internal/preview"
	"jpegveil/proxy/services"
)

// fifeHosts serve Google Photos' images by FIFE URL: a base, then options
// after "=" joined by "-" (wN, hN, sN longest side, c crop, p smart crop,
// d download, k, no, rj, …).
var fifeHosts = map[string]bool{"lh3.googleusercontent.com": true, "photos.fife.usercontent.google.com": true}

// Rendition implements proxy.Renditions: a FIFE URL with size options and
// without d (download) is a copy Google renders; the original is the same
// base with =d, or =s0-d on the web app's /pw/ URLs, fetched with the
// same credentials (the web app's cookies; Library API base URLs need
// none).
func (Service) Rendition(req *http.Request, _ services.Names) (services.Rendition, bool) {
	host := strings.ToLower(req.URL.Hostname())
	if req.Method != http.MethodGet || !fifeHosts[host] {
		return services.Rendition{}, false
	}
	base, opts, ok := strings.Cut(req.URL.Path, "=")
	if !ok || base == "" || strings.Contains(opts, "/") {
		return services.Rendition{}, false
	}
	spec, ok := fifeSpec(opts)
	if !ok {
		return services.Rendition{}, false
	}
	orig := req.Clone(req.Context())
	orig.RequestURI = ""
	orig.URL.RawPath = ""
	if strings.HasPrefix(base, "/pw/") {
		orig.URL.Path = base + "=s0-d"
	} else {
		orig.URL.Path = base + "=d"
	}
	for _, h := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
		orig.Header.Del(h)
	}
	orig.Header.Set("Accept-Encoding", "identity")
	return services.Rendition{Photo: host + base, Spec: spec, Original: orig}, true
}

// fifeSpec reads the size options of a FIFE URL; ok is false for a
// download (d, dv), a video frame or an option that changes more than
// size and crop (rotation, filters), which pass to Google.
func fifeSpec(opts string) (spec preview.Spec, ok bool) {
	sized := false
	for _, o := range strings.Split(opts, "-") {
		switch {
		case o == "c" || o == "p" || o == "cc":
			spec.Crop = true
		case o == "no" || o == "k" || o == "rj" || o == "rw" || o == "rp" || o == "nu" || o == "ft" || o == "v1":
			// No play overlay, no redirect, output format, no upscale: a
			// JPEG of the photo is right for all of them.
		case len(o) > 1 && (o[0] == 'w' || o[0] == 'h' || o[0] == 's'):
			n, err := strconv.Atoi(o[1:])
			if err != nil || n < 0 || n > 16383 {
				return spec, false
			}
			switch o[0] {
			case 'w':
				spec.Width = n
			case 'h':
				spec.Height = n
			case 's':
				spec.Width, spec.Height = n, n
			}
			sized = true
		default:
			return spec, false // d, dv, and what jpegveil does not render
		}
	}
	if !sized {
		return spec, false
	}
	if spec.Crop && (spec.Width == 0 || spec.Height == 0) {
		// A crop with one side: a square of it.
		spec.Width, spec.Height = max(spec.Width, spec.Height), max(spec.Width, spec.Height)
	}
	return spec, true
}
