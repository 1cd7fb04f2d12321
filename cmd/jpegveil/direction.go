package main

import (
	"bytes"
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

// chooseKey classifies the photo read from src (FORMAT.md §34) and returns
// the key to transform it with, and a reader that yields the whole photo
// again. Encrypting refuses our ciphertext; decrypting refuses a plaintext
// and a file that is no ciphertext of a key of the ring, and picks the key
// whose ciphertext it is. force transforms anyway, with the current key
// unless the classifier named one.
func chooseKey(d direction, ring *keystream.Keyring, src io.Reader, force bool) (*keystream.Key, io.Reader, error) {
	var head bytes.Buffer
	v, err := veil.Classify(ring, io.TeeReader(src, &head))
	if err != nil {
		return nil, nil, err
	}
	body := io.MultiReader(&head, src)
	ids := strings.Join(ring.IDs(), ", ")
	hint := " (--force-direction overrides)"
	switch {
	case d == encrypting && v.Class == veil.Ciphertext:
		if !force {
			return nil, nil, &directionError{fmt.Sprintf("already encrypted: a ciphertext of key %s (margin %.2f bits); encrypting it again would decrypt it%s", v.Key.ID(), v.Margin, hint)}
		}
		return ring.Current(), body, nil
	case d == encrypting:
		return ring.Current(), body, nil
	case v.Class == veil.Ciphertext:
		return v.Key, body, nil
	case force:
		return ring.Current(), body, nil
	case v.Reason == "no scan":
		// Not a JPEG, or broken before its first scan: the transform
		// reports the parse error, and changes no image data.
		return ring.Current(), body, nil
	case v.Class == veil.Plaintext:
		return nil, nil, &directionError{fmt.Sprintf("not encrypted: a plaintext photo, no ciphertext of key %s (margin %.2f bits)%s", ids, v.Margin, hint)}
	default:
		return nil, nil, &directionError{fmt.Sprintf("not recognisably encrypted with key %s (%s); another key's ciphertext, or an image too small or flat to tell%s", ids, v, hint)}
	}
}

// directionNote says which key decrypts when it is not the current one.
func directionNote(d direction, ring *keystream.Keyring, key *keystream.Key) string {
	if d == decrypting && key.ID() != ring.Current().ID() {
		return "ciphertext of older key " + key.ID() + ": decrypting with it"
	}
	return ""
}
