package keystream

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// MaxKeyringKeys bounds the keys of a keyring file: every key costs the
// direction classifier one keystream over the prefix it reads.
const MaxKeyringKeys = 16

// maxKeyringFileSize bounds what ParseKeyring and ReadKeyring accept.
const maxKeyringFileSize = MaxKeyringKeys * maxKeyFileSize

// A Keyring is an ordered set of keys with distinct key IDs (FORMAT.md
// §13.4). The first is the current key, which encrypts; every key
// decrypts. It is immutable and safe for concurrent use.
type Keyring struct {
	keys []*Key
}

// NewKeyring returns the keyring whose current key is current, followed by
// older. Two keys with the same ID (the same master key and mode) are an
// error.
func NewKeyring(current *Key, older ...*Key) (*Keyring, error) {
	keys := append([]*Key{current}, older...)
	if len(keys) > MaxKeyringKeys {
		return nil, fmt.Errorf("keystream: keyring of %d keys, at most %d allowed", len(keys), MaxKeyringKeys)
	}
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		k.mustBeValid()
		if seen[k.id] {
			return nil, fmt.Errorf("keystream: key %s appears twice in the keyring", k.id)
		}
		seen[k.id] = true
	}
	return &Keyring{keys: keys}, nil
}

// Current returns the key that encrypts.
func (r *Keyring) Current() *Key { return r.keys[0] }

// Keys returns the keys, the current one first.
func (r *Keyring) Keys() []*Key { return append([]*Key(nil), r.keys...) }

// Lookup returns the key with the given ID, or nil.
func (r *Keyring) Lookup(id string) *Key {
	for _, k := range r.keys {
		if k.id == id {
			return k
		}
	}
	return nil
}

// IDs returns the key IDs, the current one first.
func (r *Keyring) IDs() []string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.id
	}
	return ids
}

// ParseKeyring parses a keyring file: one or more key files (§13)
// concatenated, each starting with its "jpegveil-key v1" line; the first
// is the current key. A single key file is a keyring of one key. Errors
// are *KeyFileError with the line counted from the start of data.
func ParseKeyring(data []byte) ([]*KeyFile, error) {
	if len(data) > maxKeyringFileSize {
		return nil, &KeyFileError{Reason: fmt.Sprintf("larger than %d bytes: not a keyring", maxKeyringFileSize)}
	}
	parts, starts := splitKeyring(data)
	if len(parts) > MaxKeyringKeys {
		return nil, &KeyFileError{Reason: fmt.Sprintf("more than %d keys", MaxKeyringKeys)}
	}
	var out []*KeyFile
	seen := make(map[string]int)
	for i, p := range parts {
		kf, err := ParseKeyFile(p)
		if err != nil {
			var kfe *KeyFileError
			if errors.As(err, &kfe) {
				e := *kfe
				if e.Line > 0 {
					e.Line += starts[i]
				} else if len(parts) > 1 {
					e.Line = starts[i] + 1
				}
				return nil, &e
			}
			return nil, err
		}
		if first, dup := seen[kf.ID]; dup {
			return nil, &KeyFileError{Line: starts[i] + 1, Reason: fmt.Sprintf("key %s appears twice (first at line %d)", kf.ID, first)}
		}
		seen[kf.ID] = starts[i] + 1
		out = append(out, kf)
	}
	return out, nil
}

// splitKeyring cuts data before every line that starts with
// "jpegveil-key " (after the first), returning the parts and the number of
// lines before each.
func splitKeyring(data []byte) (parts [][]byte, starts []int) {
	start, line, startLine := 0, 0, 0
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if j >= 0 {
			next = i + j + 1
		}
		if i > 0 && bytes.HasPrefix(data[i:], []byte(keyFileHeaderPrefix)) {
			parts = append(parts, data[start:i])
			starts = append(starts, startLine)
			start, startLine = i, line
		}
		line++
		i = next
	}
	parts = append(parts, data[start:])
	starts = append(starts, startLine)
	return parts, starts
}

// KeyringFromFiles returns the keyring of the parsed key files, the first current.
// Passphrase key files are derived with passphrase (all of them with the
// same one).
func KeyringFromFiles(files []*KeyFile, passphrase []byte) (*Keyring, error) {
	if len(files) == 0 {
		return nil, &KeyFileError{Reason: "no key"}
	}
	keys := make([]*Key, len(files))
	for i, kf := range files {
		k, err := kf.Key(passphrase)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return NewKeyring(keys[0], keys[1:]...)
}

// String returns "keystream.Keyring{id, …}", the current key first: never
// a secret.
func (r Keyring) String() string {
	return "keystream.Keyring{" + strings.Join(r.IDs(), ", ") + "}"
}
