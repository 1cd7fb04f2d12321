package fakes

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"jpegveil/config"
)

// Google is Google Photos as its clients see it:
//
//   - photoslibrary.googleapis.com: POST /v1/uploads, raw
//     (X-Goog-Upload-Protocol: raw, the body is the file, the answer the
//     upload token) or resumable (start → X-Goog-Upload-URL; upload /
//     "upload, finalize" at X-Goog-Upload-Offset, every chunk but the last
//     a multiple of the granularity; query → X-Goog-Upload-Status and
//     X-Goog-Upload-Size-Received; cancel), and POST
//     /v1/mediaItems:batchCreate, which turns upload tokens into media
//     items with a baseUrl on lh3.googleusercontent.com;
//   - photos.google.com: the web app's resumable endpoint
//     /_/upload/uploadmedia/interactive (the size in
//     X-Goog-Upload-Header-Content-Length, JSON metadata in the start body);
//   - lh3.googleusercontent.com: GET <baseUrl>=d (or =s0-d), the original
//     bytes (with Range); <baseUrl>=<options>, a copy the service renders
//     (the longest of wN, hN, sN; 512 without one).
//
// Every request needs an OAuth bearer token (Library API) or a cookie (web).
// Content-MD5 is checked against the body; X-Goog-Hash against the body of
// a raw upload or a chunk, or on a finalizing request against the whole
// object. Every request goes through the plaintext-hash guard.
type Google struct {
	t     testing.TB
	Srv   *httptest.Server
	CA    string
	Guard *PlainGuard

	Mu      sync.Mutex
	Uploads map[string]*GoogleUpload
	Tokens  map[string][]byte
	media   map[string][]byte
	// chunkLens lists the body lengths of the upload and finalize
	// requests that reached the service, in order.
	chunkLens []int
	// gran is the chunk granularity the service announces.
	Gran int
	// failNext makes the next chunk requests fail with 503: "drop"
	// before storing the chunk, "store" after storing it (the answer is
	// lost, the bytes are not).
	FailNext []string
	// FailOriginals makes =d downloads answer 503.
	FailOriginals bool
	// ServedOriginal and ServedRendition count the bytes of lh3
	// downloads and renditions served.
	ServedOriginal, ServedRendition int64
}

type GoogleUpload struct {
	size      int64 // declared, or -1
	Data      []byte
	Status    string // active, final, cancelled
	token     string
	HashFinal bool // a finalize carried an X-Goog-Hash of the object
}

const GoogleGranularity = 262144

var GoogleHosts = []string{"photoslibrary.googleapis.com", "photos.google.com", "lh3.googleusercontent.com"}

func NewGoogle(t testing.TB) *Google {
	f := &Google{t: t, Gran: GoogleGranularity, Guard: NewPlainGuard(t), Uploads: map[string]*GoogleUpload{}, Tokens: map[string][]byte{}, media: map[string][]byte{}}
	f.Srv, f.CA = NewMultiHostTLSServer(t, http.HandlerFunc(f.handle))
	return f
}

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func googleError(w http.ResponseWriter, code int, status, msg string) {
	if status != "" {
		w.Header().Set("X-Goog-Upload-Status", status)
	}
	http.Error(w, msg, code)
}

// checkGoogHashes verifies the hash headers of a request: Content-MD5
// against body, X-Goog-Hash against object.
func checkGoogHashes(r *http.Request, body, object []byte) error {
	if v := r.Header.Get("Content-MD5"); v != "" {
		sum := md5.Sum(body)
		if v != base64.StdEncoding.EncodeToString(sum[:]) {
			return fmt.Errorf("Content-MD5 %s does not match the body", v)
		}
	}
	if v := r.Header.Get("X-Goog-Hash"); v != "" {
		for _, item := range strings.Split(v, ",") {
			alg, val, _ := strings.Cut(strings.TrimSpace(item), "=")
			var want string
			switch alg {
			case "md5":
				sum := md5.Sum(object)
				want = base64.StdEncoding.EncodeToString(sum[:])
			case "crc32c":
				var c [4]byte
				binary.BigEndian.PutUint32(c[:], crc32.Checksum(object, crc32.MakeTable(crc32.Castagnoli)))
				want = base64.StdEncoding.EncodeToString(c[:])
			default:
				return fmt.Errorf("X-Goog-Hash: unknown hash %q", alg)
			}
			if val != want {
				return fmt.Errorf("X-Goog-Hash %s=%s does not match the data (%s)", alg, val, want)
			}
		}
	}
	return nil
}

var lh3Path = regexp.MustCompile(`^/lr/([0-9a-f]+)(?:=(.*))?$`)

