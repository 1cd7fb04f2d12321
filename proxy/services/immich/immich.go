// Package immich is jpegveil's knowledge of Immich: its mobile and web
// clients upload a photo as the assetData field of a multipart form
// (POST /api/assets, a rule with body multipart), and send the SHA-1 of
// the file in x-immich-checksum, which the proxy recomputes over the
// ciphertext.
//
// With a rule of body api, the rest of the API is translated: thumbnails
// and previews of the proxy's photos are rendered from the decrypted
// original; the checksums in asset JSON are those of the photos, not of
// the stored ciphertexts; and the SHA-1 of every photo a client asks about
// before uploading (POST /api/assets/bulk-upload-check) is replaced by
// that of its ciphertext or by a keyed stand-in, so the server never sees
// a plaintext hash.
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
