package proxy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"jpegveil/jpegbits"
	"jpegveil/ledger"
	"jpegveil/proxy/services"
	"jpegveil/veil"
)

// The download check: on every download of a photo that is ours, the proxy
// checks that the service sent back the ciphertext it was given.
//
// A photo is ours when the ledger knows the fingerprint of its first chunk
// (it is then decrypted), or when the download route names a photo whose
// upload the ledger recorded (a DownloadIdentifier: an Immich asset, a
// Nextcloud path), whatever came back.
//
//   - Ours by its identity, but its fingerprint is not the one sent there:
//     the service re-encoded the noise, and the photo is lost. It is logged
//     as an error with the photo's identity, counted, and shown on the
//     proxy's page. The body passes as the service sent it (the proxy
//     changes nothing, so it claims nothing), with a Warning header: the
//     bytes are the service's to serve, and a path written again by a
//     client without the proxy would be refused for nothing.
//   - Ours by its fingerprint, but decryption stopped at a parse error
//     after it began: what the client would get is a JPEG whose top is the
//     photo and whose rest is noise, which a client (a sync client above
//     all) would keep as if it were the photo. Found within the first
//     downloadPreRead bytes, it is answered 502 with the reason; found
//     later, when the headers are gone, the body is cut short with an
//     error, so that no client sees it complete. A Warning header would
//     be ignored by every client that stores what it downloads.
//   - Ours by its fingerprint, decrypted whole, and the ledger has the
//     SHA-256 of the whole file: a different hash means the service
//     rewrote bytes outside the image's first chunk. The image decrypted
//     without a parse error, which a service that rewrites metadata leaves
//     it (re-encoding changes the first chunk); it is logged and counted
//     as changed, not lost.

// errPartlyDecrypted cuts short a body whose decryption stopped midway.
var errPartlyDecrypted = errors.New("jpegveil: the photo decrypted only partly; the download is cut short so that no client keeps it")

// health is what the proxy has seen of the services' keeping of photos,
// for its page.
type health struct {
	mu      sync.Mutex
	lost    int
	changed int
	recent  []string // the last few losses, newest last
}

const maxRecentLosses = 5

func (h *health) noteLost(what string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lost++
	h.recent = append(h.recent, what)
	if len(h.recent) > maxRecentLosses {
		h.recent = h.recent[1:]
	}
}

func (h *health) noteChanged() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changed++
}

// Losses returns the number of downloads of a photo of ours that the
// service did not keep so that it decrypts (lost, or decrypted only
// partly), and of those whose bytes changed but whose image decrypted.
func (s *Server) Losses() (lost, changed int) {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return s.health.lost, s.health.changed
}

// keptCheck is the download check of one exchange.
type keptCheck struct {
	ref      ledger.ServiceRef // the photo's identity on the download route
	expected ledger.Fingerprint
	byRef    bool // the route names a photo of ours (expected)
	// sum is of the whole body as the service sent it; nil when the
	// answer is a part (206), whose end cuts the image short: a parse
	// error at its end says nothing about the photo.
	sum      hash.Hash
	reported bool
}

// newKeptCheck starts the check of a download answered with resp.
func (s *Server) newKeptCheck(req *http.Request, resp *http.Response) *keptCheck {
	kc := &keptCheck{}
	if resp.StatusCode == http.StatusOK {
		kc.sum = sha256.New()
	}
	for _, id := range s.identifiers {
		d, ok := id.(DownloadIdentifier)
		if !ok {
			continue
		}
		if v, ok := d.DownloadID(req); ok {
			kc.ref = ledger.ServiceRef{Service: d.Name(), ID: v}
			kc.expected, kc.byRef = s.known.lookup(kc.ref)
			break
		}
	}
	return kc
}

// identity names the photo in logs and on the page.
func (kc *keptCheck) identity(ex *exchange) string {
	if kc.ref.ID != "" {
		return kc.ref.Service + " " + kc.ref.ID
	}
	return ex.req.URL.Host + ex.req.URL.Path
}

