package keystream

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The key file format (FORMAT.md §13) is line-based text: a version
// line, then "name: value" fields. It is small enough to read, compare and
// copy by hand, and parsed strictly: every field must be known, present
// exactly once and canonically spelled, so that a damaged or tampered file
// is an error rather than a different key.
const (
	keyFileHeader       = "jpegveil-key v1"
	keyFileHeaderPrefix = "jpegveil-key "

	// maxKeyFileSize bounds what ParseKeyFile and ReadKeyFile accept. A real
	// key file is under 400 bytes; pointing the tool at a photo or a device
	// must fail fast.
	maxKeyFileSize = 16 << 10

	kdfArgon2id = "argon2id"
)

// Field names.
const (
	fieldMode    = "mode"
	fieldKey     = "key"
	fieldID      = "id"
	fieldKDF     = "kdf"
	fieldTime    = "argon2id-time"
	fieldMemory  = "argon2id-memory-kib"
	fieldThreads = "argon2id-threads"
	fieldSalt    = "salt"
)

// Fields of each kind of key file, in the order writers emit them.
// Read-only, like b64: package-level only because Go has no constant
// arrays.
var (
	randomFields     = [...]string{fieldMode, fieldKey, fieldID}
	passphraseFields = [...]string{fieldMode, fieldKDF, fieldTime, fieldMemory, fieldThreads, fieldSalt, fieldID}
)

// b64 is standard base64 with padding (RFC 4648 §4), rejecting non-zero
// padding bits so every value has exactly one spelling.
var b64 = base64.StdEncoding.Strict()

// KeyFile is a parsed key file. Exactly one of Master (random key) and
// Argon2 (passphrase key) is set.
//
// Printing a KeyFile shows only its kind, mode and ID.
type KeyFile struct {
	Mode   Mode
	Master []byte        // random keys only: the 32-byte master key
	Argon2 *Argon2Params // passphrase keys only: how to derive the master key
	ID     string        // the key ID, checked against the key when it is derived
}

// MarshalKeyFile returns the key file holding k's master key. The result is
// secret: write it with WriteKeyFile, which makes the file private.
func (k *Key) MarshalKeyFile() []byte {
	k.mustBeValid()
	var b strings.Builder
	b.WriteString(keyFileHeader + "\n")
	b.WriteString("# jpegveil key. Anyone with this file can decrypt the photos encrypted\n")
	b.WriteString("# with it; without it they are lost. Keep it private and keep a backup.\n")
	writeField(&b, fieldMode, string(k.mode))
	writeField(&b, fieldKey, b64.EncodeToString(k.secret.master[:]))
	writeField(&b, fieldID, k.id)
	return []byte(b.String())
}

// MarshalPassphraseKeyFile returns the key file for a key derived from a
// passphrase with DeriveKey(passphrase, p, k.Mode()). It stores the mode,
// the Argon2id parameters with the salt, and k's ID (to recognise a wrong
// passphrase), not the key. It cannot check that k really came from p; a
// mismatch makes every later KeyFile.Key fail with ErrWrongPassphrase.
//
// p must satisfy the limits DeriveKey enforces; otherwise it panics, since
// DeriveKey would have refused to make k.
func MarshalPassphraseKeyFile(k *Key, p Argon2Params) []byte {
	k.mustBeValid()
	if err := p.validate(); err != nil {
		panic("keystream: MarshalPassphraseKeyFile: " + err.Error())
	}
	var b strings.Builder
	b.WriteString(keyFileHeader + "\n")
	b.WriteString("# jpegveil passphrase key: the key is derived from your passphrase with\n")
	b.WriteString("# these parameters. Keep this file private: it lets passphrase guesses be\n")
	b.WriteString("# checked offline.\n")
	writeField(&b, fieldMode, string(k.mode))
	writeField(&b, fieldKDF, kdfArgon2id)
	writeField(&b, fieldTime, strconv.FormatUint(uint64(p.Time), 10))
	writeField(&b, fieldMemory, strconv.FormatUint(uint64(p.MemoryKiB), 10))
	writeField(&b, fieldThreads, strconv.FormatUint(uint64(p.Threads), 10))
	writeField(&b, fieldSalt, b64.EncodeToString(p.Salt))
	writeField(&b, fieldID, k.id)
	return []byte(b.String())
}

func writeField(b *strings.Builder, name, value string) {
	b.WriteString(name)
	b.WriteString(": ")
	b.WriteString(value)
	b.WriteByte('\n')
}

// field is one "name: value" line of a key file.
type field struct {
	value string
	line  int
}

