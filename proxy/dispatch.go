package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"go.uber.org/zap"

	"jpegveil/config"
	"jpegveil/proxy/internal/direction"
	"jpegveil/proxy/internal/hashes"
	"jpegveil/proxy/internal/session"
	"jpegveil/proxy/services"
	"jpegveil/veil"
)

// serve answers one request: inside an intercepted tunnel (t) only a
// request for the tunnel's own host, which then goes there whatever the
// client wrote; a request that fails gets a status and a reason.
func (s *Server) serve(req *http.Request, t *tunnel) *http.Response {
	if t != nil {
		if !t.admits(req) {
			return s.misdirected(req, t)
		}
		req.URL.Host = t.urlHost(req.URL.Scheme)
	}
	resp, err := s.roundTrip(req)
	if err != nil {
		return failed(req, err)
	}
	return resp
}

// roundTrip sends one request upstream, transforming it when a rule says
// so, and logs what became of it.
func (s *Server) roundTrip(req *http.Request) (*http.Response, error) {
	rule := s.cfg.Match(req.Method, req.URL.Hostname(), matchPath(req.URL.Path))
	if rule == nil {
		return s.unmatched(req)
	}
	ex := s.newExchange(req, rule)
	resp, err := s.dispatch(ex)
	if err == nil {
		s.recordUpload(ex, resp)
	}
	if !ex.logOnClose {
		ex.done()
	}
	return resp, err
}

// dispatch hands an exchange to the handler of its rule's body kind.
func (s *Server) dispatch(ex *exchange) (*http.Response, error) {
	rule, req := ex.rule, ex.req
	if rule.Body.IsUpload() && (len(req.Trailer) > 0 || req.Header.Get("Trailer") != "") {
		// Trailers come after the body, where a hash of the plaintext
		// could no longer be recomputed or held back.
		return ex.unsupportedForm(errors.New("the request has trailers, which jpegveil cannot check for hashes of the photo"))
	}
	if why := ex.reencodeRefusal(s.reencoders); why != nil {
		return ex.Refuse(why)
	}
	switch rule.Body {
	case config.BodyDownload:
		if rs, ok := s.byName[rule.Service].(Renditions); ok && rule.RendersPreviews() {
			if r, ok := rs.Rendition(req, s.names); ok {
				return s.servePreview(ex, rule.Service, r)
			}
		}
		return ex.download()
	case config.BodyRaw:
		return s.identifiedUpload(ex, ex.Upload)
	case config.BodyMultipart:
		return s.identifiedUpload(ex, ex.uploadMultipart)
	case config.BodyAPI:
		return s.api(ex)
	case config.BodyResumable:
		if svc, ok := s.services[string(rule.Resumable)]; ok {
			return svc.Upload(ex)
		}
		return nil, fmt.Errorf("rule %q: unknown resumable protocol %q", rule.Name, rule.Resumable)
	}
	return nil, fmt.Errorf("rule %q: unknown body kind %q", rule.Name, rule.Body)
}

// matchPath is the path that rules are matched against: with empty and dot
// segments resolved, ";parameters" dropped and no trailing slash, as the
// servers behind the rules read it, so that "/upload/", "//upload" or
// "/upload;x" cannot slip past a rule for "/upload".
func matchPath(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if j := strings.IndexByte(seg, ';'); j >= 0 {
			segs[i] = seg[:j]
		}
	}
	return path.Clean("/" + strings.Join(segs, "/"))
}

// unmatched forwards a request that no rule matches. On an intercepted
// host, a request whose body holds a JPEG (at its start, or in a form part)
// is refused instead: it is a photo upload on a route the rules do not know
// (a changed API, a path variant), and forwarding it would store the photo
// unencrypted. What became of it is logged: at info on an intercepted
// host, at debug otherwise.
func (s *Server) unmatched(req *http.Request) (*http.Response, error) {
	intercepted := s.cfg.Intercepts(req.URL.Hostname())
	var guard *passGuard
	hasBody := req.Body != nil && req.Body != http.NoBody
	if ce := services.Compressed(req.Header); intercepted && hasBody && ce != "" {
		// A compressed body cannot be checked for a photo, and a service
		// that decodes it would store one unencrypted.
		services.Drain(req.Body)
		req.Body.Close()
		return s.uncheckable(req, ce), nil
	}
	if intercepted && hasBody {
		var err error
		if guard, err = guardBody(req); err != nil {
			if !errors.Is(err, errPlainJPEG) {
				return nil, err
			}
			services.Drain(req.Body)
			req.Body.Close()
			return s.uncoveredPhoto(req), nil
		}
	}
	start := time.Now()
	resp, err := s.upstream.RoundTrip(req)
	if guard != nil && errors.Is(guard.failed(), errPlainJPEG) {
		if resp != nil {
			resp.Body.Close()
		}
		return s.uncoveredPhoto(req), nil
	}
	fields := []zap.Field{
		zap.String("host", req.URL.Hostname()),
		zap.String("method", req.Method),
		zap.String("path", req.URL.Path),
		zap.String("rule", ""),
		zap.Duration("duration", time.Since(start)),
	}
	switch {
	case err != nil:
		s.log.Warn("intercepted", append(fields, zap.String("outcome", string(services.UpstreamError)), zap.String("reason", err.Error()))...)
	case intercepted:
		s.log.Info("intercepted", append(fields, zap.String("outcome", string(services.Passed)), zap.Int("status", resp.StatusCode))...)
	default:
		s.log.Debug("proxied", append(fields, zap.String("outcome", string(services.Passed)), zap.Int("status", resp.StatusCode))...)
	}
	return resp, err
}

