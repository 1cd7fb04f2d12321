package nextcloud

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

const uploadsMarker = "/remote.php/dav/uploads/"

// uploadPath splits a path of the chunked-upload space into the upload
// folder (…/uploads/{user}/{dir}) and the name inside it ("" for the
// folder itself).
func uploadPath(p string) (dir, name string, ok bool) {
	i := strings.Index(p, uploadsMarker)
	if i < 0 {
		return "", "", false
	}
	parts := strings.Split(strings.TrimSuffix(p[i+len(uploadsMarker):], "/"), "/")
	for _, s := range parts {
		if s == "" || s == "." || s == ".." {
			return "", "", false
		}
	}
	switch len(parts) {
	case 2:
		return p[:i+len(uploadsMarker)] + parts[0] + "/" + parts[1], "", true
	case 3:
		return p[:i+len(uploadsMarker)] + parts[0] + "/" + parts[1], parts[2], true
	}
	return "", "", false
}

// chunkName is a parsed chunk name: a number, or a byte range.
type chunkName struct {
	isRange    bool
	num        int64 // number, or range start
	end        int64 // range end
	wNum, wEnd int   // digits as written
}

var rangeName = regexp.MustCompile(`^([0-9]{1,18})-([0-9]{1,18})$`)

func parseChunkName(name string) (chunkName, bool) {
	if isDigits(name) && len(name) <= 18 {
		n, _ := strconv.ParseInt(name, 10, 64)
		return chunkName{num: n, wNum: len(name)}, true
	}
	if m := rangeName.FindStringSubmatch(name); m != nil {
		a, _ := strconv.ParseInt(m[1], 10, 64)
		b, _ := strconv.ParseInt(m[2], 10, 64)
		return chunkName{isRange: true, num: a, end: b, wNum: len(m[1]), wEnd: len(m[2])}, true
	}
	return chunkName{}, false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// upstreamName names an upstream chunk that covers n bytes from off: a
// numbered chunk keeps its number, a range chunk is renamed to the range.
func (c chunkName) upstreamName(off int64, n int) string {
	if !c.isRange {
		return fmt.Sprintf("%0*d", c.wNum, c.num)
	}
	return fmt.Sprintf("%0*d-%0*d", c.wNum, off, c.wEnd, off+int64(n)-1)
}

const filesMarker = "/remote.php/dav/files/"

// UploadID is the WebDAV path of the file an upload wrote: the path of a
// PUT under /remote.php/dav/files/, or the Destination of the MOVE that
// assembles a chunked upload. It is the path as the URL spells it
// (escaped), from /remote.php on.
func (Service) UploadID(req *http.Request, _ *http.Response, _ []byte) (string, bool) {
	switch {
	case req.Method == http.MethodPut:
		return filesPath(req.URL)
	case req.Method == "MOVE":
		if _, name, ok := uploadPath(req.URL.Path); !ok || name != ".file" {
			return "", false
		}
		dest, err := url.Parse(req.Header.Get("Destination"))
		if err != nil {
			return "", false
		}
		return filesPath(dest)
	}
	return "", false
}

// DownloadID is the WebDAV path of a GET under /remote.php/dav/files/.
func (Service) DownloadID(req *http.Request) (string, bool) {
	if req.Method != http.MethodGet {
		return "", false
	}
	return filesPath(req.URL)
}

// OriginalURL is where `jpegveil verify` fetches the file at path id
// (from /remote.php on) from the server at base, which may be in a
// subfolder (https://example.org/nextcloud).
func OriginalURL(base *url.URL, id string) *url.URL {
	u := *base
	p, err := url.PathUnescape(id)
	if err != nil {
		p = id
	}
	u.Path = strings.TrimSuffix(base.Path, "/") + p
	u.RawPath = strings.TrimSuffix(base.EscapedPath(), "/") + id
	return &u
}

// filesPath is u's path from /remote.php/dav/files/ on, escaped, if it
// names a file there.
func filesPath(u *url.URL) (string, bool) {
	p := u.EscapedPath()
	i := strings.Index(p, filesMarker)
	if i < 0 || strings.HasSuffix(p, "/") || len(p) == i+len(filesMarker) {
		return "", false
	}
	return p[i:], true
}
