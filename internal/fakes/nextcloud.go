package fakes

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/adler32"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Nextcloud is Nextcloud's WebDAV endpoint /remote.php/dav:
//
//   - files/{user}/…: PROPFIND (Depth 0 and 1), MKCOL, PUT (with
//     OC-Checksum, checked and stored, and X-OC-Mtime), GET/HEAD with Range,
//     DELETE;
//   - uploads/{user}/{folder}: chunked upload. MKCOL opens it (with a
//     Destination header it is v2: every chunk PUT needs Destination,
//     chunk names are numbers from 1 to 10000, and with minChunk set every
//     chunk but the last must be at least that long, as with object
//     storage); PUT stores a chunk; PROPFIND lists them; MOVE .file
//     assembles the chunks in the natural order of their names (PHP's
//     strnatcmp), checks OC-Total-Length and OC-Checksum, and moves the
//     file to Destination; DELETE aborts.
//
// Previews (previews.go): /index.php/core/preview?fileId=,
// /index.php/core/preview.png?file=, /index.php/apps/photos/api/v1/preview/
// {fileId}, and the legacy WebDAV root /remote.php/webdav/ of the signed-in
// user, with Basic auth or a session cookie.
//
// oc:checksums in PROPFIND answers is what the client sent in OC-Checksum,
// as Nextcloud stores it. Every request goes through the plaintext-hash
// guard.
type Nextcloud struct {
	t     testing.TB
	Srv   *httptest.Server
	CA    string
	Guard *PlainGuard
	// minChunk is the least size of a v2 chunk but the last (0: none).
	minChunk int
	// Keeping is what the server does to a file before storing it.
	Keeping Keeping

	Mu      sync.Mutex
	files   map[string]*NextcloudFile // by path under /remote.php/dav/files/
	dirs    map[string]bool
	Uploads map[string]*NextcloudUpload // by folder path under /remote.php/dav/uploads/
	// chunkPuts lists the upstream chunk names PUT, in order.
	chunkPuts []string
	nextID    int
	// failPuts makes the next chunk PUTs fail with 503 ("" lets one
	// through), before storing them.
	FailPuts []string
	// FailOriginals makes GETs of files answer 503.
	FailOriginals bool
	// ServedOriginal and ServedRendition count the bytes of files and
	// previews served.
	ServedOriginal, ServedRendition int64
}

type NextcloudFile struct {
	Data     []byte
	mtime    time.Time
	Checksum string
	id       int
}

type NextcloudUpload struct {
	dest   string // v2
	chunks map[string][]byte
}

const ncRoot = "/remote.php/dav/"

func NewNextcloud(t testing.TB) *Nextcloud {
	f := &Nextcloud{t: t, Guard: NewPlainGuard(t), files: map[string]*NextcloudFile{}, dirs: map[string]bool{}, Uploads: map[string]*NextcloudUpload{}}
	f.Srv, f.CA = NewMultiHostTLSServer(t, http.HandlerFunc(f.handle))
	return f
}

// File returns a stored file by its path under files/ ("alice/Photos/a.jpg").
func (f *Nextcloud) File(p string) *NextcloudFile {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.files["files/"+p]
}

// checkOCChecksum verifies an OC-Checksum header against data.
func checkOCChecksum(v string, data []byte) error {
	for _, item := range strings.Fields(v) {
		typ, val, _ := strings.Cut(item, ":")
		var want string
		switch strings.ToUpper(typ) {
		case "SHA1":
			s := sha1.Sum(data)
			want = hex.EncodeToString(s[:])
		case "MD5":
			s := md5.Sum(data)
			want = hex.EncodeToString(s[:])
		case "SHA256":
			s := sha256.Sum256(data)
			want = hex.EncodeToString(s[:])
		case "ADLER32":
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], adler32.Checksum(data))
			want = hex.EncodeToString(a[:])
		default:
			return fmt.Errorf("unknown checksum type %q", typ)
		}
		if !strings.EqualFold(val, want) {
			return fmt.Errorf("checksum mismatch: %s:%s, data has %s", typ, val, want)
		}
	}
	return nil
}

