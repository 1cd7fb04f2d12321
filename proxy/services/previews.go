package services

import (
	"context"
	"net/http"

	"jpegveil/proxy/internal/preview"
)

// Rendition is a request for a preview the service makes of a photo: a
// thumbnail, a resized copy.
type Rendition struct {
	// Photo is the service's ID for the photo: with the spec, the key of
	// the cached preview.
	Photo string
	Spec  preview.Spec
	// Original fetches the photo itself, with the client's credentials.
	Original *http.Request
}

// Checksums maps the checksums of photos (what a client computes over the
// file it holds) to those of their ciphertexts (what the service stores
// and reports), and back. Checksums are raw digests.
type Checksums interface {
	// Cipher is the checksum of the ciphertext uploaded for a photo whose
	// checksum is plain.
	Cipher(ctx context.Context, plain []byte) ([]byte, bool)
	// Plain is the checksum of the photo whose ciphertext has checksum
	// cipher.
	Plain(ctx context.Context, cipher []byte) ([]byte, bool)
	// Record keeps the pair: the checksum of a photo and that of the
	// ciphertext uploaded for it.
	Record(ctx context.Context, plain, cipher []byte) error
	// StandIn is what is sent in place of a checksum the map does not
	// hold: a keyed digest of the same length, stable for one key, that
	// tells the service nothing about the photo.
	StandIn(plain []byte) []byte
}

// Names remembers what a service's answers taught the proxy about its
// photos (a Nextcloud file ID and the WebDAV path of the file), for the
// requests that name a photo only one way. Values are kept sealed.
type Names interface {
	Remember(ctx context.Context, service, name, value string) error
	// RememberBriefly keeps a name in memory only, as long as the
	// preview cache has room: for what a service hands out afresh (signed
	// URLs that expire).
	RememberBriefly(service, name, value string)
	Recall(ctx context.Context, service, name string) (string, bool)
}

// Translation is what translating a response draws on.
type Translation struct {
	Checksums    Checksums
	Placeholders Placeholders
	Names        Names
}

// Placeholders gives the placeholder (ThumbHash) of a photo of the
// proxy's by the service's ID for it, when one is known.
type Placeholders func(photo string) ([]byte, bool)
