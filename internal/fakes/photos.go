package fakes

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Photos is a photo service: POST /upload stores the body and answers
// its ID, GET /objects/{id} serves it back (with Range support), GET
// /thumb/{id} serves a server-made JPEG.
type Photos struct {
	Mu       sync.Mutex
	Objects  map[string][]byte
	LastReq  *http.Request
	Received int // upload requests that reached the service
	Srv      *httptest.Server
	CAFile   string
	Thumb    []byte
}

func (f *Photos) Handler(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/upload":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.ContentLength >= 0 && int64(len(body)) != r.ContentLength {
			http.Error(w, "length mismatch", http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256(body)
		id := hex.EncodeToString(sum[:8])
		f.Mu.Lock()
		f.Objects[id] = body
		f.LastReq = r
		f.Received++
		f.Mu.Unlock()
		io.WriteString(w, id)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/objects/"):
		f.Mu.Lock()
		b, ok := f.Objects[strings.TrimPrefix(r.URL.Path, "/objects/")]
		f.Mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("ETag", `"`+hex.EncodeToString(func() []byte { s := sha256.Sum256(b); return s[:8] }())+`"`)
		http.ServeContent(w, r, "photo.jpg", time.Time{}, bytes.NewReader(b))
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/thumb/"):
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(f.Thumb)
	default:
		http.NotFound(w, r)
	}
}
func NewPhotos(t testing.TB) *Photos {
	f := &Photos{Objects: map[string][]byte{}}
	f.Srv, f.CAFile = NewTLSServer(t, "photos.test", http.HandlerFunc(f.Handler))
	return f
}
