package fakes

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"jpegveil/config"
)

// ICloud is iCloud Photos as the web app and icloudpd see it:
//
//   - p42-ckdatabasews.icloud.com (not intercepted): POST …/assets/upload
//     declares an upload (JSON: record, field and size) and answers an
//     upload URL on p42-content.icloud-content.com; POST …/records/modify
//     saves a record with the receipt of an uploaded file and answers its
//     downloadURL on cvws.icloud-content.com (with ${f} for the file name);
//   - p42-content.icloud-content.com: POST <upload URL>, the raw file; the
//     size must be the declared one; the answer is JSON "singleFile" with
//     the service's own checksum of what it received and a receipt;
//   - cvws.icloud-content.com: GET the file, application/octet-stream,
//     Accept-Ranges: bytes, with Range; gzip-encoded when the client
//     accepts gzip and asks for the whole file.
type ICloud struct {
	t     testing.TB
	Srv   *httptest.Server
	CA    string
	Guard *PlainGuard

	Mu       sync.Mutex
	declared map[string]int64  // upload ID → size
	Received map[string][]byte // receipt → file
	files    map[string][]byte // download ID → file
	// acceptEncodings lists the Accept-Encoding of every download request.
	acceptEncodings []string
	order           []string // download IDs in the order saved
	// FailOriginals makes downloads of originals answer 503.
	FailOriginals bool
}

var ICloudHosts = []string{"p42-ckdatabasews.icloud.com", "p42-content.icloud-content.com", "cvws.icloud-content.com"}

func NewICloud(t testing.TB) *ICloud {
	f := &ICloud{t: t, Guard: NewPlainGuard(t), declared: map[string]int64{}, Received: map[string][]byte{}, files: map[string][]byte{}}
	f.Srv, f.CA = NewMultiHostTLSServer(t, http.HandlerFunc(f.handle))
	return f
}

const CKPrefix = "/database/1/com.apple.photos.cloud/production/private"

func (f *ICloud) handle(w http.ResponseWriter, r *http.Request) {
	body, ok := f.Guard.ReadBody(w, r)
	if !ok {
		return
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	host := config.CanonicalHost(r.Host)
	switch {
	case host == "p42-ckdatabasews.icloud.com" && r.Method == http.MethodPost && r.URL.Path == CKPrefix+"/assets/upload":
		f.assetsUpload(w, r, body)
	case host == "p42-content.icloud-content.com" && r.Method == http.MethodPost:
		f.content(w, r, body)
	case host == "p42-ckdatabasews.icloud.com" && r.Method == http.MethodPost && r.URL.Path == CKPrefix+"/records/modify":
		f.recordsModify(w, r, body)
	case host == "p42-ckdatabasews.icloud.com" && r.Method == http.MethodPost && r.URL.Path == CKPrefix+"/records/query":
		f.recordsQuery(w)
	case host == "cvws.icloud-content.com" && (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(r.URL.Path, "/B/"):
		f.download(w, r)
	default:
		http.NotFound(w, r)
	}
}

// assetsUpload hands out upload URLs for the declared files.
func (f *ICloud) assetsUpload(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Tokens []struct {
			RecordName string `json:"recordName"`
			FieldName  string `json:"fieldName"`
			Size       int64  `json:"size"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Tokens) == 0 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	type token struct {
		RecordName string `json:"recordName"`
		FieldName  string `json:"fieldName"`
		URL        string `json:"url"`
	}
	var out struct {
		Tokens []token `json:"tokens"`
	}
	for _, tk := range req.Tokens {
		id := randomID()
		f.declared[id] = tk.Size
		out.Tokens = append(out.Tokens, token{tk.RecordName, tk.FieldName, "https://p42-content.icloud-content.com/" + id})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// content takes the file at an upload URL and answers its receipt.
func (f *ICloud) content(w http.ResponseWriter, r *http.Request, body []byte) {
	id := strings.TrimPrefix(r.URL.Path, "/")
	size, ok := f.declared[id]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if int64(len(body)) != size {
		http.Error(w, fmt.Sprintf("%d bytes, %d declared", len(body), size), http.StatusBadRequest)
		return
	}
	delete(f.declared, id)
	sum := sha256.Sum256(body)
	receipt := randomID()
	f.Received[receipt] = body
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"singleFile":{"size":%d,"fileChecksum":%q,"receipt":%q,"wrappingKey":"AAAA","referenceChecksum":"AQ=="}}`,
		len(body), base64.StdEncoding.EncodeToString(sum[:]), receipt)
}

// recordsModify turns a receipt into a photo record with a download URL.
func (f *ICloud) recordsModify(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Operations []struct {
			Record struct {
				RecordName string `json:"recordName"`
				Fields     struct {
					ResOriginalRes struct {
						Value struct {
							Receipt string `json:"receipt"`
						} `json:"value"`
					} `json:"resOriginalRes"`
				} `json:"fields"`
			} `json:"record"`
		} `json:"operations"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Operations) != 1 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	rec := req.Operations[0].Record
	data, ok := f.Received[rec.Fields.ResOriginalRes.Value.Receipt]
	if !ok {
		http.Error(w, "unknown receipt", http.StatusBadRequest)
		return
	}
	id := randomID()
	f.files[id] = data
	f.order = append(f.order, id)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"records":[{"recordName":%q,"fields":{"resOriginalRes":{"value":{"size":%d,"downloadURL":"https://cvws.icloud-content.com/B/%s/${f}?o=At"}}}}]}`,
		rec.RecordName, len(data), id)
}

// download serves a photo, gzip-compressed when the client accepts it and
// asks for no range.
func (f *ICloud) download(w http.ResponseWriter, r *http.Request) {
	id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/B/"), "/")
	if base, res, ok := strings.Cut(id, "-"); ok && f.files[base] != nil {
		f.derivative(w, f.files[base], res)
		return
	}
	data, ok := f.files[id]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if f.FailOriginals {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	f.acceptEncodings = append(f.acceptEncodings, r.Header.Get("Accept-Encoding"))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Accept-Ranges", "bytes")
	if r.Header.Get("Range") == "" && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(data)
		zw.Close()
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// ReceivedFile returns the file uploaded with receipt.
func (f *ICloud) ReceivedFile(receipt string) []byte {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.Received[receipt]
}

func (f *ICloud) Encodings() []string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return append([]string(nil), f.acceptEncodings...)
}
