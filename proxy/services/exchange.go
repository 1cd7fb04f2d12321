// Package services is what the proxy's dispatcher and the packages of the
// photo services below it share: the Exchange through which a service
// handles one intercepted request, the typed outcome it records, and the
// Env of long-lived resources it works with. The services implement the
// proxy's Service interface without importing the proxy.
package services

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"jpegveil/config"
	"jpegveil/proxy/internal/budget"
	"jpegveil/proxy/internal/hashes"
	"jpegveil/proxy/internal/session"
	"jpegveil/veil"
)

// Exchange is one intercepted request as a service sees it. The dispatcher
// logs it once, when it is done, with the outcome recorded last.
type Exchange interface {
	// Request is the client's request.
	Request() *http.Request
	// Rule is the rule that matched it.
	Rule() *config.Rule
	// Env holds what lives longer than one request.
	Env() *Env

	// Record sets the outcome, and the error behind it if any.
	Record(Outcome, error)
	// Sent records the bytes that went upstream.
	Sent(n int64)
	// SetResult records the transform's result.
	SetResult(veil.Result)
	// SetFileHash records the SHA-256 of the whole file as it went
	// upstream, which the ledger keeps when the service accepts it.
	SetFileHash(sum [32]byte)

	// RoundTrip sends req (the request or one the service derived from
	// it) upstream; a failure is recorded as the exchange's outcome.
	RoundTrip(req *http.Request) (*http.Response, error)
	// Pass records outcome and sends the request upstream unchanged.
	Pass(Outcome) (*http.Response, error)
	// Refuse answers 502 with why, after draining the request body.
	Refuse(why error) (*http.Response, error)
	// Unsupported applies the rule's on_unsupported policy to a request
	// jpegveil cannot encrypt, for the reason why: refused, or passed
	// upstream unchanged.
	Unsupported(why error) (*http.Response, error)
	// Upload encrypts the request body as the file (a raw upload) and
	// sends it upstream.
	Upload() (*http.Response, error)
}

// Env is what the services share for the life of the proxy.
type Env struct {
	Config *config.Config
	// Upstream sends a request to the service.
	Upstream http.RoundTripper
	// Sessions holds the uploads in progress that span several requests.
	Sessions *session.Table
	// Memory is the budget every buffer of an upload is taken from.
	Memory *budget.Budget
	// Hashes knows every hash header of every service.
	Hashes *hashes.Parser
	// NewStream starts the encryption of an upload on rule that spans
	// several requests, keeping the hashes algs of the whole file.
	NewStream func(rule *config.Rule, algs ...hashes.Alg) *session.Stream
	// Checksums maps the checksums of the proxy's photos to those of
	// their ciphertexts.
	Checksums Checksums
	// Names keeps what the services' answers taught the proxy.
	Names Names
}

// HashBuffer is limits.hash_buffer: the most of an upload held in memory.
func (e *Env) HashBuffer() int64 { return int64(e.Config.Limits.HashBuffer) }

// Direction is which way the photo of an exchange travels.
type Direction uint8

// Directions.
const (
	Upload Direction = iota + 1
	Download
)

func (d Direction) String() string {
	switch d {
	case Upload:
		return "upload"
	case Download:
		return "download"
	}
	return "none"
}

// Outcome is what became of an intercepted request, as logged.
type Outcome string

// Outcomes.
const (
	Transformed       Outcome = "transformed"        // the photo was encrypted
	Decrypted         Outcome = "decrypted"          // the photo was decrypted
	PartlyTransformed Outcome = "partly-transformed" // on_unsupported pass: encrypted up to a problem
	Passed            Outcome = "passed"             // nothing to transform
	PassedKnown       Outcome = "passed-known"       // a ciphertext of ours, sent as it is
	PassedUnsupported Outcome = "passed-unsupported" // on_unsupported pass: sent unchanged
	PassedHead        Outcome = "passed-head"
	PassedNotJPEG     Outcome = "passed-not-jpeg"
	Empty             Outcome = "empty" // an upload without a body
	Refused           Outcome = "refused"
	ClientError       Outcome = "client-error"   // the client broke off
	UpstreamError     Outcome = "upstream-error" // the service could not be reached
	Failed            Outcome = "error"          // decryption failed midway

	// Uploads in several requests.
	SessionStarted       Outcome = "session-started"
	Held                 Outcome = "held" // committed, nothing ready to go up yet
	Forwarded            Outcome = "forwarded"
	Cancelled            Outcome = "cancelled"
	AnsweredRepeat       Outcome = "answered-repeat"
	AnsweredQuery        Outcome = "answered-query"
	AnsweredFinal        Outcome = "answered-final"
	PassedUnknownSession Outcome = "passed-unknown-session"

	// The rest of a service's API (rules with body api).
	PreviewRendered Outcome = "preview-rendered" // rendered from the decrypted original
	PreviewCached   Outcome = "preview-cached"   // served from the preview cache
	PreviewFallback Outcome = "preview-fallback" // the original could not be had: the service's own rendition passed
	Translated      Outcome = "translated"       // checksums translated
)

// PassedStatus is the outcome of a request the service answered with a
// status the proxy passes on as it is.
func PassedStatus(code int) Outcome { return Outcome("passed-status-" + strconv.Itoa(code)) }

// TailStatus is the outcome of an upload whose held-back end the service
// refused with code.
func TailStatus(code int) Outcome { return Outcome("tail-status-" + strconv.Itoa(code)) }

// Of is the outcome of a transform that ran to its end.
func Of(r veil.Result) Outcome {
	switch {
	case r.Err != nil && r.Transformed:
		return PartlyTransformed
	case r.Err != nil:
		return PassedUnsupported
	case r.Transformed:
		return Transformed
	case r.HasFingerprint:
		return PassedKnown
	}
	return Passed
}

// MaxAnswerPeek is how much of the body of a service's answer to an upload
// the proxy reads ahead to learn the photo's identity (an upload's answer
// is a short JSON document or text).
const MaxAnswerPeek = 64 << 10

// Respond is an answer the proxy gives itself.
func Respond(req *http.Request, code int, h http.Header, body string) *http.Response {
	if h == nil {
		h = make(http.Header)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", code, http.StatusText(code)),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// maxDrain bounds how much of an unread request body is read and dropped
// before the proxy answers a refusal: a client still sending its body when
// the connection closes often sees a reset instead of the answer.
const maxDrain = 64 << 20

// SetBody makes data the body of r, to be sent upstream with a known
// length: the transport may read it again (GetBody), and no 100-continue
// is awaited for bytes the proxy already holds.
func SetBody(r *http.Request, data []byte) {
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	r.ContentLength = int64(len(data))
	r.TransferEncoding = nil
	r.Header.Del("Expect")
	r.Header.Del("Content-Length")
}

// Drain reads and drops what is left of a request body, up to maxDrain.
func Drain(body io.Reader) {
	if body != nil && body != http.NoBody {
		io.CopyN(io.Discard, body, maxDrain)
	}
}

// ReadCloser joins a reader and the closer of the body it reads from.
type ReadCloser struct {
	io.Reader
	io.Closer
}

// Compressed returns the request's content coding, or "" for none.
func Compressed(h http.Header) string {
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return ce
	}
	return ""
}
