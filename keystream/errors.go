package keystream

import (
	"errors"
	"strconv"
)

// ErrWrongPassphrase is returned by [KeyFile.Key] when the key derived from
// the passphrase does not have the key ID stored in the key file. A key file
// edited by hand (for example its mode line) gives the same error, because
// the mode is bound into the key ID too.
var ErrWrongPassphrase = errors.New("keystream: wrong passphrase (derived key ID does not match the key file)")

// ErrKeyFilePermissions is wrapped by the error [ReadKeyFile] returns for a
// key file that group or others may read or write. A key file must be
// private to its owner (mode 0600) because it holds the key, or for a
// passphrase key what an attacker needs to test guesses offline.
var ErrKeyFilePermissions = errors.New("key file is readable or writable by group or others")

// KeyFileError describes a key file that could not be read, written or
// parsed. It never contains key material: values of the key line are never
// quoted.
type KeyFileError struct {
	Path   string // file name; empty when parsing bytes with ParseKeyFile
	Line   int    // 1-based line number, or 0 when the error is not about one line
	Reason string // what is wrong, for a human
	Err    error  // underlying error, or nil
}

func (e *KeyFileError) Error() string {
	s := "keystream: key file"
	if e.Path != "" {
		s += " " + e.Path
	}
	if e.Line > 0 {
		if e.Path == "" {
			s += " line " + strconv.Itoa(e.Line)
		} else {
			s += ":" + strconv.Itoa(e.Line)
		}
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *KeyFileError) Unwrap() error { return e.Err }
