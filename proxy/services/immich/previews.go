package immich

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"

	"jpegveil/proxy/internal/preview"
	"jpegveil/proxy/services"
)

// thumbnailPath is GET /api/assets/{id}/thumbnail (asset-media.controller
// in Immich's server; the web and mobile clients add ?size= and a c=
// cache buster).
var thumbnailPath = regexp.MustCompile(`^/api/assets/([0-9A-Za-z-]{1,64})/thumbnail$`)

// sizes are Immich's default rendition sizes (thumbnail 250, preview
// 1440); fullsize is the whole photo.
var sizes = map[string]preview.Spec{
	"":          preview.Side(250),
	"thumbnail": preview.Side(250),
	"preview":   preview.Side(1440),
	"fullsize":  {},
}

// Rendition implements proxy.Renditions: a thumbnail, preview or fullsize
// rendition of an asset, rendered from GET /api/assets/{id}/original with
// the same credentials (cookie, x-api-key, bearer, key or slug in the
// query, all carried over).
func (Service) Rendition(req *http.Request, _ services.Names) (services.Rendition, bool) {
	m := thumbnailPath.FindStringSubmatch(req.URL.Path)
	if req.Method != http.MethodGet || m == nil {
		return services.Rendition{}, false
	}
	q := req.URL.Query()
	spec, ok := sizes[q.Get("size")]
	if !ok {
		return services.Rendition{}, false
	}
	orig := req.Clone(req.Context())
	orig.URL.Path = "/api/assets/" + m[1] + "/original"
	orig.URL.RawPath = ""
	q.Del("size")
	q.Del("c")
	orig.URL.RawQuery = q.Encode()
	orig.RequestURI = ""
	for _, h := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since", "Accept"} {
		orig.Header.Del(h)
	}
	orig.Header.Set("Accept-Encoding", "identity")
	return services.Rendition{Photo: m[1], Spec: spec, Original: orig}, true
}

// PreviewID implements proxy.PreviewIdentifier: POST /api/assets answers
// {"id": …, "status": "created"|"duplicate"}, and the renditions are
// asked for by that asset ID.
func (Service) PreviewID(_ *http.Request, resp *http.Response, body []byte, _ services.Names) (string, bool) {
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return "", false
	}
	var r struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &r) != nil || r.ID == "" {
		return "", false
	}
	return r.ID, true
}

// TranslateRequest implements proxy.ChecksumTranslator: every "checksum"
// in a JSON request (bulk-upload-check's assets, a search by checksum)
// becomes that of the ciphertext uploaded for the photo, or a stand-in.
func (Service) TranslateRequest(req *http.Request, body []byte, m services.Checksums) ([]byte, bool, error) {
	return translateJSON(body, func(obj map[string]any) bool {
		sum, enc, ok := checksumOf(obj)
		if !ok {
			return false
		}
		out, known := m.Cipher(req.Context(), sum)
		if !known {
			out = m.StandIn(sum)
		}
		obj["checksum"] = enc(out)
		return true
	})
}

// TranslateResponse implements proxy.ChecksumTranslator: in asset JSON
// (asset lists, timeline buckets, search results, sync responses, one
// object per line in the sync stream) the checksum of a ciphertext of the
// proxy's becomes that of the photo, and its thumbhash one of the photo
// (null while the proxy has none: better no placeholder than noise).
func (Service) TranslateResponse(req *http.Request, body []byte, t services.Translation) ([]byte, bool, error) {
	m, ph := t.Checksums, t.Placeholders
	return translateJSON(body, func(obj map[string]any) bool {
		sum, enc, ok := checksumOf(obj)
		if !ok {
			return false
		}
		plain, known := m.Plain(req.Context(), sum)
		if !known {
			return false
		}
		obj["checksum"] = enc(plain)
		if _, has := obj["thumbhash"]; has {
			obj["thumbhash"] = nil
			if id, _ := obj["id"].(string); id != "" {
				if h, ok := ph(id); ok {
					obj["thumbhash"] = base64.StdEncoding.EncodeToString(h)
				}
			}
		}
		return true
	})
}

// checksumOf reads obj's "checksum": a SHA-1 in base64 (asset JSON) or hex
// (the CLI's bulk-upload-check), with the encoder that writes it back.
func checksumOf(obj map[string]any) ([]byte, func([]byte) string, bool) {
	s, ok := obj["checksum"].(string)
	if !ok {
		return nil, nil, false
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == 20 {
		return b, hex.EncodeToString, true
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 20 {
		return b, base64.StdEncoding.EncodeToString, true
	}
	return nil, nil, false
}

// translateJSON applies fix to every object in body, a JSON document or
// JSON lines; body comes back unchanged when fix changed nothing.
func translateJSON(body []byte, fix func(map[string]any) bool) ([]byte, bool, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return body, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			break
		}
		if err != nil {
			return body, false, err
		}
		docs = append(docs, v)
	}
	changed := false
	for _, d := range docs {
		if walk(d, fix) {
			changed = true
		}
	}
	if !changed {
		return body, false, nil
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return body, false, err
		}
	}
	if len(docs) == 1 {
		return bytes.TrimSuffix(out.Bytes(), []byte("\n")), true, nil
	}
	return out.Bytes(), true, nil
}

func walk(v any, fix func(map[string]any) bool) bool {
	changed := false
	switch t := v.(type) {
	case map[string]any:
		if fix(t) {
			changed = true
		}
		for k, c := range t {
			if !strings.EqualFold(k, "checksum") && walk(c, fix) {
				changed = true
			}
		}
	case []any:
		for _, c := range t {
			if walk(c, fix) {
				changed = true
			}
		}
	}
	return changed
}
