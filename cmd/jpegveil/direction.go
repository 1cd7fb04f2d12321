package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"jpegveil/keystream"
	"jpegveil/veil"
)

// directionError is a file that goes the other way than the command: our
// ciphertext given to encrypt, a plaintext or a stranger's file given to
// decrypt. Exit status 1.
type directionError struct {
	msg string
}

func (e *directionError) Error() string { return e.msg }

// openTransform transforms the photo that rt reads with the ring's
// current key while the classifier judges its direction in the same pass
// (veil.Options.Classify, FORMAT.md §34.5), and decides from the verdict:
// encrypting refuses our ciphertext; decrypting refuses a plaintext and a
// file that is no ciphertext of a key of the ring, and picks the key whose
// ciphertext it is. force transforms anyway, with the current key unless
// the classifier named one. It returns the Reader of the transform to
// write out and its key. With the current key that is the transform that
// was judged, which goes on where the verdict left it, so the file is
// parsed once; with an older key a new one starts over from the bytes read
// so far, which are kept only when decrypting with several keys. A read
// error before the verdict is returned as "cannot read". opts must not
// set Decide, Record or StopAtError: the command line's never do.
func openTransform(d direction, ring *keystream.Keyring, rt *readTracker, opts veil.Options, force bool) (*veil.Reader, *keystream.Key, error) {
	head := &replay{r: rt, stopped: d == encrypting || len(ring.Keys()) == 1}
	judged := opts
	judged.Classify = ring
	r := veil.NewReader(ring.Current(), head, judged)
	if err := r.Judge(); err != nil {
		return nil, nil, err
	}
	v := r.Verdict()
	if rt.err != nil {
		return nil, nil, fmt.Errorf("cannot read: %w", rt.err)
	}
	if r.Interrupted() {
		// Only Decide, Record or StopAtError stop the judging early.
		return nil, nil, errors.New("the direction was not judged over the file (a transform option stopped it)")
	}
	key, err := chooseKey(d, ring, v, force)
	if err != nil {
		return nil, nil, err
	}
	if key.ID() == ring.Current().ID() {
		head.stop()
		return r, key, nil
	}
	return veil.NewReader(key, head.rest(), opts), key, nil
}

// chooseKey returns the key to transform a file with, from the
// classifier's verdict v on it (see openTransform).
func chooseKey(d direction, ring *keystream.Keyring, v veil.Verdict, force bool) (*keystream.Key, error) {
	ids := strings.Join(ring.IDs(), ", ")
	hint := " (--force-direction overrides)"
	switch {
	case d == encrypting && v.Class == veil.Ciphertext:
		if !force {
			return nil, &directionError{fmt.Sprintf("already encrypted: a ciphertext of key %s (margin %.2f bits); encrypting it again would decrypt it%s", v.Key.ID(), v.Margin, hint)}
		}
		return ring.Current(), nil
	case d == encrypting:
		return ring.Current(), nil
	case v.Class == veil.Ciphertext:
		return v.Key, nil
	case force:
		return ring.Current(), nil
	case v.Reason == "no scan":
		// Not a JPEG, or broken before its first scan: the transform
		// reports the parse error, and changes no image data.
		return ring.Current(), nil
	case v.Class == veil.Plaintext:
		return nil, &directionError{fmt.Sprintf("not encrypted: a plaintext photo, no ciphertext of key %s (margin %.2f bits)%s", ids, v.Margin, hint)}
	default:
		return nil, &directionError{fmt.Sprintf("not recognisably encrypted with key %s (%s); another key's ciphertext, or an image too small or flat to tell%s", ids, v, hint)}
	}
}

// replay keeps the bytes read from r, unless stopped, so that a transform
// that starts over can read them again.
type replay struct {
	r       io.Reader
	kept    []byte
	stopped bool
}

func (p *replay) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if !p.stopped {
		p.kept = append(p.kept, b[:n]...)
	}
	return n, err
}

// stop drops the bytes kept: nothing will read them again.
func (p *replay) stop() { p.stopped, p.kept = true, nil }

// rest returns a reader of the bytes kept, then of the rest of r; p keeps
// nothing more. p must not have been stopped.
func (p *replay) rest() io.Reader {
	if p.stopped {
		panic("jpegveil: replay of bytes not kept")
	}
	kept := p.kept
	p.stop()
	return io.MultiReader(bytes.NewReader(kept), p.r)
}

// directionNote says which key decrypts when it is not the current one.
func directionNote(d direction, ring *keystream.Keyring, key *keystream.Key) string {
	if d == decrypting && key.ID() != ring.Current().ID() {
		return "ciphertext of older key " + key.ID() + ": decrypting with it"
	}
	return ""
}