// afterPreRead checks what the start of the body showed: a 502 to answer
// instead of the body, or nil. A photo of ours that came back as other
// bytes gets a Warning header on resp.
func (ex *exchange) afterPreRead(kc *keptCheck, resp *http.Response, res veil.Result, whole bool) *http.Response {
	decided := prefixDecided(res, whole)
	switch {
	case res.Transformed && res.Err != nil && kc.sum != nil:
		ex.lost(kc, fmt.Sprintf("decryption stopped at a parse error: %v", res.Err))
		return ex.partlyDecrypted(kc, res.Err)
	case kc.byRef && decided && !res.Transformed && !errors.Is(res.Err, jpegbits.ErrNotJPEG) &&
		(!res.HasFingerprint || ledger.Fingerprint(res.In) != kc.expected):
		// (A body that is no JPEG at all is another file written to the
		// same path, not the service's copy of ours.)
		ex.lost(kc, "the service sent back other bytes than the ciphertext jpegveil uploaded (re-encoded?): the photo cannot be decrypted")
		resp.Header.Add("Warning", `199 jpegveil "the service changed this photo: it is not the ciphertext jpegveil uploaded and cannot be decrypted"`)
		resp.Header.Set("X-Jpegveil-Lost", "true")
	}
	return nil
}

// atEnd checks the whole body once read: it returns errPartlyDecrypted when
// decryption stopped midway.
func (ex *exchange) atEnd(kc *keptCheck, res veil.Result) error {
	if kc.reported {
		return nil
	}
	if kc.sum == nil {
		return nil
	}
	if res.Transformed && res.Err != nil {
		ex.lost(kc, fmt.Sprintf("decryption stopped at a parse error: %v", res.Err))
		return errPartlyDecrypted
	}
	if !res.Transformed || !res.HasFingerprint {
		return nil
	}
	rec, ok := ex.crypt.dir.Ledger.(interface {
		Record(context.Context, ledger.Fingerprint) (ledger.Record, bool, error)
	})
	if !ok {
		return nil
	}
	r, found, err := rec.Record(context.WithoutCancel(ex.req.Context()), ledger.Fingerprint(res.In))
	if err != nil || !found || !r.HasHash {
		return nil
	}
	if got := [32]byte(kc.sum.Sum(nil)); got != r.CiphertextSHA256 {
		kc.reported = true
		ex.health.noteChanged()
		ex.log.Warn("the service changed bytes of a photo outside its image data (metadata rewritten?); the image decrypted whole",
			zap.String("photo", kc.identity(ex)), zap.Stringer("fingerprint", r.Fingerprint), zap.String("rule", ex.rule.Name))
	}
	return nil
}

// lost logs, counts and shows a download of a photo of ours that does not
// decrypt.
func (ex *exchange) lost(kc *keptCheck, why string) {
	if kc.reported {
		return
	}
	kc.reported = true
	what := kc.identity(ex)
	ex.health.noteLost(time.Now().UTC().Format("2006-01-02 15:04") + " " + what + ": " + why)
	ex.log.Error("a photo of ours came back from the service so that it does not decrypt",
		zap.String("photo", what), zap.String("host", ex.req.URL.Hostname()), zap.String("path", ex.req.URL.Path),
		zap.String("rule", ex.rule.Name), zap.String("reason", why))
}

// partlyDecrypted answers a download whose decryption stopped midway.
func (ex *exchange) partlyDecrypted(kc *keptCheck, err error) *http.Response {
	ex.Record(services.Failed, err)
	h := make(http.Header)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Jpegveil-Lost", "true")
	return services.Respond(ex.req, http.StatusBadGateway, h, "jpegveil: "+kc.identity(ex)+" decrypts only partly (the service changed its bytes): "+describe(err)+"\n")
}
