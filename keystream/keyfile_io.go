package keystream

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// WriteKeyFile creates path with mode 0600 and writes data to it. It never
// overwrites: if path exists the error wraps fs.ErrExist, because replacing
// a key file loses the key to every photo encrypted with it.
//
// On a write error the partial file is removed.
func WriteKeyFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		reason := "cannot create"
		if errors.Is(err, os.ErrExist) {
			reason = "already exists, refusing to overwrite it"
		}
		return &KeyFileError{Path: path, Reason: reason, Err: err}
	}
	_, err = f.Write(data)
	if err == nil {
		// The user may delete their only other copy right after keygen.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return &KeyFileError{Path: path, Reason: "cannot write", Err: err}
	}
	return nil
}

// ReadKeyFile reads and parses the key file at path. It refuses a file that
// group or others may read or write (mode & 0o077 != 0), with an error that
// wraps ErrKeyFilePermissions and tells the user to chmod 600: a key file
// others can read is a leaked key, one they can write is a key they can
// swap. (The check is skipped on Windows, whose permission bits say
// nothing about other users.) All errors are *KeyFileError with Path set.
func ReadKeyFile(path string) (*KeyFile, error) {
	data, err := readPrivateFile(path, maxKeyFileSize)
	if err != nil {
		return nil, err
	}
	kf, err := ParseKeyFile(data)
	if err != nil {
		return nil, withPath(path, err)
	}
	return kf, nil
}

// withPath returns err, a parse error of the file at path, as a
// *KeyFileError naming the file.
func withPath(path string, err error) error {
	var kfe *KeyFileError
	if errors.As(err, &kfe) {
		e := *kfe
		e.Path = path
		return &e
	}
	return &KeyFileError{Path: path, Err: err}
}

// readPrivateFile reads at most limit+1 bytes of the regular file at path,
// refusing it when group or others have any permission on it (see
// ReadKeyFile).
func readPrivateFile(path string, limit int64) ([]byte, error) {
	// Stat before opening so that a FIFO or device is refused without
	// blocking or reading from it.
	if fi, err := os.Stat(path); err != nil {
		return nil, &KeyFileError{Path: path, Reason: "cannot read", Err: err}
	} else if !fi.Mode().IsRegular() {
		return nil, &KeyFileError{Path: path, Reason: "not a regular file"}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &KeyFileError{Path: path, Reason: "cannot read", Err: err}
	}
	defer f.Close()
	// Check what was actually opened, in case path changed since Stat.
	fi, err := f.Stat()
	if err != nil {
		return nil, &KeyFileError{Path: path, Reason: "cannot read", Err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &KeyFileError{Path: path, Reason: "not a regular file"}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, &KeyFileError{
			Path:   path,
			Reason: fmt.Sprintf("permissions %04o", perm),
			Err:    fmt.Errorf("%w (fix with: chmod 600 %s)", ErrKeyFilePermissions, shellQuote(path)),
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &KeyFileError{Path: path, Reason: "cannot read", Err: err}
	}
	return data, nil
}

// shellQuote quotes path for the chmod hint, so that it can be pasted into
// a POSIX shell even when it holds spaces or quotes.
func shellQuote(path string) string {
	safe := path != ""
	for _, r := range path {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:@%=", r)) {
			safe = false
			break
		}
	}
	if safe {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
