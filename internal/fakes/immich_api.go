package fakes

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
)

// immichSizes are the server's rendition sizes.
var immichSizes = map[string]int{"": 250, "thumbnail": 250, "preview": 1440}

func (f *Immich) thumbnail(w http.ResponseWriter, r *http.Request, data []byte) {
	size := r.URL.Query().Get("size")
	out := data
	if size != "fullsize" {
		n, ok := immichSizes[size]
		if !ok {
			jsonReply(w, http.StatusBadRequest, map[string]string{"message": "size must be one of thumbnail, preview, fullsize"})
			return
		}
		var err error
		if out, err = ServerRendered(data, n); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	f.ServedRendition += int64(len(out))
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=86400, no-transform")
	w.Write(out)
}

// ImmichServerThumbhash is the placeholder the fake server reports for a
// stored file: a stand-in for the server's ThumbHash of it, made from
// what it stores (for a ciphertext, nothing like the photo's).
func ImmichServerThumbhash(stored []byte) string {
	s := sha256.Sum256(stored)
	return base64.StdEncoding.EncodeToString(s[:24])
}

// assetJSON is the part of AssetResponseDto clients read.
func (f *Immich) assetJSON(id string) map[string]any {
	data := f.assets[id]
	sum := sha1.Sum(data)
	return map[string]any{
		"id": id, "type": "IMAGE", "ownerId": "user-1", "deviceId": "CLI",
		"originalFileName": id + ".jpg", "originalMimeType": "image/jpeg",
		"checksum":  base64.StdEncoding.EncodeToString(sum[:]),
		"thumbhash": ImmichServerThumbhash(data),
		"isTrashed": false, "isFavorite": false, "visibility": "timeline",
		"fileCreatedAt": "2024-05-01T10:00:00.000Z", "updatedAt": "2024-05-01T10:00:00.000Z",
	}
}

// api answers the JSON endpoints; false when r is none of them.
func (f *Immich) api(w http.ResponseWriter, r *http.Request, body []byte) bool {
	switch {
	case r.Method == http.MethodGet && immichAssetJSON.MatchString(r.URL.Path):
		id := immichAssetJSON.FindStringSubmatch(r.URL.Path)[1]
		if f.assets[id] == nil {
			jsonReply(w, http.StatusNotFound, map[string]string{"message": "Not found"})
			return true
		}
		jsonReply(w, http.StatusOK, f.assetJSON(id))
	case r.Method == http.MethodPost && r.URL.Path == "/api/sync/full-sync":
		list := make([]map[string]any, 0, len(f.order))
		for _, id := range f.order {
			list = append(list, f.assetJSON(id))
		}
		jsonReply(w, http.StatusOK, list)
	case r.Method == http.MethodPost && r.URL.Path == "/api/assets/bulk-upload-check":
		f.bulkUploadCheck(w, body)
	case r.Method == http.MethodGet && r.URL.Path == "/api/server/version":
		jsonReply(w, http.StatusOK, map[string]int{"major": 1, "minor": 135, "patch": 0})
	case r.Method == http.MethodGet && r.URL.Path == "/api/server/media-types":
		jsonReply(w, http.StatusOK, map[string][]string{"image": {".jpg", ".jpeg"}, "video": {}, "sidecar": {".xmp"}})
	case r.Method == http.MethodGet && r.URL.Path == "/api/users/me":
		jsonReply(w, http.StatusOK, map[string]string{"id": "user-1", "email": "alice@example.org", "name": "Alice"})
	case r.Method == http.MethodGet && r.URL.Path == "/api/api-keys/me":
		jsonReply(w, http.StatusOK, map[string]any{"id": "key-1", "name": "cli", "permissions": []string{"all"}})
	case r.Method == http.MethodGet && r.URL.Path == "/api/albums":
		jsonReply(w, http.StatusOK, []any{})
	default:
		return false
	}
	return true
}

func (f *Immich) bulkUploadCheck(w http.ResponseWriter, body []byte) {
	var req struct {
		Assets []struct{ ID, Checksum string } `json:"assets"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		jsonReply(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	results := []map[string]any{}
	for _, a := range req.Assets {
		sum, ok := decodeSHA1(a.Checksum)
		if !ok {
			jsonReply(w, http.StatusBadRequest, map[string]string{"message": "each checksum must be a SHA-1 in hex or base64"})
			return
		}
		if id, dup := f.checksums[string(sum)]; dup {
			results = append(results, map[string]any{"id": a.ID, "action": "reject", "reason": "duplicate", "assetId": id, "isTrashed": false})
		} else {
			results = append(results, map[string]any{"id": a.ID, "action": "accept"})
		}
	}
	jsonReply(w, http.StatusOK, map[string]any{"results": results})
}

// AssetIDs lists the assets in upload order.
func (f *Immich) AssetIDs() []string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return append([]string(nil), f.order...)
}
