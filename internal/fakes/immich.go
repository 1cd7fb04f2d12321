package fakes

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Immich is an Immich server (API as of v1.1xx):
//
//   - POST /api/assets, multipart/form-data with fileCreatedAt,
//     fileModifiedAt (deviceAssetId, deviceId optional) and the file in
//     assetData; an optional
//     x-immich-checksum header (SHA-1 of the file, hex or base64) lets the
//     server answer "duplicate" for a file it has. The server computes the
//     SHA-1 of the file it received; a header that disagrees is an error
//     here (the real server would store a duplicate check that never
//     matches). A Content-MD5 must match the whole body.
//   - GET /api/assets/{id}/original: the file as stored, with Range; gzip
//     when the client accepts it and asks for the whole file (as a
//     compressing reverse proxy in front of Immich does);
//   - GET /api/assets/{id}/thumbnail?size=thumbnail|preview|fullsize: a
//     JPEG the server made from what it stores (250 and 1440 pixels);
//   - GET /api/assets/{id} and POST /api/sync/full-sync: asset JSON
//     (AssetResponseDto: id, checksum = base64 SHA-1 of the stored file,
//     thumbhash = the server's placeholder of the stored file, …);
//   - POST /api/assets/bulk-upload-check {assets: [{id, checksum}]}:
//     accept, or reject as duplicate with the assetId;
//   - what the command-line client asks first: GET /api/server/version,
//     /api/server/media-types, /api/users/me, /api/albums.
//
// A request is authenticated by x-api-key, Authorization: Bearer, the
// immich_access_token cookie or a key query parameter, as Immich's auth
// guard accepts them; every request goes through the plaintext-hash guard.
type Immich struct {
	t     testing.TB
	Srv   *httptest.Server
	CA    string
	Guard *PlainGuard

	// Keeping is what the server does to an upload before storing it.
	Keeping Keeping

	Mu              sync.Mutex
	assets          map[string][]byte
	checksums       map[string]string // SHA-1 (raw) → asset ID
	headers         map[string]string // asset ID → x-immich-checksum as received
	acceptEncodings []string
	order           []string // asset IDs in upload order

	// Metrics is what the grid page last reported (grid.go).
	Metrics []byte

	// FailOriginals makes GET …/original answer 503.
	FailOriginals bool
	// Served counts the bytes of originals and renditions served.
	ServedOriginal, ServedRendition int64
}

func NewImmich(t testing.TB) *Immich {
	f := &Immich{t: t, Guard: NewPlainGuard(t), assets: map[string][]byte{}, checksums: map[string]string{}, headers: map[string]string{}}
	f.Srv, f.CA = NewMultiHostTLSServer(t, http.HandlerFunc(f.handle))
	return f
}

var (
	immichAssetPath = regexp.MustCompile(`^/api/assets/([0-9a-f]+)/(original|thumbnail)$`)
	immichAssetJSON = regexp.MustCompile(`^/api/assets/([0-9a-f]+)$`)
)

// authenticated is Immich's auth guard, reduced to presence.
func immichAuthenticated(r *http.Request) bool {
	if r.Header.Get("X-Api-Key") != "" || strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return true
	}
	if c, err := r.Cookie("immich_access_token"); err == nil && c.Value != "" {
		return true
	}
	return r.URL.Query().Get("key") != "" || r.URL.Query().Get("apiKey") != ""
}

func decodeSHA1(v string) ([]byte, bool) {
	if d, err := hex.DecodeString(v); err == nil && len(d) == 20 {
		return d, true
	}
	if d, err := base64.StdEncoding.DecodeString(v); err == nil && len(d) == 20 {
		return d, true
	}
	return nil, false
}