// uncheckable refuses a compressed request body on an intercepted host.
func (s *Server) uncheckable(req *http.Request, coding string) *http.Response {
	s.log.Warn("refused a compressed request body on an intercepted host",
		zap.String("host", req.URL.Hostname()), zap.String("method", req.Method), zap.String("path", req.URL.Path),
		zap.String("content_encoding", coding), zap.String("outcome", string(services.Refused)))
	return refusal(req, fmt.Sprintf("a request body compressed with %s to %s %s: jpegveil cannot check it for photos, and a service that decodes it could store one unencrypted", coding, req.Method, req.URL.Path))
}

// uncoveredPhoto refuses a photo upload on a route no rule covers.
func (s *Server) uncoveredPhoto(req *http.Request) *http.Response {
	s.log.Warn("refused a JPEG upload on a route no rule covers",
		zap.String("host", req.URL.Hostname()), zap.String("method", req.Method), zap.String("path", req.URL.Path),
		zap.String("outcome", string(services.Refused)))
	return refusal(req, fmt.Sprintf("a JPEG upload to %s %s, which no rule covers: it would be stored unencrypted (add a rule for it)", req.Method, req.URL.Path))
}

// crypt is what the body transforms need: the direction decider (the
// keyring and the ledger) and the metadata switches.
type crypt struct {
	dir  *direction.Decider
	meta config.MetadataConfig
	log  *zap.Logger
}

// decide holds back the start of body until the classifier's verdict is
// final, and decides its direction (direction.Decider: the ledger first,
// then the classifier). It returns a reader of the whole body again, and
// the prefix, whose transform crypt.transform goes on with when
// the decision is the one it speculated on. A read error is the client's
// (readErr); any other error refuses the request: the ledger failed, or
// the rule's on_unsure is block.
func (c *crypt) decide(ctx context.Context, way direction.Way, body io.Reader, rule *config.Rule) (dec direction.Decision, whole io.Reader, p *direction.Prefix, readErr, err error) {
	p = c.dir.NewPrefix(0)
	p.AskLedger(c.dir.Knows(ctx))
	spec := c.dir.Speculation(way)
	p.Speculate(spec, c.options(ctx, spec, rule))
	eof, readErr := p.Fill(body)
	if readErr != nil {
		return dec, nil, nil, readErr, nil
	}
	if eof {
		body = nil
	}
	dec, err = c.dir.Decide(ctx, way, p.Verdict(), rule.OnUnsure)
	dec.Cut = p.Cut()
	return dec, p.Replay(body), p, nil, err
}

// uploadOptions are the config's metadata switches (FORMAT.md part IV)
// for uploads: what is not kept is encrypted. Downloads the ledger knows
// need no switches: every metadata item is decrypted exactly when the
// ledger knows it, which stays right when the switches change between
// upload and download; the others are decrypted with these
// (direction.Decider.Keep).
func (c *crypt) uploadOptions() veil.Options {
	return veil.Options{
		KeepThumbnail: c.meta.ExifThumbnail == config.MetadataKeep,
		KeepMPF:       c.meta.MPFImages == config.MetadataKeep,
		KeepGPS:       c.meta.GPS == config.MetadataKeep,
	}
}

// options are the transform options of a body going as dec says: an
// upload the way the rule's policy wants (with on_unsupported block a
// body the transform cannot fully handle stops with its parse error; with
// pass it goes on unchanged after the problem), a download with the
// decider's switches.
func (c *crypt) options(ctx context.Context, dec direction.Decision, rule *config.Rule) veil.Options {
	var opts veil.Options
	if dec.Way == direction.Upload {
		opts = c.uploadOptions()
		opts.StopAtError = rule.OnUnsupported != config.UnsupportedPass
	}
	return ledgerFaults(dec.Options(ctx, c.dir, opts))
}

// transform returns body encrypted or decrypted as dec says, with the
// options for it. p is the prefix the decision was made on, whose
// transform goes on when it is the one dec calls for
// (direction.Prefix.Reader), or nil for a body fetched again.
func (c *crypt) transform(ctx context.Context, dec direction.Decision, body io.Reader, rule *config.Rule, p *direction.Prefix) *veil.Reader {
	opts := c.options(ctx, dec, rule)
	if p != nil {
		return p.Reader(dec, opts, body)
	}
	return veil.NewReader(dec.Key, body, opts)
}

// newStream starts the encryption of an upload on rule that spans several
// requests.
func (c *crypt) newStream(rule *config.Rule, algs ...hashes.Alg) *session.Stream {
	st := session.NewStream(c.dir, c.uploadOptions(), rule, algs...)
	st.OnDecided = func(dec direction.Decision) {
		log := c.log.Info
		if dec.Unsure {
			log = c.log.Warn
		}
		log("upload direction decided", zap.String("rule", rule.Name), zap.Stringer("decided_by", dec))
	}
	return st
}
