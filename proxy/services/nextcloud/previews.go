package nextcloud

import (
	"crypto/sha256"
	"encoding/hex"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"jpegveil/proxy/internal/preview"
	"jpegveil/proxy/services"
)

// Preview endpoints (nextcloud/server core/Controller/PreviewController,
// nextcloud/photos lib/Controller/PreviewController):
//
//	/index.php/core/preview?fileId=&x=&y=&a=&mode=fill|cover
//	/index.php/core/preview.png?file=<path>&x=&y=&a=
//	/index.php/apps/photos/api/v1/preview/{fileId}?x=&y=
//
// x and y default to 32; -1 is the photo's own size; a=1 keeps the aspect
// ratio (fit inside, or cover with mode=cover), else the preview is cut to
// x×y. The original is the file itself over WebDAV: by path for file=
// (/remote.php/webdav/<path>, the legacy endpoint of the signed-in user),
// by the path the proxy learnt for a file ID (from the answer to its
// upload, or a PROPFIND listing).
var photosPreview = regexp.MustCompile(`^(?:/index\.php)?/apps/photos/api/v1/preview/([0-9]{1,20})$`)

// Rendition implements proxy.Renditions.
func (Service) Rendition(req *http.Request, names services.Names) (services.Rendition, bool) {
	if req.Method != http.MethodGet {
		return services.Rendition{}, false
	}
	p := strings.TrimPrefix(req.URL.Path, "/index.php")
	q := req.URL.Query()
	var fileID, file string
	keepAspect := q.Get("a") == "1" || q.Get("a") == "true"
	switch {
	case p == "/core/preview" && q.Get("fileId") != "":
		fileID = q.Get("fileId")
	case p == "/core/preview.png" && strings.HasPrefix(q.Get("file"), "/"):
		file = q.Get("file")
	case photosPreview.MatchString(req.URL.Path):
		fileID, keepAspect = photosPreview.FindStringSubmatch(req.URL.Path)[1], true
	default:
		return services.Rendition{}, false
	}
	spec, ok := previewSpec(q.Get("x"), q.Get("y"), keepAspect, q.Get("mode"))
	if !ok {
		return services.Rendition{}, false
	}
	orig := req.Clone(req.Context())
	orig.RequestURI = ""
	orig.URL.RawQuery = ""
	orig.URL.RawPath = ""
	var photo string
	if fileID != "" {
		if _, err := strconv.ParseUint(fileID, 10, 64); err != nil {
			return services.Rendition{}, false
		}
		dav, ok := names.Recall(req.Context(), "nextcloud", "fileid:"+fileID)
		if !ok {
			return services.Rendition{}, false
		}
		orig.URL.Path, photo = dav, "fileid:"+fileID
	} else {
		// A path names a file of the signed-in user only: the cache key
		// carries who asked.
		who := sha256.Sum256([]byte(req.Header.Get("Authorization") + "\x00" + req.Header.Get("Cookie")))
		orig.URL.Path = "/remote.php/webdav" + file
		photo = "file:" + hex.EncodeToString(who[:8]) + ":" + file
	}
	for _, h := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since", "Accept"} {
		orig.Header.Del(h)
	}
	orig.Header.Set("Accept-Encoding", "identity")
	return services.Rendition{Photo: photo, Spec: spec, Original: orig}, true
}

func previewSpec(xs, ys string, keepAspect bool, mode string) (preview.Spec, bool) {
	side := func(s string) (int, bool) {
		if s == "" {
			return 32, true
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < -1 || n == 0 || n > 16384 {
			return 0, false
		}
		return max(n, 0), true // -1: the photo's own size
	}
	x, okx := side(xs)
	y, oky := side(ys)
	if !okx || !oky {
		return preview.Spec{}, false
	}
	spec := preview.Spec{Width: x, Height: y}
	switch {
	case keepAspect && mode == "cover":
		spec.Cover = true
	case !keepAspect && x > 0 && y > 0:
		spec.Crop = true
	}
	return spec, true
}

// PreviewID implements proxy.PreviewIdentifier: a PUT of a file is
// answered with its ID in OC-FileId ("00000123oc…": the number, then the
// instance); the proxy remembers the path for previews by file ID.
func (Service) PreviewID(req *http.Request, resp *http.Response, _ []byte, names services.Names) (string, bool) {
	if req.Method != http.MethodPut || (resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent) {
		return "", false
	}
	id := fileIDOf(resp.Header.Get("OC-FileId"))
	if id == "" {
		return "", false
	}
	names.Remember(req.Context(), "nextcloud", "fileid:"+id, req.URL.Path)
	return "fileid:" + id, true
}

// fileIDOf is the number at the start of an OC-FileId value.
func fileIDOf(v string) string {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	n, err := strconv.ParseUint(v[:i], 10, 64)
	if err != nil || n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

// WebDAV multistatus, as Nextcloud writes it (d: and oc: prefixes).
var (
	davResponse = regexp.MustCompile(`(?s)<d:response>.*?</d:response>`)
	davHref     = regexp.MustCompile(`<d:href>([^<]*)</d:href>`)
	davFileID   = regexp.MustCompile(`<oc:fileid>([0-9]+)</oc:fileid>`)
	davChecksum = regexp.MustCompile(`<oc:checksum>([^<]*)</oc:checksum>`)
)

// TranslateRequest implements proxy.ChecksumTranslator: WebDAV requests
// carry no checksum the proxy must translate (OC-Checksum on uploads is
// recomputed over the ciphertext).
func (Service) TranslateRequest(_ *http.Request, body []byte, _ services.Checksums) ([]byte, bool, error) {
	return body, false, nil
}

// TranslateResponse implements proxy.ChecksumTranslator on PROPFIND
// answers: the proxy learns the path of each file ID, and the
// oc:checksums of a ciphertext of its own (the SHA1 the upload's
// OC-Checksum was recomputed to) become the photo's, so that a sync
// client comparing them with its files sees them in step. Checksums of
// other algorithms of such a file are dropped: they are the
// ciphertext's.
func (Service) TranslateResponse(req *http.Request, body []byte, t services.Translation) ([]byte, bool, error) {
	if req.Method != "PROPFIND" {
		return body, false, nil
	}
	ctx, changed, m, names := req.Context(), false, t.Checksums, t.Names
	out := davResponse.ReplaceAllFunc(body, func(r []byte) []byte {
		href, id := davHref.FindSubmatch(r), davFileID.FindSubmatch(r)
		if href != nil && id != nil && names != nil {
			if u, err := url.PathUnescape(html.UnescapeString(string(href[1]))); err == nil && strings.HasPrefix(u, "/remote.php/dav/files/") {
				names.Remember(ctx, "nextcloud", "fileid:"+string(id[1]), u)
			}
		}
		return davChecksum.ReplaceAllFunc(r, func(c []byte) []byte {
			sums := strings.Fields(string(davChecksum.FindSubmatch(c)[1]))
			for _, s := range sums {
				alg, val, _ := strings.Cut(s, ":")
				raw, err := hex.DecodeString(val)
				if !strings.EqualFold(alg, "SHA1") || err != nil || len(raw) != 20 {
					continue
				}
				plain, ok := m.Plain(ctx, raw)
				if !ok {
					break
				}
				changed = true
				return []byte("<oc:checksum>SHA1:" + hex.EncodeToString(plain) + "</oc:checksum>")
			}
			return c
		})
	})
	return out, changed, nil
}
