package google

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"jpegveil/proxy/services"
)

// resync asks the service how much of the upload it has after a forward
// that failed, and drops what it has from the session. When the service
// says the upload is final already (the finalize got through but its
// answer was lost), it returns the service's answer. When the service says
// the upload is over (any other status than active or final, or it no
// longer knows it), or has other bytes than the proxy sent, it sets the
// stream's Err: the caller drops the session. Any other error (the service
// did not answer, or answered 5xx) may pass: the session stays unsure.
func resync(ex services.Exchange, g *upload) (*http.Response, error) {
	st := g.st
	resp, err := query(ex)
	if err != nil {
		return nil, err
	}
	status := strings.ToLower(strings.TrimSpace(resp.Header.Get("X-Goog-Upload-Status")))
	if resp.StatusCode == http.StatusOK && status == "final" {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case status != "" && status != "active" && status != "final",
		resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusGone:
		st.Err = &GoneError{Status: status, Code: resp.Status}
		return nil, st.Err
	case resp.StatusCode != http.StatusOK || status != "active":
		return nil, fmt.Errorf("the service answered the upload status query with %s (status %q)", resp.Status, status)
	}
	r, err := strconv.ParseInt(resp.Header.Get("X-Goog-Upload-Size-Received"), 10, 64)
	if err != nil {
		return nil, errors.New("the service's upload status has no X-Goog-Upload-Size-Received")
	}
	if r < st.OutOff || r > st.OutOff+int64(len(st.Out)) {
		st.Err = fmt.Errorf("the service reports %d bytes received, but jpegveil has sent bytes up to %d and holds bytes %d to %d: the upload cannot continue, start it again",
			r, st.OutOff, st.OutOff, st.OutOff+int64(len(st.Out)))
		return nil, st.Err
	}
	st.Ack(int(r - st.OutOff))
	g.unsure = false
	return nil, nil
}

// query asks the service for the status of the upload the exchange's
// request is part of, with its headers (authentication) and no body.
func query(ex services.Exchange) (*http.Response, error) {
	req := ex.Request()
	q := req.Clone(req.Context())
	q.Method = http.MethodPost
	q.Body, q.GetBody, q.ContentLength, q.TransferEncoding = http.NoBody, nil, 0, nil
	for _, h := range []string{"X-Goog-Upload-Offset", "X-Goog-Hash", "Content-MD5", "Content-Type", "Content-Encoding", "Expect"} {
		q.Header.Del(h)
	}
	q.Header.Set("X-Goog-Upload-Command", "query")
	return ex.Env().Upstream.RoundTrip(q)
}

// retryLater answers a request the proxy could not complete with the
// service (it could not do what): it keeps what it received, and the
// client should do next.
func retryLater(req *http.Request, what, next string, err error) *http.Response {
	h := make(http.Header)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Retry-After", "1")
	return services.Respond(req, http.StatusServiceUnavailable, h,
		"jpegveil could not "+what+" ("+err.Error()+"); it keeps what it received: "+next+"\n")
}

// GoneError is why an upload cannot go on when the service ended it
// (cancelled or expired it).
type GoneError struct {
	Status string // X-Goog-Upload-Status, lower case; may be empty
	Code   string // the HTTP status of the service's answer
}

func (e *GoneError) Error() string {
	if e.Status != "" {
		return fmt.Sprintf("the service reports this upload as %s (%s): it cannot continue, start the upload again", e.Status, e.Code)
	}
	return fmt.Sprintf("the service no longer knows this upload (%s): it expired or was cancelled, start the upload again", e.Code)
}

// refusal refuses a request of an upload that cannot go on, with the
// service's X-Goog-Upload-Status when it gave one.
func refusal(ex services.Exchange, err error) *http.Response {
	resp, _ := ex.Refuse(err)
	var gone *GoneError
	if errors.As(err, &gone) && gone.Status != "" {
		resp.Header.Set("X-Goog-Upload-Status", gone.Status)
	}
	return resp
}
