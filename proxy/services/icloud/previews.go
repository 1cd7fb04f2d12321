package icloud

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"jpegveil/proxy/internal/preview"
	"jpegveil/proxy/services"
)

// CloudKit lists each photo of iCloud Photos (a CPLMaster record, from
// POST …/records/query) with the original (resOriginalRes) and the
// derivatives Apple made from it (resJPEGThumbRes, resJPEGMedRes,
// resJPEGLargeRes, resJPEGFullRes), each with a signed downloadURL on
// *.icloud-content.com ("${f}" stands for a file name the client picks)
// and, in <prefix>Width and <prefix>Height, its size. Apple makes the
// derivatives from what was uploaded: from the ciphertext, noise. The
// proxy reads the listing on its way to the client and remembers, for
// each derivative, the original's URL and the derivative's size; a
// download of the derivative is then a rendition of the original.
var derivatives = []string{"resJPEGThumb", "resJPEGMed", "resJPEGLarge", "resJPEGFull"}

// derivativeKey is what names a derivative: host and path up to the file
// name.
func derivativeKey(u *url.URL) (string, bool) {
	i := strings.LastIndexByte(u.Path, '/')
	if !strings.HasPrefix(u.Path, "/B/") || i <= len("/B/") {
		return "", false
	}
	return strings.ToLower(u.Hostname()) + u.Path[:i], true
}

// Rendition implements proxy.Renditions.
func (Service) Rendition(req *http.Request, names services.Names) (services.Rendition, bool) {
	if req.Method != http.MethodGet || !strings.HasSuffix(strings.ToLower(req.URL.Hostname()), ".icloud-content.com") {
		return services.Rendition{}, false
	}
	key, ok := derivativeKey(req.URL)
	if !ok {
		return services.Rendition{}, false
	}
	v, ok := names.Recall(req.Context(), "icloud", "derivative:"+key)
	if !ok {
		return services.Rendition{}, false
	}
	parts := strings.Split(v, "\n")
	if len(parts) != 3 {
		return services.Rendition{}, false
	}
	w, errw := strconv.Atoi(parts[1])
	h, errh := strconv.Atoi(parts[2])
	orig, err := url.Parse(strings.ReplaceAll(parts[0], "${f}", req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]))
	if errw != nil || errh != nil || err != nil {
		return services.Rendition{}, false
	}
	o := req.Clone(req.Context())
	o.URL, o.Host, o.RequestURI = orig, orig.Host, ""
	for _, hd := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
		o.Header.Del(hd)
	}
	o.Header.Set("Accept-Encoding", "identity")
	photo, _ := derivativeKey(orig)
	return services.Rendition{Photo: photo, Spec: preview.Spec{Width: w, Height: h}, Original: o}, true
}

// TranslateRequest implements proxy.ChecksumTranslator: CloudKit requests
// carry no checksum of a photo (the web app sends the file alone).
func (Service) TranslateRequest(_ *http.Request, body []byte, _ services.Checksums) ([]byte, bool, error) {
	return body, false, nil
}

type ckValue struct {
	Value json.RawMessage `json:"value"`
}

// TranslateResponse implements proxy.ChecksumTranslator on records/query
// answers: nothing in them changes, but the proxy learns where each
// derivative's original is. (The fileChecksum of each resource is
// Apple's own, which the web app does not check.)
func (Service) TranslateResponse(req *http.Request, body []byte, t services.Translation) ([]byte, bool, error) {
	if !strings.HasSuffix(req.URL.Path, "/records/query") || !bytes.Contains(body, []byte(`"resOriginalRes"`)) {
		return body, false, nil
	}
	var q struct {
		Records []struct {
			Fields map[string]ckValue `json:"fields"`
		} `json:"records"`
	}
	if err := json.Unmarshal(body, &q); err != nil {
		return body, false, nil
	}
	var res struct {
		DownloadURL string `json:"downloadURL"`
	}
	for _, r := range q.Records {
		if json.Unmarshal(r.Fields["resOriginalRes"].Value, &res) != nil || res.DownloadURL == "" {
			continue
		}
		orig := res.DownloadURL
		for _, d := range derivatives {
			var w, h int
			res.DownloadURL = ""
			if json.Unmarshal(r.Fields[d+"Res"].Value, &res) != nil || res.DownloadURL == "" ||
				json.Unmarshal(r.Fields[d+"Width"].Value, &w) != nil || json.Unmarshal(r.Fields[d+"Height"].Value, &h) != nil || w <= 0 || h <= 0 {
				continue
			}
			u, err := url.Parse(res.DownloadURL)
			if err != nil {
				continue
			}
			if key, ok := derivativeKey(u); ok {
				// Signed URLs are handed out afresh with every listing:
				// kept in memory, not in the ledger.
				t.Names.RememberBriefly("icloud", "derivative:"+key, orig+"\n"+strconv.Itoa(w)+"\n"+strconv.Itoa(h))
			}
		}
	}
	return body, false, nil
}
