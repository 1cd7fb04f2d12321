// Package immich is jpegveil's knowledge of Immich: its mobile and web
// clients upload a photo as the assetData field of a multipart form
// (POST /api/assets, a rule with body multipart), and send the SHA-1 of
// the file in x-immich-checksum, which the proxy recomputes over the
// ciphertext.
//
// Known leak: POST /api/assets/bulk-upload-check carries the SHA-1 of
// every photo before it is uploaded, in plaintext JSON; translating those
// checksums is the service's next task (see proxy.Service).
package immich

import "jpegveil/proxy/internal/hashes"

// Service is Immich.
type Service struct{}

// Name is "immich".
func (Service) Name() string { return "immich" }

// HashHeaders is x-immich-checksum: the SHA-1 of the file (the assetData
// part), hex or base64.
func (Service) HashHeaders() []hashes.Header {
	return []hashes.Header{{Name: "X-Immich-Checksum", Display: "x-immich-checksum", Alg: hashes.SHA1, Hex: true, Base64: true}}
}
