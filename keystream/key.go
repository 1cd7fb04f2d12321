package keystream

import (
	"crypto/rand"
	"fmt"
)

// MasterKeySize is the size of a master key in bytes.
const MasterKeySize = 32

// Key is a master key with its masking mode, and the subkeys derived from
// them. It is immutable after construction and safe for concurrent use.
//
// A Key never prints its secrets: String, GoString and Format show only the
// key ID and mode, whatever the verb, so a Key that ends up in a log line or
// a panic message leaks nothing, even where fmt bypasses those methods
// (see the secret field). The zero Key is not usable; get one from
// GenerateKey, NewKeyFromBytes, DeriveKey or KeyFile.Key.
type Key struct {
	// The secrets sit behind a pointer on purpose. When fmt cannot call
	// Key's methods (a Key inside an unexported struct field, or a verb fmt
	// considers bad for a pointer, which makes it print the pointee), it
	// walks the fields itself, but prints nested pointers as addresses.
	secret *keySecret
	mode   Mode
	id     string
}

type keySecret struct {
	master [MasterKeySize]byte
	sub    subkeys
}

// GenerateKey returns a new random key with the given mode.
func GenerateKey(mode Mode) (*Key, error) {
	if !mode.valid() {
		return nil, fmt.Errorf("keystream: cannot generate key: invalid mode %.40q", string(mode))
	}
	var master [MasterKeySize]byte
	if _, err := rand.Read(master[:]); err != nil {
		return nil, fmt.Errorf("keystream: cannot generate key: %w", err)
	}
	return newKey(&master, mode), nil
}

// NewKeyFromBytes returns the key with the given 32-byte master key and
// mode. It is meant for tests and test vectors, and for key material that
// comes from elsewhere; master is copied.
func NewKeyFromBytes(master []byte, mode Mode) (*Key, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("keystream: master key is %d bytes, want %d", len(master), MasterKeySize)
	}
	if !mode.valid() {
		return nil, fmt.Errorf("keystream: invalid mode %.40q", string(mode))
	}
	return newKey((*[MasterKeySize]byte)(master), mode), nil
}

// newKey derives everything up front: the subkeys cost four HMACs, and
// deriving them once keeps Chain creation and Key methods allocation-free
// and immutable.
func newKey(master *[MasterKeySize]byte, mode Mode) *Key {
	sec := &keySecret{master: *master}
	sec.sub = deriveSubkeys(&sec.master, mode)
	return &Key{secret: sec, mode: mode, id: formatKeyID(&sec.sub)}
}

// mustBeValid panics on the zero Key: using one is a programming error,
// and silently deriving keys from 32 zero bytes would be far worse.
func (k *Key) mustBeValid() {
	if k == nil || k.id == "" {
		panic("keystream: use of zero or nil Key")
	}
}

// Mode returns the key's masking mode.
func (k *Key) Mode() Mode {
	k.mustBeValid()
	return k.mode
}

// ID returns the key ID shown to users and stored with ledger entries: 16
// lower-case hex digits, the first 8 bytes of the "key id" subkey. It
// depends on the mode as well as the master key.
func (k *Key) ID() string {
	k.mustBeValid()
	return k.id
}

// LedgerKey returns a copy of the 32-byte subkey for the ledger's keyed
// fingerprints.
func (k *Key) LedgerKey() []byte {
	k.mustBeValid()
	out := make([]byte, len(k.secret.sub.ledger))
	copy(out, k.secret.sub.ledger[:])
	return out
}

// PreviewCacheKey returns a copy of the 32-byte subkey that encrypts the
// previews kept on disk.
func (k *Key) PreviewCacheKey() []byte {
	k.mustBeValid()
	return append([]byte(nil), k.secret.sub.previews[:]...)
}

// ChecksumKey returns a copy of the 32-byte subkey that keys the map from
// the checksums of photos to those of their ciphertexts, and the stand-ins
// sent for checksums the map does not hold.
func (k *Key) ChecksumKey() []byte {
	k.mustBeValid()
	return append([]byte(nil), k.secret.sub.checksums[:]...)
}

// String returns "keystream.Key{id=…, mode=…}" and nothing secret.
//
// String, GoString and Format have value receivers so that printing a Key
// value (not only a *Key) is redacted too: fmt cannot find pointer methods
// on a value and would otherwise print the fields.
func (k Key) String() string {
	if k.id == "" {
		return "keystream.Key{invalid}"
	}
	return "keystream.Key{id=" + k.id + ", mode=" + string(k.mode) + "}"
}

// GoString is String, so that %#v redacts as well.
func (k Key) GoString() string { return k.String() }

// Format makes every fmt verb (%x and %d included, which would otherwise
// dump the struct's bytes) print the redacted String.
func (k Key) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte(k.String()))
}
