package proxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"

	"go.uber.org/zap"

	"jpegveil/ledger"
	"jpegveil/proxy/services"
)

// After an upload the service accepted, the ledger learns what makes the
// photo checkable later (FORMAT.md §32 keeps both): the SHA-256 of the
// whole file as it went up, and where the service keeps it, when its
// answer says (an UploadIdentifier). A failure to record is logged: the
// photo is up and its fingerprint recorded already, only the check later
// is weaker.

// recordable reports whether ex is an upload whose photo is now stored by
// the service as a ciphertext of ours.
func recordable(ex *exchange, resp *http.Response) bool {
	if ex.dir != services.Upload || resp == nil || resp.StatusCode/100 != 2 || !ex.result.HasFingerprint {
		return false
	}
	return ex.outcome == services.Transformed || ex.outcome == services.PassedKnown
}

// recordUpload records what the answer resp to the upload ex tells about
// the photo.
func (s *Server) recordUpload(ex *exchange, resp *http.Response) {
	rec, ok := s.crypt.dir.Ledger.(ledger.UploadRecorder)
	if !ok || !recordable(ex, resp) {
		return
	}
	ctx := context.WithoutCancel(ex.req.Context())
	fp := ledger.Fingerprint(ex.result.Out)
	if ex.hasHash {
		if err := rec.RecordCiphertextHash(ctx, fp, ex.fileHash); err != nil {
			s.log.Warn("could not record the ciphertext hash of an upload", zap.Stringer("fingerprint", fp), zap.Error(err))
		}
	}
	head := peekAnswer(resp)
	for _, id := range s.identifiers {
		v, ok := id.UploadID(ex.req, resp, head)
		if !ok {
			continue
		}
		ref := ledger.ServiceRef{Service: id.Name(), ID: v}
		if err := rec.RecordService(ctx, fp, ref); err != nil {
			s.log.Warn("could not record where the service keeps an upload", zap.String("service", ref.Service), zap.Stringer("fingerprint", fp), zap.Error(err))
			continue
		}
		s.known.add(ref, fp)
	}
}

// peekAnswer reads the start of resp's body (at most
// services.MaxAnswerPeek bytes) and puts it back in front of the rest.
func peekAnswer(resp *http.Response) []byte {
	if resp.Body == nil || resp.Body == http.NoBody || resp.ContentLength > services.MaxAnswerPeek {
		return nil
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, services.MaxAnswerPeek))
	var rest io.Reader = resp.Body
	if err != nil {
		rest = &errReader{err}
	}
	resp.Body = services.ReadCloser{Reader: io.MultiReader(bytes.NewReader(head), rest), Closer: resp.Body}
	return head
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// knownPhotos maps where a service keeps a photo of ours to the
// fingerprint of the ciphertext the proxy sent there: the newest upload to
// an identity wins (a Nextcloud path written again).
type knownPhotos struct {
	mu sync.RWMutex
	m  map[ledger.ServiceRef]ledger.Fingerprint
}

func (k *knownPhotos) add(ref ledger.ServiceRef, fp ledger.Fingerprint) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = make(map[ledger.ServiceRef]ledger.Fingerprint)
	}
	k.m[ref] = fp
}

func (k *knownPhotos) lookup(ref ledger.ServiceRef) (ledger.Fingerprint, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	fp, ok := k.m[ref]
	return fp, ok
}

// recordWalker is a ledger that lists its records (BoltLedger).
type recordWalker interface {
	Records(ctx context.Context, fn func(ledger.Record) error) error
}

// load fills k from the service identities the ledger holds.
func (k *knownPhotos) load(ctx context.Context, led ledger.Ledger) error {
	w, ok := led.(recordWalker)
	if !ok {
		return nil
	}
	return w.Records(ctx, func(r ledger.Record) error {
		for _, ref := range r.Services {
			k.add(ref, r.Fingerprint)
		}
		return nil
	})
}
