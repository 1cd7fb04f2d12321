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

// What a service may learn to do next is an interface of its own beside
// these, which the dispatcher checks for, as net/http checks a
// ResponseWriter for http.Flusher:
//
//   - Renditions(u *url.URL) (original *url.URL, ok bool): u is a preview
//     or rendition of a photo, and original is where the photo itself is
//     fetched to make one locally.
//   - TranslateChecksums(ex services.Exchange, body []byte) ([]byte, error),
//     on requests and on JSON responses: checksums of plaintext a client
//     sends ahead (Immich's bulk-upload-check) and checksums of ciphertext
//     the service reports (Immich asset checksums), each mapped to the
//     other through the ledger.
//   - MotionPhotos() MotionPolicy: what the service does with the video of
//     a motion photo.

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
