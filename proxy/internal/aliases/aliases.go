// Package aliases keeps, in the ledger's alias store, what the proxy must
// map between a service's view and the user's without the ledger showing
// either: checksums of photos and of their ciphertexts, and names a
// service gave to uploads. Everything is keyed or sealed under K_checksums.
package aliases

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"

	"golang.org/x/crypto/chacha20poly1305"

	"jpegveil/ledger"
	"jpegveil/proxy/internal/preview"
)

// Checksums is services.Checksums over the ledger's aliases. Keys and
// values are derived under K_checksums: the lookup key of a checksum is a
// keyed hash of it, and a photo's checksum is stored XORed with a keyed pad
// of its ciphertext's, so the ledger shows no checksum of a plaintext.
type Checksums struct {
	Keys  [][]byte          // K_checksums of each key of the ring, the current first
	Store ledger.AliasStore // nil: nothing is mapped, stand-ins only
}

// Tags keep the keyed hashes of one purpose apart from the others'.
const (
	tagPlainToCipher = 'p'
	tagCipherToPlain = 'c'
	tagPad           = 'x'
	tagStandIn       = 's'
)

func keyedMAC(key []byte, tag byte, sum []byte) [32]byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte{tag, byte(len(sum))})
	h.Write(sum)
	return [32]byte(h.Sum(nil))
}

func (m *Checksums) Cipher(ctx context.Context, plain []byte) ([]byte, bool) {
	if m.Store == nil {
		return nil, false
	}
	for _, k := range m.Keys {
		v, ok, err := m.Store.Alias(ctx, keyedMAC(k, tagPlainToCipher, plain))
		if err == nil && ok && len(v) == len(plain) {
			return v, true
		}
	}
	return nil, false
}

func (m *Checksums) Plain(ctx context.Context, cipher []byte) ([]byte, bool) {
	if m.Store == nil || len(cipher) > 32 {
		return nil, false
	}
	for _, k := range m.Keys {
		v, ok, err := m.Store.Alias(ctx, keyedMAC(k, tagCipherToPlain, cipher))
		if err != nil || !ok || len(v) != len(cipher) {
			continue
		}
		pad := keyedMAC(k, tagPad, cipher)
		for i := range v {
			v[i] ^= pad[i]
		}
		return v, true
	}
	return nil, false
}

func (m *Checksums) StandIn(plain []byte) []byte {
	s := keyedMAC(m.Keys[0], tagStandIn, plain)
	return append([]byte(nil), s[:min(len(plain), len(s))]...)
}

// Record keeps the pair: the checksum of a photo and that of the
// ciphertext uploaded for it (same algorithm, at most 32 bytes).
func (m *Checksums) Record(ctx context.Context, plain, cipher []byte) error {
	if m.Store == nil || len(plain) != len(cipher) || len(cipher) > 32 {
		return nil
	}
	k := m.Keys[0]
	if err := m.Store.RecordAlias(ctx, keyedMAC(k, tagPlainToCipher, plain), cipher); err != nil {
		return err
	}
	pad := keyedMAC(k, tagPad, cipher)
	sealed := make([]byte, len(plain))
	for i := range plain {
		sealed[i] = plain[i] ^ pad[i]
	}
	return m.Store.RecordAlias(ctx, keyedMAC(k, tagCipherToPlain, cipher), sealed)
}

// Names is services.Names over the ledger's aliases: the lookup key is a
// keyed hash of service and name, the value sealed with
// XChaCha20-Poly1305 under a key derived from K_checksums.
type Names struct {
	Keys  [][]byte          // as Checksums'
	Store ledger.AliasStore // nil: nothing is remembered
	Brief *preview.Cache    // RememberBriefly
}

func briefKey(service, name string) string { return "name\x00" + service + "\x00" + name }

func (n *Names) RememberBriefly(service, name, value string) {
	n.Brief.PutMemory(briefKey(service, name), []byte(value))
}

func namesAEAD(key []byte) cipher.AEAD {
	h := hmac.New(sha256.New, key)
	h.Write([]byte{'n', 'k'})
	a, err := chacha20poly1305.NewX(h.Sum(nil))
	if err != nil {
		panic("aliases: XChaCha20-Poly1305 with a 32-byte key: " + err.Error())
	}
	return a
}

func namesLookup(key []byte, service, name string) [32]byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte{'n'})
	h.Write([]byte(service + "\x00" + name))
	return [32]byte(h.Sum(nil))
}

func (n *Names) Remember(ctx context.Context, service, name, value string) error {
	if n.Store == nil {
		return nil
	}
	a := namesAEAD(n.Keys[0])
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(value)+a.Overhead())
	rand.Read(nonce)
	key := namesLookup(n.Keys[0], service, name)
	return n.Store.RecordAlias(ctx, key, a.Seal(nonce, nonce, []byte(value), key[:]))
}

func (n *Names) Recall(ctx context.Context, service, name string) (string, bool) {
	if v, ok := n.Brief.Get(briefKey(service, name)); ok {
		return string(v), true
	}
	if n.Store == nil {
		return "", false
	}
	for _, k := range n.Keys {
		key := namesLookup(k, service, name)
		v, ok, err := n.Store.Alias(ctx, key)
		a := namesAEAD(k)
		if err != nil || !ok || len(v) < a.NonceSize() {
			continue
		}
		if out, err := a.Open(nil, v[:a.NonceSize()], v[a.NonceSize():], key[:]); err == nil {
			return string(out), true
		}
	}
	return "", false
}
