package keystream

import (
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the Argon2id parameters of a passphrase key. They are
// stored in the key file (they are not secret) so every device derives the
// same master key from the same passphrase.
type Argon2Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // degree of parallelism (lanes); part of the output, not just speed
	Salt      []byte // 16 to 64 random bytes
}

// Limits on Argon2 parameters. The upper ones exist because key files can
// come from elsewhere: a hostile file must not make us spend minutes or
// allocate more than 4 GiB. The lower ones are Argon2's own (at least 8 KiB
// per lane) and RFC 9106's salt recommendation (16 bytes); there is no floor
// on cost, so tests can use tiny parameters.
const (
	maxArgon2Time      = 100
	maxArgon2MemoryKiB = 4 << 20 // 4 GiB
	minSaltSize        = 16
	maxSaltSize        = 64
)

// DefaultArgon2Params returns the second recommended option of RFC 9106
// §4 (t=3, m=64 MiB, p=4), which fits phones and small machines, with a
// fresh 16-byte random salt.
func DefaultArgon2Params() (Argon2Params, error) {
	salt := make([]byte, minSaltSize)
	if _, err := rand.Read(salt); err != nil {
		return Argon2Params{}, fmt.Errorf("keystream: cannot generate salt: %w", err)
	}
	return Argon2Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 4, Salt: salt}, nil
}

// validate checks p against the limits above; the returned message names
// the bad parameter and is safe to show (parameters are not secret).
func (p *Argon2Params) validate() error {
	switch {
	case p.Time == 0 || p.Time > maxArgon2Time:
		return fmt.Errorf("argon2id time %d out of range 1..%d", p.Time, maxArgon2Time)
	case p.Threads == 0:
		return errors.New("argon2id threads must be at least 1")
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxArgon2MemoryKiB:
		return fmt.Errorf("argon2id memory %d KiB out of range %d..%d (at least 8 KiB per thread, at most 4 GiB)",
			p.MemoryKiB, 8*uint32(p.Threads), maxArgon2MemoryKiB)
	case len(p.Salt) < minSaltSize || len(p.Salt) > maxSaltSize:
		return fmt.Errorf("argon2id salt is %d bytes, want %d..%d", len(p.Salt), minSaltSize, maxSaltSize)
	}
	return nil
}

// DeriveKey derives a key from a passphrase: the master key is
// Argon2id(passphrase, p.Salt, p.Time, p.MemoryKiB, p.Threads) with a
// 32-byte output. It takes as long and as much memory as p says (about
// 64 MiB and a fraction of a second with DefaultArgon2Params).
//
// The passphrase is used as given, byte for byte: no Unicode
// normalisation or trimming, so callers should read it the same way on
// every device.
func DeriveKey(passphrase []byte, p Argon2Params, mode Mode) (*Key, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("keystream: empty passphrase")
	}
	if !mode.valid() {
		return nil, fmt.Errorf("keystream: invalid mode %.40q", string(mode))
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("keystream: %w", err)
	}
	out := argon2.IDKey(passphrase, p.Salt, p.Time, p.MemoryKiB, p.Threads, MasterKeySize)
	k := newKey((*[MasterKeySize]byte)(out), mode)
	clear(out)
	return k, nil
}
