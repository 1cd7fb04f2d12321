package certs

import (
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// InvalidHostError reports a host name that cannot be put in a certificate:
// empty (no SNI), malformed, a wildcard, non-ASCII, or an IPv6 zone.
type InvalidHostError struct {
	Host   string // the host as given
	Reason string
}

func (e *InvalidHostError) Error() string {
	return fmt.Sprintf("certs: invalid host %q: %s", e.Host, e.Reason)
}

// InvalidDomainError reports a CAOptions.PermittedDomains entry that cannot
// be used as a DNS name constraint.
type InvalidDomainError struct {
	Domain string
	Reason string
}

func (e *InvalidDomainError) Error() string {
	return fmt.Sprintf("certs: invalid permitted domain %q: %s", e.Domain, e.Reason)
}

// NotPermittedError reports a host that lies outside the CA's name
// constraints. Clients would reject a certificate for this host, so the
// certificate is not issued.
type NotPermittedError struct {
	Host      string   // the normalized host
	Permitted []string // the CA's permitted DNS domains (a constrained CA also excludes every IP address)
}

func (e *NotPermittedError) Error() string {
	if len(e.Permitted) == 0 {
		return fmt.Sprintf("certs: the CA's name constraints do not permit %q", e.Host)
	}
	return fmt.Sprintf("certs: the CA's name constraints do not permit %q (permitted: %s)",
		e.Host, strings.Join(e.Permitted, ", "))
}

// CAExpiredError reports a CA certificate whose NotAfter has passed.
// CertFile and KeyFile are set when the CA came from LoadOrCreateCA.
type CAExpiredError struct {
	NotAfter time.Time
	CertFile string
	KeyFile  string
}

func (e *CAExpiredError) Error() string {
	when := e.NotAfter.UTC().Format(time.RFC3339)
	if e.CertFile == "" {
		return fmt.Sprintf("certs: the CA certificate expired on %s", when)
	}
	return fmt.Sprintf("certs: the CA certificate %s expired on %s; delete %s and %s to generate a new CA, then install the new certificate on your devices (and remove the old one)",
		e.CertFile, when, e.CertFile, e.KeyFile)
}

// InsecureKeyFileError reports a CA key file that group or others can
// access. A key like this may already have been copied, so it is not loaded.
type InsecureKeyFileError struct {
	Path string
	Mode fs.FileMode
}

func (e *InsecureKeyFileError) Error() string {
	return fmt.Sprintf("certs: CA key %s has mode %04o, so users other than its owner can access it; run `chmod 600 %s` (or, if it may have been copied, delete it and the certificate to generate a new CA)",
		e.Path, e.Mode.Perm(), e.Path)
}

// KeyMismatchError reports a CA certificate and key file that do not belong
// together.
type KeyMismatchError struct {
	CertFile string
	KeyFile  string
}

func (e *KeyMismatchError) Error() string {
	if e.CertFile == "" {
		return "certs: the CA key does not match the CA certificate"
	}
	return fmt.Sprintf("certs: the CA key %s does not match the certificate %s", e.KeyFile, e.CertFile)
}

// IncompleteCAError reports a CA directory that holds only one of the two
// CA files. The remaining file is left alone rather than overwritten.
type IncompleteCAError struct {
	Present string
	Missing string
}

func (e *IncompleteCAError) Error() string {
	return fmt.Sprintf("certs: found %s but not %s; restore the missing file, or delete %s to generate a new CA",
		e.Present, e.Missing, e.Present)
}

// ConstraintsMismatchError reports that a CA on disk cannot issue for some of
// the domains requested in CAOptions.PermittedDomains. This happens, for
// example, after a rule for a new service is added. Name constraints cannot
// be changed without a new CA, and the new CA must be reinstalled on every
// device.
type ConstraintsMismatchError struct {
	CertFile  string
	KeyFile   string
	Missing   []string // requested domains the existing CA does not permit
	Permitted []string // what the existing CA permits
}

func (e *ConstraintsMismatchError) Error() string {
	return fmt.Sprintf("certs: the CA %s does not permit %s (it permits: %s); delete %s and %s to generate a new CA for the current rules, then reinstall it on your devices",
		e.CertFile, strings.Join(e.Missing, ", "), strings.Join(e.Permitted, ", "), e.CertFile, e.KeyFile)
}

// FileError reports a CA file that could be read but not used: bad PEM, an
// unparsable certificate or key, a key that is not ECDSA P-256, or a
// certificate that is not a CA.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("certs: %s: %v", e.Path, e.Err) }

func (e *FileError) Unwrap() error { return e.Err }

// InvalidProfileNameError reports a MobileConfig profile name that cannot be
// put in the profile.
type InvalidProfileNameError struct {
	Name   string
	Reason string
}

func (e *InvalidProfileNameError) Error() string {
	return fmt.Sprintf("certs: invalid profile name %q: %s", e.Name, e.Reason)
}

// NoSuchGenerationError reports a CA generation number that the directory
// does not hold.
type NoSuchGenerationError struct{ Number int }

func (e *NoSuchGenerationError) Error() string {
	return fmt.Sprintf("certs: there is no CA generation %d", e.Number)
}

// LastGenerationError reports an attempt to retire the only live CA
// generation: the proxy could then intercept nothing.
type LastGenerationError struct{ Number int }

func (e *LastGenerationError) Error() string {
	return fmt.Sprintf("certs: CA generation %d is the only live one; create a new one (jpegveil ca rotate) and install it on every device before retiring it", e.Number)
}
