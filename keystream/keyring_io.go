package keystream

import (
	"os"
	"path/filepath"
)

// ReadKeyring reads and parses the keyring file at path (a single key file
// is a keyring of one key), with ReadKeyFile's permission check. All
// errors are *KeyFileError with Path set.
func ReadKeyring(path string) ([]*KeyFile, error) {
	data, err := readPrivateFile(path, maxKeyringFileSize)
	if err != nil {
		return nil, err
	}
	files, err := ParseKeyring(data)
	if err != nil {
		return nil, withPath(path, err)
	}
	return files, nil
}

// RotateKeyring makes k the current key of the keyring file at path,
// keeping every key it held, byte for byte, after it. The file is
// replaced atomically (a new 0600 file in the same directory, synced, then
// renamed over it), so a crash leaves either the old or the new keyring,
// never a partial one. k must not be in the keyring already.
func RotateKeyring(path string, k *Key) error {
	data, err := readPrivateFile(path, maxKeyringFileSize)
	if err != nil {
		return err
	}
	files, err := ParseKeyring(data)
	if err != nil {
		return withPath(path, err)
	}
	if len(files) >= MaxKeyringKeys {
		return &KeyFileError{Path: path, Reason: "keyring is full"}
	}
	for _, f := range files {
		if f.ID == k.ID() {
			return &KeyFileError{Path: path, Reason: "key " + k.ID() + " is already in the keyring"}
		}
	}
	out := k.MarshalKeyFile()
	if len(data) > 0 && data[0] != '\n' {
		out = append(out, '\n')
	}
	out = append(out, data...)
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".rotate")
	if err := WriteKeyFile(tmp, out); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return &KeyFileError{Path: path, Reason: "cannot replace", Err: err}
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
