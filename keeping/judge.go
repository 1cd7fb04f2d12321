package keeping

import (
	"bytes"
	"crypto/sha256"
	"io"

	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// Verdict is what a service did to a photo it was sent.
type Verdict int

const (
	// KeptExactly: the copy is the ciphertext sent, byte for byte (its
	// SHA-256 is the one the ledger recorded).
	KeptExactly Verdict = iota + 1
	// MetadataRewritten: the copy differs from what was sent, but its
	// image decrypts whole from the same first chunk: the service changed
	// metadata (Exif, XMP) and kept the main image. A service that
	// re-encodes changes the first chunk.
	MetadataRewritten
	// ImageKept: the image decrypts whole from the same first chunk, and
	// the ledger has no hash of the file to tell more.
	ImageKept
	// Reencoded: the copy's main image is not the one sent (its first
	// chunk differs, or it stops decrypting midway): the photo is lost.
	Reencoded
)

func (v Verdict) String() string {
	switch v {
	case KeptExactly:
		return "kept exactly"
	case MetadataRewritten:
		return "metadata rewritten (main image still exact)"
	case ImageKept:
		return "main image exact (no file hash recorded)"
	case Reencoded:
		return "re-encoded (lost)"
	}
	return "unknown"
}

// Lost reports whether the photo cannot be decrypted from the copy.
func (v Verdict) Lost() bool { return v == Reencoded }

// Judge says what became of the photo rec records, given the copy the
// service returned. key is the key rec names (rec.KeyID); it decrypts the
// copy to see whether the main image comes out whole.
func Judge(key *keystream.Key, rec ledger.Record, copy []byte) Verdict {
	if rec.HasHash && sha256.Sum256(copy) == rec.CiphertextSHA256 {
		return KeptExactly
	}
	vr := veil.NewReader(key, bytes.NewReader(copy), veil.Options{
		Decide: func(fp veil.Fingerprint) (bool, error) { return ledger.Fingerprint(fp) == rec.Fingerprint, nil },
	})
	if _, err := io.Copy(io.Discard, vr); err != nil {
		return Reencoded
	}
	res := vr.Result()
	if !res.HasFingerprint || ledger.Fingerprint(res.In) != rec.Fingerprint || !res.Transformed || res.Err != nil {
		return Reencoded
	}
	if rec.HasHash {
		return MetadataRewritten
	}
	return ImageKept
}
