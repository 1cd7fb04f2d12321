package proxy

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"jpegveil/config"
	"jpegveil/keeping"
)

// reencoders are the hosts whose service `jpegveil verify` saw re-encode
// photos (keeping.Marks in the state directory). The file is read again
// when it changes, so that a verify run while the proxy serves takes
// effect at the next upload.
type reencoders struct {
	path string
	log  *zap.Logger

	mu    sync.Mutex
	mtime time.Time
	size  int64
	marks map[string]keeping.Mark
}

func newReencoders(stateDir string, log *zap.Logger) *reencoders {
	return &reencoders{path: filepath.Join(stateDir, keeping.MarksFileName), log: log}
}

// lookup returns the mark of host, if any.
func (r *reencoders) lookup(host string) (keeping.Mark, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reload()
	m, ok := r.marks[config.CanonicalHost(host)]
	return m, ok
}

// hosts returns the marked hosts, sorted.
func (r *reencoders) hosts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reload()
	return slices.Sorted(maps.Keys(r.marks))
}

// reload reads the marks again if the file changed; r.mu is held.
func (r *reencoders) reload() {
	fi, err := os.Stat(r.path)
	switch {
	case err != nil:
		r.marks, r.mtime, r.size = nil, time.Time{}, 0
	case !fi.ModTime().Equal(r.mtime) || fi.Size() != r.size:
		marks, err := keeping.LoadMarks(filepath.Dir(r.path))
		if err != nil {
			// Keep the marks known so far: a file being replaced or broken
			// must not lift a refusal.
			r.log.Warn("could not read the re-encoding marks", zap.String("file", r.path), zap.Error(err))
			break
		}
		r.marks, r.mtime, r.size = marks, fi.ModTime(), fi.Size()
	}
}

// reencodeRefusal is the answer to an upload on a rule whose service was
// seen to re-encode photos, unless the rule allows it; nil otherwise.
func (ex *exchange) reencodeRefusal(r *reencoders) error {
	if !ex.rule.Body.IsUpload() || ex.rule.OnReencode == config.ReencodeAllow {
		return nil
	}
	if m := ex.req.Method; m == http.MethodDelete || m == "PROPFIND" {
		return nil // cleaning up or looking at an upload stores nothing
	}
	m, ok := r.lookup(ex.req.URL.Hostname())
	if !ok {
		return nil
	}
	return &refuseError{reason: fmt.Sprintf(
		"%s at %s re-encodes the photos it is sent (jpegveil verify found %d of %d checked re-encoded on %s, e.g. %s): a re-encoded encrypted photo cannot be decrypted and is lost. To fix it, %s; then run 'jpegveil verify' against it again, which lifts this refusal once photos are kept. To upload anyway, set on_reencode: allow on rule %q.",
		m.Service, m.Host, m.Lost, m.Checked, m.Seen.UTC().Format("2006-01-02"), m.Photo, keeping.Fix(m.Service), ex.rule.Name)}
}
