// Package proxy is jpegveil's intercepting HTTPS proxy: it encrypts the
// JPEG photos clients upload to the photo services its rules name, and
// decrypts them on the way back.
//
// An upload: Server.ServeHTTP checks the client (allow-list, proxy
// authentication slowed down after failures, tunnel ports, no loopback
// targets from the network). A CONNECT to a host a rule names is intercepted
// (tunnel.go): TLS with a leaf from jpegveil's CA, the requests inside read
// by an http.Server of the proxy's own (header timeout and size limit as
// outside) and passed to goproxy; any other CONNECT goproxy tunnels
// untouched. Each request inside must be for the tunnel's host (else 421
// Misdirected Request: the Host header and an absolute-form target are the
// client's choice, made after the CONNECT was checked; hostcheck.go) and is
// matched against the rules (config.Config.Match) on that host; the
// dispatcher opens an exchange for it and passes it, by the rule's body
// kind, to the raw upload (the body is the file), the multipart upload (one
// form field is) or the rule's Service (proxy/services/google, …/nextcloud:
// uploads over several requests, kept in a session). The start of the photo
// is held back until its direction is decided (proxy/internal/direction):
// the ledger first, under every key of the keyring, then the classifier
// (FORMAT.md §34). A ciphertext of ours goes up unchanged and is recorded; a
// plaintext is encrypted with the current key as a stream on its way
// upstream (veil), hash headers are recomputed over the ciphertext (the body
// held in memory from one budget, internal/budget), and the ledger records
// its fingerprint; an image neither can place follows the rule's on_unsure.
// What a phone appends after the image (a motion photo's video, a Samsung
// trailer) is found from the end of the file, so it is held until the body
// (or the last chunk) has arrived, within limits.hash_buffer. The exchange
// logs one line. Every part of a multipart form other than the photo's is
// checked for another photo before it goes up (multipart_check.go). A
// request the proxy cannot complete gets a status and a one-line reason
// (failure.go), never a closed connection.
//
// A download: the response of a download rule is decrypted as the client
// reads it, when the ledger knows the image or the classifier recognises
// it as the ciphertext of a key of the keyring (another proxy of the
// household, a lost ledger, the command line); a Range is served by
// fetching from byte 0 and slicing the decrypted bytes (from the whole file
// when the range reaches what a phone appends after the image, which is
// planned from the end of the file, or when the prefix is too short for
// the classifier).
//
// Nothing lost: after an accepted upload the ledger learns the SHA-256 of
// the file as it went up and where the service keeps it (record.go); every
// download of a photo of ours is checked against both, and one the service
// did not keep is logged, counted and shown on the proxy's page, never
// served as if whole (kept.go). Uploads to a host `jpegveil verify` saw
// re-encode are refused (reencode.go).
//
// The services: a Service (service.go) is one photo service's protocol
// knowledge in a package of its own under proxy/services. It sees the
// proxy only through services.Exchange (the request, its rule, refusing,
// passing, encrypting a raw body, recording the outcome) and services.Env
// (upstream transport, session table, hash headers, encryption streams),
// and never imports this package. What a service does beyond its name and
// hash headers is an interface of its own that the dispatcher checks for:
// MultiRequestUploader, UploadIdentifier (DownloadIdentifier), Renditions,
// ChecksumTranslator and PreviewIdentifier (see service.go).
//
// Previews (previews.go, api.go, uploadid.go): a rule that names its
// service renders the service's renditions of the proxy's photos itself.
// On an upload rule the proxy keeps the photo while it goes up, reads the
// service's ID for it from the answer, renders the likely sizes and the
// placeholder into the preview cache (proxy/internal/preview) and records
// the checksums of photo and ciphertext (proxy/internal/aliases). On a download or
// api rule a rendition request is answered from the cache (after a HEAD
// of the original with the client's credentials) or rendered from the
// original, fetched with those credentials and decrypted; a photo that is
// not the proxy's gets the service's own rendition. On an api rule JSON
// and XML bodies go through the service's checksum translation: no
// checksum of a plaintext goes upstream, and the service's checksums of
// the proxy's ciphertexts come back as those of the photos.
package proxy
