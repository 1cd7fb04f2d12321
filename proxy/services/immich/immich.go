// Package immich is jpegveil's knowledge of Immich: its mobile and web
// clients upload a photo as the assetData field of a multipart form
// (POST /api/assets, a rule with body multipart), and send the SHA-1 of
// the file in x-immich-checksum, which the proxy recomputes over the
// ciphertext.
//
// With a rule of body api, the rest of the API is translated: thumbnails
// and previews of the proxy's photos are rendered from the decrypted
// original; the checksums in asset JSON are those of the photos, not of
// the stored ciphertexts; and the SHA-1 of every photo a client asks about
// before uploading (POST /api/assets/bulk-upload-check) is replaced by
// that of its ciphertext or by a keyed stand-in, so the server never sees
// a plaintext hash.
package immich

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"jpegveil/proxy/internal/hashes"
)

// Service is Immich.
type Service struct{}

// Name is "immich".
func (Service) Name() string { return "immich" }

// HashHeaders is x-immich-checksum: the SHA-1 of the file (the assetData
// part), hex or base64.
func (Service) HashHeaders() []hashes.Header {
	return []hashes.Header{{Name: "X-Immich-Checksum", Display: "x-immich-checksum", Alg: hashes.SHA1, Hex: true, Base64: true}}
}

// UploadID is the asset ID in the answer to POST /api/assets:
// {"id": "…", "status": "created"} (or "duplicate": the asset with the
// same checksum, which the proxy recomputed over the ciphertext).
func (Service) UploadID(req *http.Request, resp *http.Response, head []byte) (string, bool) {
	if req.Method != http.MethodPost || !strings.HasSuffix(strings.TrimSuffix(req.URL.Path, "/"), "/api/assets") {
		return "", false
	}
	var answer struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if json.Unmarshal(head, &answer) != nil || !assetID.MatchString(answer.ID) {
		return "", false
	}
	return answer.ID, true
}

// DownloadID is the asset ID of GET /api/assets/{id}/original.
func (Service) DownloadID(req *http.Request) (string, bool) {
	m := originalPath.FindStringSubmatch(req.URL.Path)
	if m == nil || !assetID.MatchString(m[1]) {
		return "", false
	}
	return m[1], true
}

// OriginalURL is where `jpegveil verify` fetches the asset id from the
// server at base: its original-download route.
func OriginalURL(base *url.URL, id string) *url.URL {
	return base.JoinPath("api", "assets", id, "original")
}

var (
	assetID      = regexp.MustCompile(`^[0-9A-Za-z-]{1,128}$`)
	originalPath = regexp.MustCompile(`/api/assets/([^/]+)/original$`)
)