// ParseKeyFile parses a key file. It is strict: an unknown, duplicate,
// missing or misspelled field, a field of the other kind of key file, or
// Argon2 parameters outside sane limits are all errors (*KeyFileError).
// For a random key it also checks the stored ID against the key, which
// catches damage and hand edits (of the mode line, say).
//
// Error messages never quote the value of the key field.
func ParseKeyFile(data []byte) (*KeyFile, error) {
	if len(data) > maxKeyFileSize {
		return nil, &KeyFileError{Reason: fmt.Sprintf("larger than %d bytes: not a key file", maxKeyFileSize)}
	}
	if !utf8.Valid(data) {
		return nil, &KeyFileError{Reason: "not valid UTF-8 text: not a key file"}
	}
	text := string(data)
	text = strings.TrimSuffix(text, "\n") // the final newline is optional
	fields := make(map[string]field)
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimSuffix(line, "\r") // tolerate CRLF line ends
		if strings.ContainsFunc(line, isControl) {
			return nil, lineError(n, "control character in line")
		}
		if n == 1 {
			if line == keyFileHeader {
				continue
			}
			if v, ok := strings.CutPrefix(line, keyFileHeaderPrefix); ok {
				return nil, lineError(n, fmt.Sprintf("unsupported key file version %.20q (this program reads v1)", v))
			}
			return nil, lineError(n, fmt.Sprintf("not a jpegveil key file (first line must be %q)", keyFileHeader))
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if strings.HasPrefix(line, keyFileHeaderPrefix) {
			return nil, lineError(n, "a second key: this is a keyring (FORMAT.md §13.4), which this reader does not take; rotate keys only where keyrings are read")
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			// Do not quote the line: it may be a pasted key.
			return nil, lineError(n, `expected "name: value"`)
		}
		if !knownField(name) {
			return nil, lineError(n, fmt.Sprintf("unknown field %.40q", name))
		}
		if prev, dup := fields[name]; dup {
			return nil, lineError(n, fmt.Sprintf("duplicate field %q (first on line %d)", name, prev.line))
		}
		if value == "" || strings.TrimSpace(value) != value {
			return nil, lineError(n, fmt.Sprintf("field %q: value empty or with surrounding spaces", name))
		}
		fields[name] = field{value, n}
	}

	_, hasKey := fields[fieldKey]
	_, hasKDF := fields[fieldKDF]
	switch {
	case hasKey && hasKDF:
		return nil, lineError(fields[fieldKDF].line, `both "key" and "kdf": a key file holds either a key or passphrase parameters`)
	case hasKey:
		return parseRandom(fields)
	case hasKDF:
		return parsePassphrase(fields)
	}
	return nil, &KeyFileError{Reason: `missing field "key" or "kdf"`}
}

func parseRandom(fields map[string]field) (*KeyFile, error) {
	kf, err := parseCommon(fields, randomFields[:], "random")
	if err != nil {
		return nil, err
	}
	f := fields[fieldKey]
	master, err := b64.DecodeString(f.value)
	if err != nil || len(master) != MasterKeySize || b64.EncodeToString(master) != f.value {
		// Neither the value nor the decoder's error (which quotes an
		// offset into it) is shown: it is, or is close to, a secret.
		return nil, lineError(f.line, fmt.Sprintf("key must be %d bytes in standard padded base64", MasterKeySize))
	}
	kf.Master = master
	// The ID is derived from key and mode; checking it now turns a damaged
	// key, or a mode edited by hand, into an error here rather than
	// ciphertext nobody can decrypt later.
	k := newKey((*[MasterKeySize]byte)(master), kf.Mode)
	if subtle.ConstantTimeCompare([]byte(k.id), []byte(kf.ID)) != 1 {
		return nil, lineError(fields[fieldID].line, "id does not match the key and mode (damaged or edited file?)")
	}
	return kf, nil
}

func parsePassphrase(fields map[string]field) (*KeyFile, error) {
	kf, err := parseCommon(fields, passphraseFields[:], "passphrase")
	if err != nil {
		return nil, err
	}
	if f := fields[fieldKDF]; f.value != kdfArgon2id {
		return nil, lineError(f.line, fmt.Sprintf("unsupported kdf %.40q (want %q)", f.value, kdfArgon2id))
	}
	var p Argon2Params
	t, err := parseUint32(fields[fieldTime])
	if err != nil {
		return nil, err
	}
	m, err := parseUint32(fields[fieldMemory])
	if err != nil {
		return nil, err
	}
	th, err := parseUint32(fields[fieldThreads])
	if err != nil {
		return nil, err
	}
	if th > 255 {
		return nil, lineError(fields[fieldThreads].line, "argon2id threads must be at most 255")
	}
	p.Time, p.MemoryKiB, p.Threads = t, m, uint8(th)
	f := fields[fieldSalt]
	p.Salt, err = b64.DecodeString(f.value)
	if err != nil || b64.EncodeToString(p.Salt) != f.value {
		return nil, lineError(f.line, "salt must be standard padded base64")
	}
	if err := p.validate(); err != nil {
		return nil, &KeyFileError{Reason: "unacceptable parameters", Err: err}
	}
	kf.Argon2 = &p
	return kf, nil
}

