package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"jpegveil/config"
	"jpegveil/jpegbits"
	"jpegveil/proxy/internal/direction"
	"jpegveil/proxy/services"
	"jpegveil/veil"
)

// exchange is one intercepted request: the rule that matched it, which way
// the photo goes, and what became of it, logged as one line when it is
// done. It is the services.Exchange the services handle requests through.
type exchange struct {
	req   *http.Request
	rule  *config.Rule
	env   *services.Env
	crypt *crypt
	log   *zap.Logger
	start time.Time
	dir   services.Direction
	// capture follows an upload whose service names the photo in its
	// answer (identifiedUpload).
	capture *uploadCapture
	// kept starts the download check (kept.go); health counts its
	// findings.
	kept   func(*http.Request, *http.Response) *keptCheck
	health *health

	outcome services.Outcome
	err     error
	bytes   int64
	result  veil.Result
	// fileHash is the SHA-256 of the file as it went upstream (hasHash).
	fileHash [32]byte
	hasHash  bool
	// decision is the photo's direction, once decided.
	decision *direction.Decision
	// prefix is the one decision was made on, until transform takes it.
	prefix *direction.Prefix
	// logOnClose is set when the response body, once closed, logs the
	// exchange (a download decrypted as the client reads it).
	logOnClose bool
	logged     bool
}

func (s *Server) newExchange(req *http.Request, rule *config.Rule) *exchange {
	dir := services.Upload
	if rule.Body == config.BodyDownload {
		dir = services.Download
	}
	return &exchange{req: req, rule: rule, env: s.env, crypt: s.crypt, log: s.log, start: time.Now(), dir: dir,
		kept: s.newKeptCheck, health: &s.health}
}

func (ex *exchange) Request() *http.Request { return ex.req }
func (ex *exchange) Rule() *config.Rule     { return ex.rule }
func (ex *exchange) Env() *services.Env     { return ex.env }

func (ex *exchange) Record(o services.Outcome, err error) { ex.outcome, ex.err = o, err }

func (ex *exchange) Sent(n int64) { ex.bytes = n }

func (ex *exchange) SetResult(r veil.Result) { ex.result = r }

func (ex *exchange) SetFileHash(sum [32]byte) { ex.fileHash, ex.hasHash = sum, true }

func (ex *exchange) Pass(o services.Outcome) (*http.Response, error) {
	ex.outcome = o
	return ex.RoundTrip(ex.req)
}

// RoundTrip sends req upstream; a failure is the exchange's outcome.
func (ex *exchange) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := ex.env.Upstream.RoundTrip(req)
	if err != nil {
		ex.Record(services.UpstreamError, err)
	}
	return resp, err
}

func (ex *exchange) Refuse(why error) (*http.Response, error) {
	services.Drain(ex.req.Body)
	return ex.refusal(why), nil
}

// refusal records why the upload is refused and answers 502 with the
// reason, without touching the request body.
func (ex *exchange) refusal(why error) *http.Response {
	ex.Record(services.Refused, why)
	return refusal(ex.req, describe(why))
}

// refusal answers a refused upload: 502 with a plain-text reason.
func refusal(req *http.Request, reason string) *http.Response {
	h := make(http.Header)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Jpegveil-Refused", "true")
	resp := services.Respond(req, http.StatusBadGateway, h, "jpegveil refused this upload: "+reason+"\n")
	resp.Close = true
	return resp
}

// Unsupported applies the rule's on_unsupported policy to a body the
// transform refused before anything went upstream. With block the client
// gets 502 and the reason; with pass the request goes upstream unchanged
// (only reachable for bodies the transform never started on).
func (ex *exchange) Unsupported(why error) (*http.Response, error) {
	if ex.rule.OnUnsupported == config.UnsupportedPass {
		ex.Record(services.PassedUnsupported, why)
		return ex.env.Upstream.RoundTrip(ex.req)
	}
	return ex.Refuse(why)
}

