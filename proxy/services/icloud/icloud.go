// Package icloud is jpegveil's knowledge of iCloud Photos on the web: the
// file goes up as the raw body of a POST to a *.icloud-content.com host
// and comes back from the same hosts, so the generic raw upload and
// download rules carry it. Its clients send no hash header of their own.
// The derivatives Apple makes of a photo (thumbnails, previews) are
// rendered locally once a CloudKit listing has named their original
// (previews.go).
package icloud

import "jpegveil/proxy/internal/hashes"

// Service is iCloud Photos.
type Service struct{}

// Name is "icloud".
func (Service) Name() string { return "icloud" }

// HashHeaders is empty: iCloud's web client sends no hash of the upload.
func (Service) HashHeaders() []hashes.Header { return nil }