func (f *Google) handle(w http.ResponseWriter, r *http.Request) {
	body, ok := f.Guard.ReadBody(w, r)
	if !ok {
		return
	}
	host := config.CanonicalHost(r.Host)
	if host == "lh3.googleusercontent.com" {
		f.download(w, r)
		return
	}
	if host == "photoslibrary.googleapis.com" && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		http.Error(w, "missing OAuth token", http.StatusUnauthorized)
		return
	}
	if host == "photos.google.com" && r.Header.Get("Cookie") == "" {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodPost && host == "photoslibrary.googleapis.com" && r.URL.Path == "/v1/uploads",
		r.Method == http.MethodPost && host == "photos.google.com" && r.URL.Path == "/_/upload/uploadmedia/interactive":
		f.upload(w, r, host, body)
	case r.Method == http.MethodPost && host == "photoslibrary.googleapis.com" && r.URL.Path == "/v1/mediaItems:batchCreate":
		f.batchCreate(w, body)
	default:
		http.NotFound(w, r)
	}
}

func (f *Google) upload(w http.ResponseWriter, r *http.Request, host string, body []byte) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	proto := r.Header.Get("X-Goog-Upload-Protocol")
	cmd := strings.ReplaceAll(strings.ToLower(r.Header.Get("X-Goog-Upload-Command")), " ", "")
	id := r.URL.Query().Get("upload_id")
	switch {
	case id == "" && strings.EqualFold(proto, "raw"):
		f.rawUpload(w, r, body)
		return
	case id == "" && strings.EqualFold(proto, "resumable") && cmd == "start":
		f.start(w, r, host, body)
		return
	case id == "":
		http.Error(w, "unknown upload protocol", http.StatusBadRequest)
		return
	}
	u := f.Uploads[id]
	if u == nil {
		http.Error(w, "no such upload", http.StatusNotFound)
		return
	}
	switch cmd {
	case "query":
		w.Header().Set("X-Goog-Upload-Status", u.Status)
		w.Header().Set("X-Goog-Upload-Size-Received", strconv.Itoa(len(u.Data)))
		if u.Status == "final" {
			fmt.Fprint(w, u.token)
		}
	case "cancel":
		u.Status = "cancelled"
		w.Header().Set("X-Goog-Upload-Status", "cancelled")
	case "upload", "upload,finalize", "finalize":
		f.chunk(w, r, u, cmd, body)
	default:
		googleError(w, http.StatusBadRequest, u.Status, "unknown command "+cmd)
	}
}

// rawUpload takes a single-request upload: the body is the file.
func (f *Google) rawUpload(w http.ResponseWriter, r *http.Request, body []byte) {
	if err := checkGoogHashes(r, body, body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) == 0 {
		http.Error(w, "empty upload", http.StatusBadRequest)
		return
	}
	tok := randomID()
	f.Tokens[tok] = body
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, tok)
}

// start opens a resumable upload.
func (f *Google) start(w http.ResponseWriter, r *http.Request, host string, body []byte) {
	size := int64(-1)
	for _, h := range []string{"X-Goog-Upload-Raw-Size", "X-Goog-Upload-Header-Content-Length"} {
		if v := r.Header.Get(h); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				http.Error(w, "bad "+h, http.StatusBadRequest)
				return
			}
			size = n
		}
	}
	if host == "photos.google.com" && !json.Valid(body) {
		http.Error(w, "the web start request carries JSON metadata", http.StatusBadRequest)
		return
	}
	id := randomID()
	f.Uploads[id] = &GoogleUpload{size: size, Status: "active"}
	loc := "https://" + host + r.URL.Path + "?upload_id=" + id + "&upload_protocol=resumable"
	w.Header().Set("X-Goog-Upload-URL", loc)
	w.Header().Set("X-Goog-Upload-Status", "active")
	w.Header().Set("X-Goog-Upload-Chunk-Granularity", strconv.Itoa(f.Gran))
	w.Header().Set("X-GUploader-UploadID", id)
}

// chunk takes an upload or finalize command of a resumable upload.
func (f *Google) chunk(w http.ResponseWriter, r *http.Request, u *GoogleUpload, cmd string, body []byte) {
	final := strings.HasSuffix(cmd, "finalize")
	if why := f.checkChunk(r, u, cmd, body); why != "" {
		googleError(w, http.StatusBadRequest, u.Status, why)
		return
	}
	object := body
	if final {
		object = append(append([]byte(nil), u.Data...), body...)
		u.HashFinal = r.Header.Get("X-Goog-Hash") != ""
	}
	if err := checkGoogHashes(r, body, object); err != nil {
		googleError(w, http.StatusBadRequest, "active", err.Error())
		return
	}
	if final && u.size >= 0 && int64(len(object)) != u.size {
		googleError(w, http.StatusBadRequest, "active", fmt.Sprintf("%d bytes uploaded, %d declared", len(object), u.size))
		return
	}
	var fail string
	if len(f.FailNext) > 0 {
		fail, f.FailNext = f.FailNext[0], f.FailNext[1:]
	}
	if fail == "drop" {
		googleError(w, http.StatusServiceUnavailable, "", "backend unavailable")
		return
	}
	f.chunkLens = append(f.chunkLens, len(body))
	u.Data = append(u.Data, body...)
	if final {
		u.Status, u.token = "final", randomID()
		f.Tokens[u.token] = u.Data
	}
	if fail == "store" {
		googleError(w, http.StatusServiceUnavailable, "", "backend unavailable")
		return
	}
	w.Header().Set("X-Goog-Upload-Status", u.Status)
	if final {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, u.token)
	}
}

