package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"jpegveil/config"
	"jpegveil/jpegbits"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// preRead is how much of a transformed upload is produced before the
// request goes upstream: a body that fails within it (not a JPEG,
// arithmetic coding, corrupt headers, any small photo) is refused before
// the service sees a byte of it.
const preRead = 256 << 10

// roundTrip sends one request upstream, transforming it when a rule says so.
func (s *Server) roundTrip(req *http.Request) (*http.Response, error) {
	rule := s.cfg.Match(req.Method, req.URL.Hostname(), matchPath(req.URL.Path))
	if rule == nil {
		return s.unmatched(req)
	}
	ev := &event{s: s, rule: rule, req: req, start: time.Now()}
	if rule.Body.IsUpload() && (len(req.Trailer) > 0 || req.Header.Get("Trailer") != "") {
		// Trailers come after the body, where a hash of the plaintext
		// could no longer be recomputed or held back.
		ev.dir = "upload"
		defer ev.log()
		return s.unsupported(req, ev, errors.New("the request has trailers, which jpegveil cannot check for hashes of the photo"))
	}
	switch rule.Body {
	case config.BodyDownload:
		return s.download(req, ev)
	case config.BodyRaw:
		return s.upload(req, ev)
	case config.BodyMultipart:
		return s.uploadMultipart(req, ev)
	case config.BodyResumable:
		return s.uploadResumable(req, ev)
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
// host, a request whose body is a JPEG is refused instead: it is a photo
// upload on a route the rules do not know (a changed API, a path variant),
// and forwarding it would store the photo unencrypted.
func (s *Server) unmatched(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody || !s.cfg.Intercepts(req.URL.Hostname()) {
		return s.upstream.RoundTrip(req)
	}
	br := bufio.NewReader(req.Body)
	if magic, _ := br.Peek(3); bytes.Equal(magic, []byte{0xFF, 0xD8, 0xFF}) {
		s.log.Warn("refused a JPEG upload on a route no rule covers",
			zap.String("host", req.URL.Hostname()), zap.String("method", req.Method), zap.String("path", req.URL.Path))
		drain(br)
		req.Body.Close()
		return refusal(req, fmt.Sprintf("a JPEG upload to %s %s, which no rule covers: it would be stored unencrypted (add a rule for it)", req.Method, req.URL.Path)), nil
	}
	req.Body = readCloser{br, req.Body}
	return s.upstream.RoundTrip(req)
}

// event gathers what is logged about one intercepted request: one line,
// when it is done.
type event struct {
	s       *Server
	rule    *config.Rule
	req     *http.Request
	start   time.Time
	logged  bool
	dir     string
	outcome string
	result  veil.Result
	bytes   int64
	err     error
}

func (e *event) log() {
	if e.logged {
		return
	}
	e.logged = true
	fields := []zap.Field{
		zap.String("host", e.req.URL.Hostname()),
		zap.String("method", e.req.Method),
		zap.String("path", e.req.URL.Path),
		zap.String("rule", e.rule.Name),
		zap.String("direction", e.dir),
		zap.Int64("bytes", e.bytes),
		zap.Duration("duration", time.Since(e.start)),
		zap.String("outcome", e.outcome),
	}
	if st := e.result.Stats; st != nil {
		if t := st.Total(); t.CBits > 0 {
			fields = append(fields, zap.Float64("encrypted_bits_pct", 100*float64(st.EncryptBits)/float64(t.CBits)))
		}
	}
	if e.err != nil {
		fields = append(fields, zap.String("reason", e.err.Error()))
		e.s.log.Warn("intercepted", fields...)
		return
	}
	e.s.log.Info("intercepted", fields...)
}

// refusal answers a refused upload: 502 with a plain-text reason.
func refusal(req *http.Request, reason string) *http.Response {
	h := make(http.Header)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Jpegveil-Refused", "true")
	resp := synthResponse(req, http.StatusBadGateway, h, "jpegveil refused this upload: "+reason+"\n")
	resp.Close = true
	return resp
}

// synthResponse is an answer the proxy gives itself.
func synthResponse(req *http.Request, code int, h http.Header, body string) *http.Response {
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

// describe turns a transform error into the reason given to the client.
func describe(err error) string {
	var fe *jpegbits.FormatError
	var ue *jpegbits.UnsupportedError
	var re *refuseError
	switch {
	case errors.As(err, &re):
		return re.reason
	case errors.Is(err, jpegbits.ErrNotJPEG):
		return "the body is not a JPEG file (HEIC, PNG and video uploads cannot be encrypted)"
	case errors.As(err, &ue):
		return fmt.Sprintf("unsupported JPEG at byte %d: %s", ue.Offset, ue.Feature)
	case errors.As(err, &fe):
		return fmt.Sprintf("corrupt JPEG at byte %d: %s", fe.Offset, fe.Reason)
	}
	return err.Error()
}

// decideUpload encrypts an image unless the ledger knows it: then it is a
// ciphertext of ours coming back, and encrypting it again would decrypt it.
func (s *Server) decideUpload(ctx context.Context) func(veil.Fingerprint) (bool, error) {
	return func(fp veil.Fingerprint) (bool, error) {
		_, known, err := s.ledger.Lookup(ctx, ledger.Fingerprint(fp))
		return !known, err
	}
}

// decideDownload decrypts an image only when the ledger knows it.
func (s *Server) decideDownload(ctx context.Context) func(veil.Fingerprint) (bool, error) {
	return func(fp veil.Fingerprint) (bool, error) {
		_, known, err := s.ledger.Lookup(ctx, ledger.Fingerprint(fp))
		return known, err
	}
}

func (s *Server) record(ctx context.Context) func(veil.Fingerprint) error {
	return func(fp veil.Fingerprint) error {
		return s.ledger.Add(ctx, ledger.Fingerprint(fp), ledger.Entry{KeyID: s.key.ID(), Added: time.Now()})
	}
}

// metadataOptions are the config's metadata switches (FORMAT.md part IV)
// for uploads: what is not kept is encrypted. Downloads need no switches:
// every metadata item is decrypted exactly when the ledger knows it, which
// stays right when the switches change between upload and download.
func (s *Server) metadataOptions() veil.Options {
	m := s.cfg.Metadata
	return veil.Options{
		KeepThumbnail: m.ExifThumbnail == config.MetadataKeep,
		KeepMPF:       m.MPFImages == config.MetadataKeep,
		KeepGPS:       m.GPS == config.MetadataKeep,
	}
}

// encryptingBody returns body encrypted, the way the rule's policy wants:
// with on_unsupported block a body the transform cannot fully handle stops
// with its parse error; with pass it goes on unchanged after the problem.
func (s *Server) encryptingBody(ctx context.Context, body io.Reader, ev *event) *veil.Reader {
	block := ev.rule.OnUnsupported != config.UnsupportedPass
	opts := s.metadataOptions()
	opts.StopAtError = block
	opts.Decide = s.decideUpload(ctx)
	opts.Record = s.record(ctx)
	return veil.NewReader(s.key, body, opts)
}

// upload encrypts a request whose body is the photo.
func (s *Server) upload(req *http.Request, ev *event) (*http.Response, error) {
	ev.dir = "upload"
	if req.Body == nil || req.Body == http.NoBody {
		defer ev.log()
		ev.outcome = "empty"
		return s.upstream.RoundTrip(req)
	}
	return s.sendEncrypted(req, nil, req.Body, nil, req.Body, ev)
}

// sendEncrypted sends req upstream with the body prefix, then photo
// encrypted, then suffix, and closes body when done. Content-Length and
// chunked framing stay as the client sent them: the body keeps its length.
// The first preRead bytes of the photo are transformed before anything goes
// upstream, so most refusals happen before the service sees the request.
func (s *Server) sendEncrypted(req *http.Request, prefix []byte, photo, suffix io.Reader, body io.Closer, ev *event) (*http.Response, error) {
	defer ev.log()
	if ce := req.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		req.Body = readCloser{io.MultiReader(bytes.NewReader(prefix), photo, orEmpty(suffix)), body}
		return s.unsupported(req, ev, fmt.Errorf("the body is compressed (Content-Encoding: %s)", ce))
	}
	// Headers that carry a hash of the body are recomputed over the
	// ciphertext, which needs the whole body first (hashes.go).
	if hhs, err := parseHashHeaders(req.Header); err != nil || len(hhs) > 0 {
		if err != nil {
			body.Close()
			ev.outcome, ev.err = "refused", err
			return refusal(req, err.Error()), nil
		}
		return s.sendHashed(req, prefix, photo, suffix, body, hhs, ev)
	}
	vr := s.encryptingBody(req.Context(), photo, ev)
	head, err := readUpTo(vr, preRead)
	if err != nil && err != io.EOF {
		ev.result = vr.Result()
		if veil.IsParseError(err) {
			ev.outcome, ev.err = "refused", err
			drain(photo)
			drain(suffix)
			return refusal(req, describe(err)), nil
		}
		ev.outcome, ev.err = "client-error", err
		return nil, err
	}
	var rest io.Reader = vr
	if err == io.EOF {
		rest = eofReader{}
	}
	cb := newCountingBody(io.MultiReader(bytes.NewReader(prefix), bytes.NewReader(head), rest, orEmpty(suffix)), body, vr)
	req.Body = cb
	resp, rerr := s.upstream.RoundTrip(req)
	var refused error
	ev.bytes, ev.result, refused = cb.outcome()
	if refused != nil {
		if resp != nil {
			resp.Body.Close()
		}
		ev.outcome, ev.err = "refused", refused
		return refusal(req, describe(refused)), nil
	}
	if rerr != nil {
		ev.outcome, ev.err = "upstream-error", rerr
		return nil, rerr
	}
	ev.outcome = outcomeOf(ev.result)
	return resp, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func orEmpty(r io.Reader) io.Reader {
	if r == nil {
		return eofReader{}
	}
	return r
}

// unsupported applies the rule's on_unsupported policy to a body the
// transform refused before anything went upstream.
// With block the client gets 502 and the reason; with pass the request goes
// upstream unchanged (only reachable for bodies the transform never
// started on, such as compressed ones).
func (s *Server) unsupported(req *http.Request, ev *event, err error) (*http.Response, error) {
	if ev.rule.OnUnsupported == config.UnsupportedPass {
		ev.outcome, ev.err = "passed-unsupported", err
		return s.upstream.RoundTrip(req)
	}
	ev.outcome, ev.err = "refused", err
	drain(req.Body)
	return refusal(req, describe(err)), nil
}

func outcomeOf(r veil.Result) string {
	switch {
	case r.Err != nil && r.Transformed:
		return "partly-transformed"
	case r.Err != nil:
		return "passed-unsupported"
	case r.Transformed:
		return "transformed"
	case r.HasFingerprint:
		return "passed-known"
	}
	return "passed"
}

// readUpTo reads from r until n bytes, the end, or an error.
func readUpTo(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, 32<<10)
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := r.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// countingBody is the request body sent upstream. It remembers an error
// that stopped it because the upload must be refused (a parse error under
// on_unsupported block, or a refuseError), so the proxy can answer 502
// instead of a broken connection. The transport may still read and close it
// after RoundTrip returns (an early answer), so its results are taken under
// a lock once it is closed.
type countingBody struct {
	r    io.Reader
	c    io.Closer
	vr   *veil.Reader // may be nil
	once sync.Once
	done chan struct{}

	mu       sync.Mutex
	n        int64
	refusal  error
	result   veil.Result
	finished bool
}

func newCountingBody(r io.Reader, c io.Closer, vr *veil.Reader) *countingBody {
	return &countingBody{r: r, c: c, vr: vr, done: make(chan struct{})}
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.mu.Lock()
	b.n += int64(n)
	var re *refuseError
	if err != nil && err != io.EOF && (veil.IsParseError(err) || errors.As(err, &re)) {
		b.refusal = err
	}
	b.mu.Unlock()
	return n, err
}

func (b *countingBody) Close() error {
	err := b.c.Close()
	b.once.Do(func() {
		b.mu.Lock()
		if b.vr != nil {
			b.result = b.vr.Result()
		}
		b.finished = true
		b.mu.Unlock()
		close(b.done)
	})
	return err
}

// outcome waits (briefly) for the transport to be done with the body and
// returns what it saw: bytes sent, the refusal if any, the transform result.
func (b *countingBody) outcome() (int64, veil.Result, error) {
	select {
	case <-b.done:
	case <-time.After(2 * time.Second):
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n, b.result, b.refusal
}

// refuseError stops an upload body for a reason other than the transform's
// (a multipart form with a second file, say).
type refuseError struct{ reason string }

func (e *refuseError) Error() string { return e.reason }
