// Package direction decides which way a photo goes through the proxy
// (FORMAT.md §34): the ledger first, then the direction classifier.
//
// Encryption and decryption are the same operation, so the proxy must
// know, before it changes a byte, whether a body is a plaintext or a
// ciphertext of its own. The ledger knows the images this proxy encrypted
// (under any key of its keyring); the classifier recognises, from the
// start of the file alone, the ciphertexts of every key of the keyring,
// whichever proxy or command made them. A Prefix holds back the start of a
// body while the classifier reads it; Decider.Decide turns its verdict and
// the ledger into a Decision; Decision.Options hands the transform the
// per-item decisions (metadata items decide with the ledger first too).
package direction

import (
	"context"
	"fmt"
	"time"

	"jpegveil/config"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// Way is the direction a body travels.
type Way uint8

// Ways.
const (
	Upload   Way = iota + 1 // the client sends the photo: plaintexts are encrypted
	Download                // the service sends it: our ciphertexts are decrypted
)

// Decider holds what direction decisions need for the life of the proxy.
type Decider struct {
	Ring   *keystream.Keyring
	Ledger ledger.Ledger
	// Keep are the proxy's metadata switches (KeepThumbnail, KeepMPF,
	// KeepGPS; the rest is ignored). A download the ledger does not know
	// is decrypted with them: the file is assumed to have been encrypted
	// with the same switches, as by another proxy of the household.
	Keep veil.Options
	// Scratch lends the buffers of the judging its prefixes speculate
	// with (NewPrefix) from one body to the next; nil allocates them.
	Scratch *veil.Scratch
}

// Decision is the direction of one photo.
type Decision struct {
	Way Way
	// Key is the key the body is transformed with: the key whose ledger
	// entry or ciphertext it is, else the current key.
	Key *keystream.Key
	// Transform says the primary image is encrypted (Upload) or decrypted
	// (Download).
	Transform bool
	// Known says the ledger knows the primary image, under Key.
	Known bool
	// Verdict is the classifier's.
	Verdict veil.Verdict
	// Cut says the body ended before the classifier was done: the verdict
	// is over all of it, which for a prefix of the file (a range) may not
	// be the whole file's.
	Cut bool
	// Unsure says neither the ledger nor the classifier could tell, and
	// the rule's on_unsure was applied (an Upload) or the body passes (a
	// Download).
	Unsure bool
}

// UnsureError refuses an upload under on_unsure block.
type UnsureError struct{ Verdict veil.Verdict }

func (e *UnsureError) Error() string {
	return fmt.Sprintf("neither the ledger nor the classifier can tell whether this JPEG is a plaintext or a ciphertext of a key in the keyring (%s); the rule's on_unsure is block", e.Verdict)
}

// NoScan reports whether the classifier found no scan to read: the body is
// not a JPEG, or broken before its image data. The transform then meets
// the same problem and the rule's on_unsupported policy applies, not
// on_unsure.
func NoScan(v veil.Verdict) bool { return v.Class == veil.Unsure && v.Reason == "no scan" }

// Decide returns the direction of a photo going way, whose start the
// classifier judged v. The ledger comes first, under every key of the
// keyring; then the verdict; an unsure upload follows onUnsure ("" is
// encrypt), and under block the error is an *UnsureError. Other errors
// are the ledger's.
func (d *Decider) Decide(ctx context.Context, way Way, v veil.Verdict, onUnsure config.UnsureAction) (Decision, error) {
	dec := Decision{Way: way, Key: d.Ring.Current(), Verdict: v}
	for _, k := range d.Ring.Keys() {
		fp, ok := v.Fingerprint(k.ID())
		if !ok {
			break
		}
		_, known, err := d.Ledger.Lookup(ctx, ledger.Fingerprint(fp))
		if err != nil {
			return dec, err
		}
		if known {
			dec.Key, dec.Known, dec.Transform = k, true, way == Download
			return dec, nil
		}
	}
	switch {
	case v.Class == veil.Ciphertext:
		dec.Key, dec.Transform = v.Key, way == Download
	case v.Class == veil.Plaintext, NoScan(v):
		dec.Transform = way == Upload
	case way == Download:
		dec.Unsure = true
	case onUnsure == config.UnsureBlock:
		dec.Unsure = true
		return dec, &UnsureError{Verdict: v}
	default:
		dec.Unsure, dec.Transform = true, true
	}
	return dec, nil
}

// Knows returns a Prefix.AskLedger function: whether the ledger knows the
// primary image under any key. A ledger error is no answer: Decide meets
// it again and reports it.
func (d *Decider) Knows(ctx context.Context) func([]veil.KeyFingerprint) bool {
	return func(fps []veil.KeyFingerprint) bool {
		for _, f := range fps {
			if _, known, err := d.Ledger.Lookup(ctx, ledger.Fingerprint(f.In)); err == nil && known {
				return true
			}
		}
		return false
	}
}

// Options returns base with the transform's per-item decisions set
// (veil.Options.Decide and Record), for the primary image and every
// metadata item, each of which the ledger knows or not on its own
// (FORMAT.md §27):
//
//   - an upload passes what the ledger knows; of the rest, the primary
//     image and its items follow the decision, except that with the
//     primary image known to the ledger they are encrypted, as the
//     ledger alone would; everything encrypted, and everything passed as
//     a ciphertext the classifier recognised, is recorded before any of
//     its bytes goes on;
//   - a download decrypts what the ledger knows; of the rest, nothing
//     when the ledger knows the primary image, else what the decision
//     says, with the proxy's metadata switches.
func (dec Decision) Options(ctx context.Context, d *Decider, base veil.Options) veil.Options {
	keyID := dec.Key.ID()
	known := func(fp veil.Fingerprint) (bool, error) {
		_, ok, err := d.Ledger.Lookup(ctx, ledger.Fingerprint(fp))
		return ok, err
	}
	record := func(fp veil.Fingerprint) error {
		return d.Ledger.Add(ctx, ledger.Fingerprint(fp), ledger.Entry{KeyID: keyID, Added: time.Now()})
	}
	if dec.Way == Download {
		if !dec.Known && dec.Transform {
			base.KeepThumbnail, base.KeepMPF, base.KeepGPS = d.Keep.KeepThumbnail, d.Keep.KeepMPF, d.Keep.KeepGPS
		}
		base.Decide = func(fp veil.Fingerprint) (bool, error) {
			if ok, err := known(fp); ok || err != nil {
				return ok, err
			}
			return !dec.Known && dec.Transform, nil
		}
		return base
	}
	// A ciphertext the classifier recognised goes up unchanged, and is
	// recorded, so that this proxy's ledger knows it from now on.
	passCiphertext := !dec.Known && !dec.Transform
	base.Decide = func(fp veil.Fingerprint) (bool, error) {
		if ok, err := known(fp); ok || err != nil {
			return false, err
		}
		if passCiphertext {
			return false, record(fp)
		}
		return true, nil
	}
	base.Record = record
	return base
}

// String says how the direction was decided, for the log.
func (dec Decision) String() string {
	v := dec.Verdict
	switch {
	case dec.Known:
		return "ledger (key " + dec.Key.ID() + ")"
	case NoScan(v):
		return "no scan"
	case dec.Unsure && dec.Way == Upload && dec.Transform:
		return fmt.Sprintf("unsure (%s): encrypted, on_unsure encrypt", v.Reason)
	case dec.Unsure && dec.Way == Upload:
		return fmt.Sprintf("unsure (%s): refused, on_unsure block", v.Reason)
	case dec.Unsure:
		return fmt.Sprintf("unsure (%s): passed", v.Reason)
	}
	return "classifier: " + v.String()
}