// checkChunk returns why a chunk command is refused, or "".
func (f *Google) checkChunk(r *http.Request, u *GoogleUpload, cmd string, body []byte) string {
	if u.Status != "active" {
		return "the upload is " + u.Status
	}
	if cmd == "finalize" && len(body) > 0 {
		return "finalize with a body"
	}
	off := int64(len(u.Data))
	if cmd != "finalize" {
		var err error
		if off, err = strconv.ParseInt(r.Header.Get("X-Goog-Upload-Offset"), 10, 64); err != nil {
			return "missing X-Goog-Upload-Offset"
		}
	}
	if off != int64(len(u.Data)) {
		return fmt.Sprintf("offset %d, expected %d", off, len(u.Data))
	}
	if !strings.HasSuffix(cmd, "finalize") && len(body)%f.Gran != 0 {
		return fmt.Sprintf("a non-final chunk of %d bytes is no multiple of %d", len(body), f.Gran)
	}
	return ""
}

func (f *Google) batchCreate(w http.ResponseWriter, body []byte) {
	var req struct {
		NewMediaItems []struct {
			SimpleMediaItem struct {
				UploadToken string `json:"uploadToken"`
				FileName    string `json:"fileName"`
			} `json:"simpleMediaItem"`
		} `json:"newMediaItems"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	type item struct {
		ID       string `json:"id"`
		BaseURL  string `json:"baseUrl"`
		MimeType string `json:"mimeType"`
		Filename string `json:"filename"`
	}
	type result struct {
		UploadToken string            `json:"uploadToken"`
		Status      map[string]string `json:"status"`
		MediaItem   *item             `json:"mediaItem,omitempty"`
	}
	var out struct {
		NewMediaItemResults []result `json:"newMediaItemResults"`
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	for _, it := range req.NewMediaItems {
		tok := it.SimpleMediaItem.UploadToken
		data, ok := f.Tokens[tok]
		if !ok {
			out.NewMediaItemResults = append(out.NewMediaItemResults, result{UploadToken: tok, Status: map[string]string{"message": "NOT_FOUND"}})
			continue
		}
		delete(f.Tokens, tok)
		id := randomID()
		f.media[id] = data
		out.NewMediaItemResults = append(out.NewMediaItemResults, result{UploadToken: tok, Status: map[string]string{"message": "Success"},
			MediaItem: &item{ID: id, BaseURL: "https://lh3.googleusercontent.com/lr/" + id, MimeType: "image/jpeg", Filename: it.SimpleMediaItem.FileName}})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (f *Google) download(w http.ResponseWriter, r *http.Request) {
	m := lh3Path.FindStringSubmatch(r.URL.Path)
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || m == nil {
		http.NotFound(w, r)
		return
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	data, ok := f.media[m[1]]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	if m[2] == "d" || m[2] == "s0-d" {
		if f.FailOriginals {
			http.Error(w, "backend error", http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodGet {
			f.ServedOriginal += int64(len(data))
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		return
	}
	side := 0
	for _, o := range strings.Split(m[2], "-") {
		if len(o) > 1 && strings.ContainsRune("whs", rune(o[0])) {
			if n, err := strconv.Atoi(o[1:]); err == nil {
				side = max(side, n)
			}
		}
	}
	if side == 0 {
		side = 512
	}
	rendered, err := ServerRendered(data, side)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f.ServedRendition += int64(len(rendered))
	w.Write(rendered)
}

// stored returns the data of an upload by its upload URL.
func (f *Google) Upload1(uploadURL string) *GoogleUpload {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	i := strings.Index(uploadURL, "upload_id=")
	id, _, _ := strings.Cut(uploadURL[i+len("upload_id="):], "&")
	return f.Uploads[id]
}

// Lens returns the body lengths of the chunk requests the service got.
func (f *Google) Lens() []int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return append([]int(nil), f.chunkLens...)
}

// UpstreamRequests returns how many requests reached the fake service.
func (f *Google) UpstreamRequests() int {
	f.Guard.Mu.Lock()
	defer f.Guard.Mu.Unlock()
	return f.Guard.Seen
}
