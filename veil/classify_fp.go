package veil

import (
	"crypto/hmac"
	"crypto/sha256"
)

// KeyFingerprint is the fingerprint of the primary image (FORMAT.md §18),
// as the file is, under one key of a classifier's keyring: what a Reader
// with that key would pass to Options.Decide for it. A caller that keeps a
// ledger looks the image up under every key before it trusts the verdict.
type KeyFingerprint struct {
	KeyID string
	In    Fingerprint
}

// Fingerprint returns the primary image's fingerprint under the key with
// the given ID, and whether the classifier read far enough (the first
// chunk of the first scan) to know it.
func (v Verdict) Fingerprint(keyID string) (Fingerprint, bool) {
	for _, f := range v.Fingerprints {
		if f.KeyID == keyID {
			return f.In, true
		}
	}
	return Fingerprint{}, false
}

// fingerprints computes the primary image's fingerprint under every key of
// the pass from the segments and the first chunk its probe kept, exactly
// as image.Segment and image.Chunk do.
func (j *judge) fingerprints() []KeyFingerprint {
	if !j.sos || !j.firstSeen {
		return nil
	}
	first := j.first
	fps := make([]KeyFingerprint, 0, len(j.keys))
	for i, k := range j.keys {
		if j.chains[i] == nil {
			// The image the judge rides along with computed it (rideChunk
			// and rideSkipped give it with the first chunk); the judge
			// keeps no segments or chunk for it (ownFingerprints).
			fps = append(fps, KeyFingerprint{KeyID: k.ID(), In: *j.fusedFP})
			continue
		}
		lk := k.LedgerKey()
		h := hmac.New(sha256.New, lk)
		clear(lk)
		h.Write([]byte(fingerprintLabel))
		for _, seg := range j.segs {
			record(h, 0x01, seg)
		}
		record(h, 0x02, first)
		f := KeyFingerprint{KeyID: k.ID()}
		h.Sum(f.In[:0])
		fps = append(fps, f)
	}
	return fps
}

// Fingerprints returns the primary image's fingerprint under every key of
// the keyring as soon as the classifier has read the image's first chunk,
// before the verdict is done, or nil before then. A caller with a ledger
// that knows one of them has its answer and need not classify further
// (FORMAT.md §34: the ledger comes first).
func (c *Classifier) Fingerprints() []KeyFingerprint {
	if c.done || c.fps != nil {
		if c.done {
			return c.v.Fingerprints
		}
		return c.fps
	}
	var fps []KeyFingerprint
	for _, p := range c.passes {
		f := p.fingerprints()
		if f == nil {
			return nil
		}
		fps = append(fps, f...)
	}
	c.fps = fps
	return fps
}