// parseCommon checks that fields holds exactly the names in want and
// parses the fields both kinds share: mode and id.
func parseCommon(fields map[string]field, want []string, kind string) (*KeyFile, error) {
	for _, name := range want {
		if _, ok := fields[name]; !ok {
			return nil, &KeyFileError{Reason: fmt.Sprintf("missing field %q in a %s key file", name, kind)}
		}
	}
	if len(fields) != len(want) {
		// Report the stray field that comes first in the file.
		var stray string
		var line int
		for name, f := range fields {
			if !slices.Contains(want, name) && (line == 0 || f.line < line) {
				stray, line = name, f.line
			}
		}
		return nil, lineError(line, fmt.Sprintf("field %q does not belong in a %s key file", stray, kind))
	}
	f := fields[fieldMode]
	mode, err := ParseMode(f.value)
	if err != nil {
		return nil, lineError(f.line, fmt.Sprintf("mode %.40q is not %q or %q", f.value, ModeExtended, ModeStrict))
	}
	f = fields[fieldID]
	if !validKeyID(f.value) {
		return nil, lineError(f.line, "id must be 16 lower-case hex digits")
	}
	return &KeyFile{Mode: mode, ID: f.value}, nil
}

// parseUint32 accepts only canonical decimal: no sign, no leading zeros,
// no spaces, so that each value has one spelling.
func parseUint32(f field) (uint32, error) {
	v, err := strconv.ParseUint(f.value, 10, 32)
	if err != nil || strconv.FormatUint(v, 10) != f.value {
		return 0, lineError(f.line, fmt.Sprintf("%.40q is not a canonical decimal number below 2^32", f.value))
	}
	return uint32(v), nil
}

// NeedsPassphrase reports whether kf is a passphrase key file, whose Key
// method needs the passphrase.
func (kf *KeyFile) NeedsPassphrase() bool { return kf.Argon2 != nil }

// Key returns the key kf describes. For a random key file the passphrase is
// ignored. For a passphrase key file it runs Argon2id (slow by design) and
// returns ErrWrongPassphrase if the derived key's ID is not kf.ID.
func (kf *KeyFile) Key(passphrase []byte) (*Key, error) {
	switch {
	case kf.Master != nil && kf.Argon2 != nil:
		return nil, &KeyFileError{Reason: "both a key and passphrase parameters"}
	case kf.Master != nil:
		k, err := NewKeyFromBytes(kf.Master, kf.Mode)
		if err != nil {
			return nil, err
		}
		if subtle.ConstantTimeCompare([]byte(k.id), []byte(kf.ID)) != 1 {
			return nil, &KeyFileError{Reason: "id does not match the key and mode (damaged or edited file?)"}
		}
		return k, nil
	case kf.Argon2 != nil:
		k, err := DeriveKey(passphrase, *kf.Argon2, kf.Mode)
		if err != nil {
			return nil, err
		}
		if subtle.ConstantTimeCompare([]byte(k.id), []byte(kf.ID)) != 1 {
			return nil, ErrWrongPassphrase
		}
		return k, nil
	}
	return nil, &KeyFileError{Reason: "neither a key nor passphrase parameters"}
}

// String returns "keystream.KeyFile{kind=…, id=…, mode=…}": never the key.
// Like Key's, the printing methods have value receivers so that printing a
// KeyFile value is redacted too.
func (kf KeyFile) String() string {
	kind := "random"
	if kf.Argon2 != nil {
		kind = "passphrase"
	}
	return "keystream.KeyFile{kind=" + kind + ", id=" + kf.ID + ", mode=" + string(kf.Mode) + "}"
}

// GoString is String, so that %#v redacts as well.
func (kf KeyFile) GoString() string { return kf.String() }

// Format makes every fmt verb print the redacted String.
func (kf KeyFile) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte(kf.String()))
}

func lineError(line int, reason string) *KeyFileError {
	return &KeyFileError{Line: line, Reason: reason}
}

func knownField(name string) bool {
	return name == fieldKey || slices.Contains(passphraseFields[:], name)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
