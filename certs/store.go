package certs

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
)

// File names inside the directory passed to LoadOrCreateCA.
const (
	CertFileName = "ca.pem"     // the CA certificate, PEM; public, mode 0644
	KeyFileName  = "ca-key.pem" // the CA key, PKCS#8 PEM; secret, mode 0600
)

// LoadOrCreateCA loads the CA stored in dir. If dir holds neither CA file,
// it creates a new CA there, and created is true.
//
// A loaded CA is refused when:
//   - the key file is accessible by group or others (*InsecureKeyFileError);
//   - the key does not match the certificate (*KeyMismatchError);
//   - it has expired (*CAExpiredError);
//   - it does not permit every domain in opts.PermittedDomains
//     (*ConstraintsMismatchError);
//   - only one of the two files exists (*IncompleteCAError).
//
// opts.Validity applies only when a CA is created.
//
// A CA whose constraints are wider than opts.PermittedDomains (for example
// after a rule was removed) is accepted as it is. Narrowing a CA needs a new
// one, and the user must reinstall that on every device.
func LoadOrCreateCA(dir string, opts CAOptions) (ca *CA, created bool, err error) {
	certPath := filepath.Join(dir, CertFileName)
	keyPath := filepath.Join(dir, KeyFileName)
	certExists, err := fileExists(certPath)
	if err != nil {
		return nil, false, err
	}
	keyExists, err := fileExists(keyPath)
	if err != nil {
		return nil, false, err
	}
	switch {
	case certExists && keyExists:
		ca, err := loadCA(certPath, keyPath, opts)
		return ca, false, err
	case certExists:
		return nil, false, &IncompleteCAError{Present: certPath, Missing: keyPath}
	case keyExists:
		return nil, false, &IncompleteCAError{Present: keyPath, Missing: certPath}
	}
	ca, err = createCA(dir, certPath, keyPath, opts)
	return ca, err == nil, err
}

func fileExists(path string) (bool, error) {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("certs: %w", err)
	}
}

func createCA(dir, certPath, keyPath string, opts CAOptions) (*CA, error) {
	// 0700: only the owner can list the directory that holds the key.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: create CA directory: %w", err)
	}
	ca, err := NewCA(opts)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return nil, fmt.Errorf("certs: encode CA key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	// The key is written first. O_EXCL means a key that appeared since the
	// check above, from a racing process or an attacker's pre-created file
	// or symlink, is never overwritten or followed.
	if err := writeNewFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeNewFile(certPath, ca.CertPEM(), 0o644); err != nil {
		// Remove the key again so that the next run does not find a key
		// with no certificate.
		_ = os.Remove(keyPath)
		return nil, err
	}
	return ca, nil
}

// writeNewFile creates path exclusively with exactly perm (chmod after
// open, so the umask cannot change the intended 0644), writes data and syncs.
// On failure, the partial file is removed.
func writeNewFile(path string, data []byte, perm fs.FileMode) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("certs: %w", cerr)
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	if runtime.GOOS != "windows" {
		if err := f.Chmod(perm); err != nil {
			return fmt.Errorf("certs: %w", err)
		}
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}

func loadCA(certPath, keyPath string, opts CAOptions) (*CA, error) {
	keyPEM, err := readKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	certDER, err := decodePEM(certPEM, "CERTIFICATE")
	if err != nil {
		return nil, &FileError{Path: certPath, Err: err}
	}
	keyDER, err := decodePEM(keyPEM, "PRIVATE KEY")
	if err != nil {
		return nil, &FileError{Path: keyPath, Err: err}
	}
	parsed, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, &FileError{Path: keyPath, Err: fmt.Errorf("parse PKCS#8 key: %w", err)}
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, &FileError{Path: keyPath, Err: fmt.Errorf("key is %T, want ECDSA P-256", parsed)}
	}
	ca, err := newCA(certDER, key)
	if err != nil {
		if km := (*KeyMismatchError)(nil); errors.As(err, &km) {
			return nil, &KeyMismatchError{CertFile: certPath, KeyFile: keyPath}
		}
		return nil, &FileError{Path: certPath, Err: err}
	}
	if now := opts.now(); now.After(ca.cert.NotAfter) {
		return nil, &CAExpiredError{NotAfter: ca.cert.NotAfter, CertFile: certPath, KeyFile: keyPath}
	}
	want, err := normalizeDomains(opts.PermittedDomains)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, d := range want {
		if !ca.permits(hostName{dns: d}) {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		return nil, &ConstraintsMismatchError{
			CertFile:  certPath,
			KeyFile:   keyPath,
			Missing:   missing,
			Permitted: slices.Clone(ca.cert.PermittedDNSDomains),
		}
	}
	return ca, nil
}

// readKeyFile reads the CA key, refusing a file that group or others can
// access. The mode check uses the open file's own Stat, so a file swapped
// in after the check cannot be read in its place.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, &FileError{Path: path, Err: errors.New("not a regular file")}
	}
	// Windows reports synthetic permission bits (0666) that say nothing
	// about ACLs. The check is meaningful only on Unix.
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, &InsecureKeyFileError{Path: path, Mode: info.Mode()}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("certs: read %s: %w", path, err)
	}
	return data, nil
}

// decodePEM returns the bytes of the first PEM block in data, which must
// have the given type.
func decodePEM(data []byte, typ string) ([]byte, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM data (want a %q block)", typ)
	}
	if block.Type != typ {
		return nil, fmt.Errorf("PEM block is %q, want %q", block.Type, typ)
	}
	return block.Bytes, nil
}
