package fakes

import (
	"fmt"
	"net/http"
	"strings"
)

// GridTile is the size of one cell of the grid page, in CSS pixels; a
// thumbnail (at most 250 pixels) sits at its top left.
const GridTile = 260

// GridColumns is the number of cells in a row of the grid page.
const GridColumns = 10

// page serves what needs no credentials: the discovery document
// GET /.well-known/immich (clients find the API there), GET /grid.html, a
// page of every asset's thumbnail (as a shared-link page of Immich's web
// app shows them, with the key in the URL), and POST /metrics, where the
// page reports its paint timings once every tile has loaded.
func (f *Immich) page(w http.ResponseWriter, r *http.Request, body []byte) bool {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/.well-known/immich":
		jsonReply(w, http.StatusOK, map[string]any{"api": map[string]string{"endpoint": "/api"}})
	case r.Method == http.MethodGet && r.URL.Path == "/grid.html":
		f.Mu.Lock()
		ids := append([]string(nil), f.order...)
		f.Mu.Unlock()
		var b strings.Builder
		fmt.Fprintf(&b, `<!doctype html><html><head><meta charset="utf-8"><title>grid</title><style>
html,body{margin:0;padding:0;background:#fff}
#g{display:grid;grid-template-columns:repeat(%d,%dpx);grid-auto-rows:%dpx}
#g div{overflow:hidden} img{display:block}
</style></head><body><div id="g">`, GridColumns, GridTile, GridTile)
		for _, id := range ids {
			fmt.Fprintf(&b, `<div><img src="/api/assets/%s/thumbnail?size=thumbnail&amp;key=shared-link-key"></div>`, id)
		}
		b.WriteString(`</div><script>
window.addEventListener('load', function () {
  var fcp = performance.getEntriesByName('first-contentful-paint')[0];
  var m = {load_ms: performance.now(), fcp_ms: fcp ? fcp.startTime : -1,
    complete: Array.prototype.every.call(document.images, function (i) { return i.complete && i.naturalWidth > 0; })};
  var x = new XMLHttpRequest(); x.open('POST', '/metrics', false); x.send(JSON.stringify(m));
});
</script></body></html>`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte(b.String()))
	case r.Method == http.MethodPost && r.URL.Path == "/metrics":
		f.Mu.Lock()
		f.Metrics = append([]byte(nil), body...)
		f.Mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		return false
	}
	return true
}
