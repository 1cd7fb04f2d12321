package proxy

import (
	"errors"
	"net/http"
	"strings"
)

// uploadResumable handles the routes of a resumable upload protocol.
func (s *Server) uploadResumable(req *http.Request, ev *event) (*http.Response, error) {
	switch ev.rule.Resumable {
	case ResumableGoogle:
		// The same endpoint takes single-request uploads.
		if strings.EqualFold(req.Header.Get("X-Goog-Upload-Protocol"), "raw") {
			return s.upload(req, ev)
		}
	}
	ev.dir = "upload"
	defer ev.log()
	return s.unsupported(req, ev, errors.New("resumable uploads are not supported yet"))
}