func (f *Nextcloud) handle(w http.ResponseWriter, r *http.Request) {
	body, ok := f.Guard.ReadBody(w, r)
	if !ok {
		return
	}
	if f.previews(w, r) {
		return
	}
	rel, ok := strings.CutPrefix(r.URL.Path, ncRoot)
	if !ok {
		http.NotFound(w, r)
		return
	}
	rel = strings.TrimSuffix(rel, "/")
	f.Mu.Lock()
	defer f.Mu.Unlock()
	switch {
	case strings.HasPrefix(rel, "files/"):
		f.files1(w, r, rel, body)
	case strings.HasPrefix(rel, "uploads/"):
		f.uploads1(w, r, rel, body)
	default:
		http.NotFound(w, r)
	}
}

// userRoot is files/{user} of a path under files/.
func userRoot(rel string) string {
	parts := strings.SplitN(rel, "/", 3)
	if len(parts) < 2 {
		return rel
	}
	return parts[0] + "/" + parts[1]
}

func (f *Nextcloud) isDir(rel string) bool { return f.dirs[rel] || rel == userRoot(rel) }

func (f *Nextcloud) files1(w http.ResponseWriter, r *http.Request, rel string, body []byte) {
	switch r.Method {
	case "PROPFIND":
		f.propfind(w, r, rel)
	case "MKCOL":
		switch {
		case f.isDir(rel) || f.files[rel] != nil:
			http.Error(w, "exists", http.StatusMethodNotAllowed)
		case !f.isDir(path.Dir(rel)):
			http.Error(w, "parent missing", http.StatusConflict)
		default:
			f.dirs[rel] = true
			w.WriteHeader(http.StatusCreated)
		}
	case http.MethodPut:
		if err := checkOCChecksum(r.Header.Get("OC-Checksum"), body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.store(w, r, rel, body)
	case http.MethodGet, http.MethodHead:
		fl := f.files[rel]
		if fl == nil {
			http.NotFound(w, r)
			return
		}
		if f.FailOriginals {
			http.Error(w, "storage unavailable", http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodGet {
			f.ServedOriginal += int64(len(fl.Data))
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("ETag", fmt.Sprintf(`"%x"`, fl.mtime.UnixNano()))
		w.Header().Set("OC-Checksum", fl.Checksum)
		http.ServeContent(w, r, "", fl.mtime, bytes.NewReader(fl.Data))
	case http.MethodDelete:
		if f.files[rel] == nil && !f.dirs[rel] {
			http.NotFound(w, r)
			return
		}
		for k := range f.files {
			if k == rel || strings.HasPrefix(k, rel+"/") {
				delete(f.files, k)
			}
		}
		for k := range f.dirs {
			if k == rel || strings.HasPrefix(k, rel+"/") {
				delete(f.dirs, k)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// store puts a file at rel and answers as Nextcloud does.
func (f *Nextcloud) store(w http.ResponseWriter, r *http.Request, rel string, data []byte) {
	if !f.isDir(path.Dir(rel)) {
		http.Error(w, "parent missing", http.StatusConflict)
		return
	}
	old := f.files[rel]
	mt := time.Now()
	if v := r.Header.Get("X-OC-Mtime"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil {
			mt = time.Unix(int64(s), 0)
			w.Header().Set("X-OC-MTime", "accepted")
		}
	}
	f.nextID++
	fl := &NextcloudFile{Data: f.Keeping.Apply(data), mtime: mt, Checksum: r.Header.Get("OC-Checksum"), id: f.nextID}
	f.files[rel] = fl
	etag := fmt.Sprintf(`"%x"`, fl.mtime.UnixNano()+int64(fl.id))
	w.Header().Set("OC-ETag", etag)
	w.Header().Set("ETag", etag)
	w.Header().Set("OC-FileId", fmt.Sprintf("%08docfake", fl.id))
	if old != nil {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusCreated)
	}
}

type davProp struct {
	XMLName       xml.Name `xml:"d:prop"`
	LastModified  string   `xml:"d:getlastmodified,omitempty"`
	ContentLength *int     `xml:"d:getcontentlength,omitempty"`
	ContentType   string   `xml:"d:getcontenttype,omitempty"`
	ETag          string   `xml:"d:getetag,omitempty"`
	ResourceType  struct {
		Collection *struct{} `xml:"d:collection,omitempty"`
	} `xml:"d:resourcetype"`
	Checksums *struct {
		Checksum string `xml:"oc:checksum"`
	} `xml:"oc:checksums,omitempty"`
	FileID string `xml:"oc:fileid,omitempty"`
}

type davResponse struct {
	Href     string `xml:"d:href"`
	Propstat struct {
		Prop   davProp `xml:"d:prop"`
		Status string  `xml:"d:status"`
	} `xml:"d:propstat"`
}

func (f *Nextcloud) entry(rel string, dir bool) davResponse {
	var e davResponse
	e.Href = (&url.URL{Path: ncRoot + rel}).EscapedPath()
	if dir {
		e.Href += "/"
		e.Propstat.Prop.ResourceType.Collection = &struct{}{}
		e.Propstat.Prop.LastModified = time.Now().UTC().Format(http.TimeFormat)
	} else {
		var data []byte
		mt := time.Now()
		if fl := f.files[rel]; fl != nil {
			data, mt = fl.Data, fl.mtime
			if fl.Checksum != "" {
				e.Propstat.Prop.Checksums = &struct {
					Checksum string `xml:"oc:checksum"`
				}{fl.Checksum}
			}
			e.Propstat.Prop.FileID = strconv.Itoa(fl.id)
			e.Propstat.Prop.ETag = fmt.Sprintf(`"%x"`, fl.mtime.UnixNano()+int64(fl.id))
		} else if up, chunk := f.chunkOf(rel); up != nil {
			data = up.chunks[chunk]
		}
		n := len(data)
		e.Propstat.Prop.ContentLength = &n
		e.Propstat.Prop.ContentType = "image/jpeg"
		e.Propstat.Prop.LastModified = mt.UTC().Format(http.TimeFormat)
	}
	e.Propstat.Status = "HTTP/1.1 200 OK"
	return e
}

func (f *Nextcloud) chunkOf(rel string) (*NextcloudUpload, string) {
	up := f.Uploads[path.Dir(rel)]
	if up == nil {
		return nil, ""
	}
	return up, path.Base(rel)
}

func (f *Nextcloud) propfind(w http.ResponseWriter, r *http.Request, rel string) {
	var list []davResponse
	switch {
	case f.files[rel] != nil:
		list = append(list, f.entry(rel, false))
	case f.isDir(rel) || f.Uploads[rel] != nil:
		list = append(list, f.entry(rel, true))
		if r.Header.Get("Depth") != "0" {
			var names []string
			if up := f.Uploads[rel]; up != nil {
				for n := range up.chunks {
					names = append(names, rel+"/"+n)
				}
			}
			for k := range f.files {
				if path.Dir(k) == rel {
					names = append(names, k)
				}
			}
			sort.Strings(names)
			for d := range f.dirs {
				if path.Dir(d) == rel {
					list = append(list, f.entry(d, true))
				}
			}
			for _, n := range names {
				list = append(list, f.entry(n, false))
			}
		}
	default:
		http.NotFound(w, r)
		return
	}
	out, err := xml.Marshal(struct {
		XMLName   xml.Name      `xml:"d:multistatus"`
		D         string        `xml:"xmlns:d,attr"`
		OC        string        `xml:"xmlns:oc,attr"`
		Responses []davResponse `xml:"d:response"`
	}{D: "DAV:", OC: "http://owncloud.org/ns", Responses: list})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	w.Write([]byte(xml.Header))
	w.Write(out)
}

// destPath turns a Destination header into a path under ncRoot.
func destPath(v string) (string, bool) {
	u, err := url.Parse(v)
	if err != nil {
		return "", false
	}
	rel, ok := strings.CutPrefix(u.Path, ncRoot)
	return strings.TrimSuffix(rel, "/"), ok && strings.HasPrefix(rel, "files/")
}

func (f *Nextcloud) uploads1(w http.ResponseWriter, r *http.Request, rel string, body []byte) {
	parts := strings.Split(rel, "/") // uploads, user, folder[, chunk]
	if len(parts) < 3 || len(parts) > 4 {
		http.Error(w, "not an upload folder", http.StatusForbidden)
		return
	}
	folder := strings.Join(parts[:3], "/")
	up := f.Uploads[folder]
	if len(parts) == 3 {
		f.uploadFolder(w, r, rel, folder, up)
		return
	}
	if up == nil {
		http.NotFound(w, r)
		return
	}
	name := parts[3]
	if up.dest != "" && r.Header.Get("Destination") == "" {
		http.Error(w, "chunked upload v2 needs a Destination header", http.StatusBadRequest)
		return
	}
	switch {
	case r.Method == http.MethodPut:
		f.putChunk(w, r, up, name, body)
	case r.Method == "MOVE" && name == ".file":
		f.assemble(w, r, folder, up)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// uploadFolder creates, deletes or lists an upload folder.
func (f *Nextcloud) uploadFolder(w http.ResponseWriter, r *http.Request, rel, folder string, up *NextcloudUpload) {
	switch r.Method {
	case "MKCOL":
		if up != nil {
			http.Error(w, "exists", http.StatusMethodNotAllowed)
			return
		}
		up = &NextcloudUpload{chunks: map[string][]byte{}}
		if d := r.Header.Get("Destination"); d != "" {
			if _, ok := destPath(d); !ok {
				http.Error(w, "bad Destination", http.StatusBadRequest)
				return
			}
			up.dest = d
		}
		f.Uploads[folder] = up
		w.WriteHeader(http.StatusCreated)
	case http.MethodDelete:
		if up == nil {
			http.NotFound(w, r)
			return
		}
		delete(f.Uploads, folder)
		w.WriteHeader(http.StatusNoContent)
	case "PROPFIND":
		if up == nil {
			http.NotFound(w, r)
			return
		}
		f.propfind(w, r, rel)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// putChunk stores one chunk of an upload.
func (f *Nextcloud) putChunk(w http.ResponseWriter, r *http.Request, up *NextcloudUpload, name string, body []byte) {
	if up.dest != "" {
		n, err := strconv.Atoi(name)
		if err != nil || n < 1 || n > 10000 {
			http.Error(w, "chunk names are numbers from 1 to 10000", http.StatusBadRequest)
			return
		}
	}
	if err := checkOCChecksum(r.Header.Get("OC-Checksum"), body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(f.FailPuts) > 0 {
		fail := f.FailPuts[0]
		f.FailPuts = f.FailPuts[1:]
		if fail != "" {
			http.Error(w, "storage unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	_, existed := up.chunks[name]
	up.chunks[name] = body
	f.chunkPuts = append(f.chunkPuts, name)
	if existed {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusCreated)
	}
}

// assemble joins the chunks of an upload in natural order and stores the
// file at Destination.
func (f *Nextcloud) assemble(w http.ResponseWriter, r *http.Request, folder string, up *NextcloudUpload) {
	dest, ok := destPath(r.Header.Get("Destination"))
	if !ok {
		http.Error(w, "bad Destination", http.StatusBadRequest)
		return
	}
	var names []string
	for n := range up.chunks {
		names = append(names, n)
	}
	SortNatural(names)
	var data []byte
	for i, n := range names {
		c := up.chunks[n]
		if up.dest != "" && f.minChunk > 0 && i < len(names)-1 && len(c) < f.minChunk {
			http.Error(w, fmt.Sprintf("chunk %s has %d bytes, below the minimum of %d", n, len(c), f.minChunk), http.StatusBadRequest)
			return
		}
		data = append(data, c...)
	}
	if v := r.Header.Get("OC-Total-Length"); v != "" && v != strconv.Itoa(len(data)) {
		http.Error(w, fmt.Sprintf("expected %s bytes, the chunks have %d", v, len(data)), http.StatusBadRequest)
		return
	}
	if err := checkOCChecksum(r.Header.Get("OC-Checksum"), data); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	delete(f.Uploads, folder)
	f.store(w, r, dest, data)
}

// Puts returns the chunk names PUT so far.
func (f *Nextcloud) Puts() []string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return append([]string(nil), f.chunkPuts...)
}

func (f *Nextcloud) SetMinChunk(n int) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.minChunk = n
}
