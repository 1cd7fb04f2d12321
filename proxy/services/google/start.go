package google

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"jpegveil/config"
	"jpegveil/proxy/internal/hashes"
	"jpegveil/proxy/services"
)

// maxStartBody bounds the body of a start request: JSON metadata.
const maxStartBody = 1 << 20

// start forwards the start of a resumable upload and opens its session
// under the upload URL the service answers. A start must carry no data of
// the file (see the protocol notes in the package documentation).
func start(ex services.Exchange, cmds commands) (*http.Response, error) {
	req := ex.Request()
	if cmds.upload || cmds.finalize {
		return ex.Unsupported(fmt.Errorf("X-Goog-Upload-Command %q starts an upload and sends its data in one request; jpegveil encrypts a resumable upload only when its data comes in upload requests after the start", req.Header.Get("X-Goog-Upload-Command")))
	}
	if cmds.unknown != "" {
		return ex.Refuse(fmt.Errorf("unknown X-Goog-Upload-Command %q", cmds.unknown))
	}
	// The body: nothing, or JSON metadata. It is read whole (it is small)
	// to check it and any hash of it.
	if ce := services.Compressed(req.Header); ce != "" {
		return ex.Unsupported(fmt.Errorf("the start request of a resumable upload is compressed (Content-Encoding: %s)", ce))
	}
	b, unsupported, err := readStartBody(req)
	switch {
	case err != nil:
		ex.Record(services.ClientError, err)
		return nil, err
	case unsupported != nil:
		return ex.Unsupported(unsupported)
	}
	if err := checkStartHashes(ex.Env().Hashes, req.Header, b); err != nil {
		return ex.Refuse(err)
	}
	if len(b) == 0 {
		req.Body = http.NoBody
	} else {
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	req.ContentLength, req.TransferEncoding = int64(len(b)), nil
	resp, err := ex.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	return openSession(ex, resp)
}

// readStartBody reads the body of a start request, which must be empty or
// JSON metadata; unsupported says why it is neither (the body is then put
// back as it came).
func readStartBody(req *http.Request) (b []byte, unsupported, err error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil, nil
	}
	b, err = io.ReadAll(io.LimitReader(req.Body, maxStartBody+1))
	if err != nil {
		return nil, nil, err
	}
	if len(b) > maxStartBody {
		req.Body = services.ReadCloser{Reader: io.MultiReader(bytes.NewReader(b), req.Body), Closer: req.Body}
		return nil, fmt.Errorf("the start request of a resumable upload carries a body of more than %s; a start carries JSON metadata, never the file", config.Size(maxStartBody)), nil
	}
	if len(bytes.TrimSpace(b)) > 0 && !json.Valid(b) {
		req.Body = services.ReadCloser{Reader: bytes.NewReader(b), Closer: req.Body}
		return nil, errors.New("the start request of a resumable upload carries a body that is not JSON metadata (the file goes in upload requests after the start)"), nil
	}
	return b, nil, nil
}

// openSession keeps a session for the upload URL the service answered to a
// start, after checking that a rule of this protocol covers it: otherwise
// the chunks would reach the service unencrypted.
func openSession(ex services.Exchange, resp *http.Response) (*http.Response, error) {
	req, env := ex.Request(), ex.Env()
	loc := resp.Header.Get("X-Goog-Upload-URL")
	if resp.StatusCode/100 != 2 || loc == "" {
		ex.Record(services.PassedStatus(resp.StatusCode), nil)
		return resp, nil
	}
	u, err := req.URL.Parse(loc)
	var rule *config.Rule
	if err == nil {
		rule = env.Config.Match(http.MethodPost, u.Hostname(), u.Path)
	}
	if rule == nil || rule.Body != config.BodyResumable || rule.Resumable != config.ResumableGoogle {
		resp.Body.Close()
		host := ""
		if u != nil {
			host = u.Hostname() + u.Path
		}
		return ex.Refuse(fmt.Errorf("the service gave an upload URL (%s) that no resumable google rule covers: its chunks would reach the service unencrypted", host))
	}
	gran := granularity
	if v, err := strconv.Atoi(resp.Header.Get("X-Goog-Upload-Chunk-Granularity")); err == nil && v > 0 && v <= 64<<20 {
		gran = v
	}
	env.Sessions.Add(sessionKey(u), &upload{st: env.NewStream(rule, hashes.MD5, hashes.CRC32C), gran: gran})
	ex.Record(services.SessionStarted, nil)
	return resp, nil
}

// checkStartHashes refuses a start request that carries a hash of the file:
// directly (a hash header that does not match the start's own body, which
// is metadata) or as a header of the upload to come
// (X-Goog-Upload-Header-Content-MD5, X-Goog-Upload-Header-X-Goog-Hash, …),
// which jpegveil cannot recompute before it has encrypted the file.
func checkStartHashes(p *hashes.Parser, h http.Header, body []byte) error {
	upload := make(http.Header)
	const prefix = "X-Goog-Upload-Header-"
	for k, vs := range h {
		k = http.CanonicalHeaderKey(k)
		if len(k) > len(prefix) && strings.EqualFold(k[:len(prefix)], prefix) {
			for _, v := range vs {
				upload.Add(k[len(prefix):], v)
			}
		}
	}
	found, err := p.Parse(upload)
	if err != nil || len(found) > 0 {
		return fmt.Errorf("the start of the upload carries a hash of the file (%s); jpegveil cannot recompute it before it has encrypted the file: send hashes with the upload requests instead", startHashNames(p, upload, prefix))
	}
	found, err = p.Parse(h)
	if err != nil {
		return err
	}
	if len(found) > 0 {
		// A hash of the start's body (metadata) passes; any other value
		// could be a hash of the file.
		span := &hashes.Span{What: "start request's body"}
		span.Plain = hashes.Of(body, hashes.Algs(found)...)
		span.Cipher = span.Plain
		if err := hashes.Rewrite(http.Header{}, found, span, nil); err != nil {
			return err
		}
	}
	return nil
}

// startHashNames names the hash headers among the upload headers of a start.
func startHashNames(p *hashes.Parser, upload http.Header, prefix string) string {
	var names []string
	for _, n := range p.Names() {
		if len(upload.Values(n)) > 0 {
			names = append(names, prefix+n)
		}
	}
	return strings.Join(names, ", ")
}

// bodyEmpty reports whether req has no body, reading at most one byte of
// it; a body that is not empty is left as it was.
func bodyEmpty(req *http.Request) (bool, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return true, nil
	}
	if req.ContentLength > 0 {
		return false, nil
	}
	var one [1]byte
	n, err := io.ReadFull(req.Body, one[:])
	if n == 1 {
		req.Body = services.ReadCloser{Reader: io.MultiReader(bytes.NewReader(one[:]), req.Body), Closer: req.Body}
		return false, nil
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		req.Body, req.ContentLength, req.TransferEncoding = http.NoBody, 0, nil
		return true, nil
	}
	return false, err
}
