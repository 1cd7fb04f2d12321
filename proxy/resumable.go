package proxy

import (
	"fmt"
	"net/http"

	"jpegveil/config"
)

// uploadResumable handles the routes of a resumable upload protocol: Google's
// (resumable_google.go) and Nextcloud's chunked upload (nextcloud.go). Both
// keep the encryption state of an upload in a session between its requests
// (sessions.go).
func (s *Server) uploadResumable(req *http.Request, ev *event) (*http.Response, error) {
	switch ev.rule.Resumable {
	case config.ResumableGoogle:
		return s.googleUpload(req, ev)
	case config.ResumableNextcloud:
		return s.nextcloudUpload(req, ev)
	}
	return nil, fmt.Errorf("rule %q: unknown resumable protocol %q", ev.rule.Name, ev.rule.Resumable)
}
