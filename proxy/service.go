package proxy

import (
	"net/http"

	"jpegveil/proxy/internal/hashes"
	"jpegveil/proxy/services"
	"jpegveil/proxy/services/google"
	"jpegveil/proxy/services/icloud"
	"jpegveil/proxy/services/immich"
	"jpegveil/proxy/services/nextcloud"
)

// Service is one photo service's protocol knowledge, in a package of its
// own under proxy/services. The dispatcher owns this interface; a service
// sees the proxy only through services.Exchange and services.Env.
type Service interface {
	// Name is how the configuration names the service (a rule's
	// resumable key).
	Name() string
	// HashHeaders are the request headers in which the service's clients
	// send a hash of what they upload. They are recomputed over the
	// ciphertext on every intercepted upload, whichever service it goes
	// to: a header the proxy did not know would carry a hash of the
	// plaintext up unchanged.
	HashHeaders() []hashes.Header
}

// MultiRequestUploader is a Service whose uploads span several requests
// (a resumable or chunked protocol). The dispatcher hands it every request
// of a rule with body resumable that names it.
type MultiRequestUploader interface {
	Service
	Upload(ex services.Exchange) (*http.Response, error)
}

// UploadIdentifier is a Service that can tell, from its answer to an
// upload, where it keeps the photo: an Immich asset ID, a Nextcloud path,
// a Google upload URL or token. The proxy records it in the ledger, for
// `jpegveil verify` and for the download check. Every identifier is asked
// about every accepted upload; each answers only for its own routes.
type UploadIdentifier interface {
	Service
	// UploadID returns the photo's identity from the upload req and the
	// service's answer resp, whose body starts with head (at most
	// services.MaxAnswerPeek bytes; resp.Body must not be read).
	UploadID(req *http.Request, resp *http.Response, head []byte) (string, bool)
}

// DownloadIdentifier is an UploadIdentifier whose download routes name the
// photo by the identity UploadID gave it, so that a download of a photo
// that is ours is known as such even when the service changed its bytes.
type DownloadIdentifier interface {
	UploadIdentifier
	// DownloadID returns the identity of the original that req fetches;
	// false for anything else (a thumbnail, a listing).
	DownloadID(req *http.Request) (string, bool)
}

// Renditions is a Service whose clients ask it for previews it makes of
// a photo; for the photos of the proxy they are rendered locally from the
// decrypted original (rules with body api).
type Renditions interface {
	Service
	// Rendition reports whether req asks for a preview of a photo, and
	// which.
	Rendition(req *http.Request, names services.Names) (services.Rendition, bool)
}

// ChecksumTranslator is a Service whose clients compare checksums of the
// files they hold with those the service reports (a sync client deciding
// what is backed up).
type ChecksumTranslator interface {
	Service
	// TranslateRequest replaces, in a request body of req, each checksum
	// of a photo by that of its ciphertext, or by a stand-in: no
	// checksum of a plaintext goes upstream. changed is false when the
	// body has none.
	TranslateRequest(req *http.Request, body []byte, m services.Checksums) (out []byte, changed bool, err error)
	// TranslateResponse replaces, in a response body to req, each
	// checksum of a ciphertext of the proxy's by that of its photo, and
	// the placeholder of such a photo by one of the photo.
	TranslateResponse(req *http.Request, body []byte, t services.Translation) (out []byte, changed bool, err error)
}

// PreviewIdentifier is a Service whose answer to an upload names the
// photo the way its rendition requests do: the previews rendered at upload
// are cached under that ID.
type PreviewIdentifier interface {
	Service
	// PreviewID reads the service's ID for the uploaded photo from the
	// answer (body is its start), and may remember names for it.
	PreviewID(req *http.Request, resp *http.Response, body []byte, names services.Names) (string, bool)
}

// What a service may learn to do next is an interface of its own beside
// these, which the dispatcher checks for, as net/http checks a
// ResponseWriter for http.Flusher: MotionPhotos() MotionPolicy, what the
// service does with the video of a motion photo.

// builtinServices are the services the proxy knows, by name.
func builtinServices() []Service {
	return []Service{google.Service{}, immich.Service{}, nextcloud.Service{}, icloud.Service{}}
}

// hashParser is the parser of every hash header the services know, plus
// the generic Content-MD5.
func hashParser(svcs []Service) *hashes.Parser {
	headers := []hashes.Header{hashes.ContentMD5}
	for _, s := range svcs {
		headers = append(headers, s.HashHeaders()...)
	}
	return hashes.NewParser(headers...)
}
