package fakes

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

var ncPhotosPreview = regexp.MustCompile(`^/index\.php/apps/photos/api/v1/preview/([0-9]+)$`)

// ncUser is the signed-in user: Basic auth's user, or alice for a session
// cookie; "" when neither.
func ncUser(r *http.Request) string {
	if u, _, ok := r.BasicAuth(); ok && u != "" {
		return u
	}
	if c, err := r.Cookie("nc_session_id"); err == nil && c.Value != "" {
		return "alice"
	}
	return ""
}

// previews answers the preview endpoints and the legacy WebDAV root; false
// when r is none of them.
func (f *Nextcloud) previews(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	legacy := strings.HasPrefix(p, "/remote.php/webdav/")
	var fileID, file string
	switch {
	case p == "/index.php/core/preview":
		fileID = r.URL.Query().Get("fileId")
	case p == "/index.php/core/preview.png":
		file = r.URL.Query().Get("file")
	case ncPhotosPreview.MatchString(p):
		fileID = ncPhotosPreview.FindStringSubmatch(p)[1]
	case legacy:
	default:
		return false
	}
	user := ncUser(r)
	if user == "" {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return true
	}
	if legacy {
		// The same file as under /remote.php/dav/files/{user}/.
		r2 := r.Clone(r.Context())
		r2.URL.Path = ncRoot + "files/" + user + strings.TrimPrefix(p, "/remote.php/webdav")
		f.Mu.Lock()
		defer f.Mu.Unlock()
		f.files1(w, r2, strings.TrimSuffix(strings.TrimPrefix(r2.URL.Path, ncRoot), "/"), nil)
		return true
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	var data []byte
	for rel, fl := range f.files {
		if (fileID != "" && strconv.Itoa(fl.id) == fileID) || (file != "" && rel == "files/"+user+file) {
			data = fl.Data
		}
	}
	if data == nil {
		http.NotFound(w, r)
		return true
	}
	side := 32
	for _, k := range []string{"x", "y"} {
		if n, err := strconv.Atoi(r.URL.Query().Get(k)); err == nil {
			side = max(side, n)
		}
	}
	out, err := ServerRendered(data, side)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return true
	}
	f.ServedRendition += int64(len(out))
	w.Header().Set("Content-Type", "image/jpeg")
	w.Write(out)
	return true
}

// NextcloudBasic is a Basic Authorization header for user.
func NextcloudBasic(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":app-password"))
}