func jsonReply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (f *Immich) handle(w http.ResponseWriter, r *http.Request) {
	body, ok := f.Guard.ReadBody(w, r)
	if !ok {
		return
	}
	if f.page(w, r, body) {
		return
	}
	if !immichAuthenticated(r) {
		jsonReply(w, http.StatusUnauthorized, map[string]string{"message": "Authentication required"})
		return
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if r.Method == http.MethodPost && r.URL.Path == "/api/assets" {
		f.upload(w, r, body)
		return
	}
	if f.api(w, r, body) {
		return
	}
	m := immichAssetPath.FindStringSubmatch(r.URL.Path)
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || m == nil || f.assets[m[1]] == nil {
		jsonReply(w, http.StatusNotFound, map[string]string{"message": "Not found"})
		return
	}
	data := f.assets[m[1]]
	if m[2] == "thumbnail" {
		f.thumbnail(w, r, data)
		return
	}
	if f.FailOriginals {
		jsonReply(w, http.StatusServiceUnavailable, map[string]string{"message": "storage offline"})
		return
	}
	if r.Method == http.MethodGet {
		f.ServedOriginal += int64(len(data))
	}
	f.acceptEncodings = append(f.acceptEncodings, r.Header.Get("Accept-Encoding"))
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=86400, no-transform")
	if r.Header.Get("Range") == "" && r.Header.Get("Accept-Encoding") != "identity" && r.Header.Get("Accept-Encoding") != "" {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(data)
		zw.Close()
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func (f *Immich) upload(w http.ResponseWriter, r *http.Request, body []byte) {
	if v := r.Header.Get("Content-MD5"); v != "" {
		sum := md5.Sum(body)
		if v != base64.StdEncoding.EncodeToString(sum[:]) {
			jsonReply(w, http.StatusBadRequest, map[string]string{"message": "Content-MD5 mismatch"})
			return
		}
	}
	header := r.Header.Get("X-Immich-Checksum")
	var claimed []byte
	if header != "" {
		var ok bool
		if claimed, ok = decodeSHA1(header); !ok {
			jsonReply(w, http.StatusBadRequest, map[string]string{"message": "bad x-immich-checksum"})
			return
		}
		if id, ok := f.checksums[string(claimed)]; ok {
			jsonReply(w, http.StatusOK, map[string]string{"id": id, "status": "duplicate"})
			return
		}
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		jsonReply(w, http.StatusBadRequest, map[string]string{"message": "expected multipart/form-data"})
		return
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	fields := map[string]string{}
	var file []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			jsonReply(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		b, _ := io.ReadAll(part)
		if part.FormName() == "assetData" {
			file = b
		} else {
			fields[part.FormName()] = string(b)
		}
	}
	// deviceAssetId and deviceId are optional since Immich v2 (the CLI
	// sends neither).
	for _, k := range []string{"fileCreatedAt", "fileModifiedAt"} {
		if fields[k] == "" {
			jsonReply(w, http.StatusBadRequest, map[string]string{"message": k + " is required"})
			return
		}
	}
	if file == nil {
		jsonReply(w, http.StatusBadRequest, map[string]string{"message": "assetData is required"})
		return
	}
	sum := sha1.Sum(file)
	if claimed != nil && !bytes.Equal(claimed, sum[:]) {
		jsonReply(w, http.StatusBadRequest, map[string]string{"message": "x-immich-checksum does not match the file"})
		return
	}
	if id, ok := f.checksums[string(sum[:])]; ok {
		jsonReply(w, http.StatusOK, map[string]string{"id": id, "status": "duplicate"})
		return
	}
	id := randomID()
	f.assets[id] = f.Keeping.Apply(file)
	f.order = append(f.order, id)
	f.checksums[string(sum[:])] = id
	f.headers[id] = header
	jsonReply(w, http.StatusCreated, map[string]string{"id": id, "status": "created"})
}

func (f *Immich) Asset(id string) ([]byte, string) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.assets[id], f.headers[id]
}

func (f *Immich) Encodings() []string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return append([]string(nil), f.acceptEncodings...)
}