// unsupportedForm is Unsupported for a body the proxy could not read as
// the rule expects (a form that is not one, or lacks the rule's field; an
// upload with trailers): with pass it goes on unchanged, but never with a
// JPEG in it (passGuard). The start of the body is checked before anything
// goes upstream, the rest as it goes.
func (ex *exchange) unsupportedForm(why error) (*http.Response, error) {
	req := ex.req
	if ex.rule.OnUnsupported != config.UnsupportedPass || req.Body == nil || req.Body == http.NoBody {
		return ex.Unsupported(why)
	}
	g, err := guardBody(req)
	if err != nil {
		return ex.Refuse(err)
	}
	ex.Record(services.PassedUnsupported, why)
	resp, err := ex.env.Upstream.RoundTrip(req)
	if stop := g.failed(); stop != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return ex.refusal(stop), nil
	}
	return resp, err
}

// done logs the exchange, once.
func (ex *exchange) done() {
	if ex.logged {
		return
	}
	ex.logged = true
	fields := []zap.Field{
		zap.String("host", ex.req.URL.Hostname()),
		zap.String("method", ex.req.Method),
		zap.String("path", ex.req.URL.Path),
		zap.String("rule", ex.rule.Name),
		zap.Stringer("direction", ex.dir),
		zap.Int64("bytes", ex.bytes),
		zap.Duration("duration", time.Since(ex.start)),
		zap.String("outcome", string(ex.outcome)),
	}
	if st := ex.result.Stats; st != nil {
		if t := st.Total(); t.CBits > 0 {
			fields = append(fields, zap.Float64("encrypted_bits_pct", 100*float64(st.EncryptBits)/float64(t.CBits)))
		}
	}
	if ex.decision != nil {
		fields = append(fields, zap.Stringer("decided_by", ex.decision))
	}
	if ex.err != nil {
		fields = append(fields, zap.String("reason", ex.err.Error()))
		ex.log.Warn("intercepted", fields...)
		return
	}
	if ex.decision != nil && ex.decision.Unsure && ex.decision.Way == direction.Upload {
		ex.log.Warn("intercepted", fields...)
		return
	}
	ex.log.Info("intercepted", fields...)
}

// directed holds back the start of the photo read from body until its
// direction is decided (crypt.decide), keeps the decision for the log, and
// returns a reader of the whole photo.
func (ex *exchange) directed(way direction.Way, body io.Reader) (whole io.Reader, readErr, err error) {
	dec, whole, p, readErr, err := ex.crypt.decide(ex.req.Context(), way, body, ex.rule)
	if readErr == nil {
		ex.decision, ex.prefix = &dec, p
	}
	var unsure *direction.UnsureError
	if err != nil && !errors.As(err, &unsure) {
		err = asLedgerError(err) // the decider's other errors are the ledger's
	}
	return whole, readErr, err
}

// transform returns the photo read from body (the whole photo, from its
// first byte) encrypted or decrypted as the exchange's decision says; the
// first call goes on with the transform its direction was judged with,
// when that is the one the decision calls for.
func (ex *exchange) transform(body io.Reader) *veil.Reader {
	p := ex.prefix
	ex.prefix = nil
	return ex.crypt.transform(ex.req.Context(), *ex.decision, body, ex.rule, p)
}

// refuseError stops an upload body for a reason other than the transform's
// (a multipart form with a second file, say).
type refuseError struct{ reason string }

func (e *refuseError) Error() string { return e.reason }

// describe turns a transform error into the reason given to the client.
func describe(err error) string {
	var fe *jpegbits.FormatError
	var ue *jpegbits.UnsupportedError
	var re *refuseError
	var ufe *veil.UnsupportedFormatError
	var me *veil.MetadataError
	switch {
	case errors.As(err, &re):
		return re.reason
	case errors.As(err, &ufe):
		// A format phones write (HEIC, say), and what to do about it.
		return ufe.Error()
	case errors.As(err, &me) && me.Item == veil.KindTrailing:
		return fmt.Sprintf("the file carries data after the image (at byte %d) that is neither a motion photo's video nor another item jpegveil knows, and it would go up unencrypted: %s", me.Offset, me.Reason)
	case errors.As(err, &me):
		return fmt.Sprintf("metadata that cannot be encrypted: %s", me.Error())
	case errors.Is(err, jpegbits.ErrNotJPEG):
		return "the body is not a JPEG file (HEIC, PNG and video uploads cannot be encrypted)"
	case errors.As(err, &ue):
		return fmt.Sprintf("unsupported JPEG at byte %d: %s", ue.Offset, ue.Feature)
	case errors.As(err, &fe):
		return fmt.Sprintf("corrupt JPEG at byte %d: %s", fe.Offset, fe.Reason)
	}
	return err.Error()
}
