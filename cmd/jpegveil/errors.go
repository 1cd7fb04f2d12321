package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// reportedError means the problems were already printed (for example each
// failed file of a directory): exit status 1 without another line.
type reportedError struct{ n int }

func (e *reportedError) Error() string { return fmt.Sprintf("%d files failed", e.n) }

// fileError is an error about one file: "<name>: <reason>".
type fileError struct {
	name string
	err  error
}

func (e *fileError) Error() string { return e.name + ": " + message(e.err) }
func (e *fileError) Unwrap() error { return e.err }

// fileErr returns err about the file name (as shown to the user), or nil.
func fileErr(name string, err error) error {
	if err == nil {
		return nil
	}
	return &fileError{name: name, err: err}
}

// inName and outName are how an input or output path given on the command
// line is shown; "-" is the standard stream.
func inName(p string) string {
	if p == "-" {
		return "<stdin>"
	}
	return p
}

func outName(p string) string {
	if p == "-" {
		return "<stdout>"
	}
	return p
}

// message turns an error from the libraries into the reason shown to the
// user, without package prefixes and without repeating the file name.
func message(err error) string {
	var (
		fe  *fileError
		jfe *jpegbits.FormatError
		jue *jpegbits.UnsupportedError
		kfe *keystream.KeyFileError
		pe  *fs.PathError
		me  *veil.MetadataError
		ufe *veil.UnsupportedFormatError
		lre *ledger.RecoveryError
	)
	switch {
	case errors.As(err, &lre):
		return lre.Error() // what happened and how to recover, in one line
	case errors.As(err, &fe):
		return fe.Error()
	case errors.As(err, &ufe):
		return ufe.Error()
	case errors.Is(err, jpegbits.ErrNotJPEG):
		return "not a JPEG file"
	case errors.As(err, &jfe):
		return fmt.Sprintf("corrupt JPEG at byte %d: %s", jfe.Offset, jfe.Reason)
	case errors.As(err, &jue):
		return fmt.Sprintf("unsupported JPEG (%s) at byte %d", feature(jue.Feature), jue.Offset)
	case errors.As(err, &me):
		return fmt.Sprintf("metadata cannot be protected: %s at byte %d: %s", me.Item, me.Offset, me.Reason)
	case errors.Is(err, keystream.ErrWrongPassphrase):
		return "wrong passphrase (key ID differs)"
	case errors.As(err, &kfe):
		return "bad key file: " + keyFileReason(kfe)
	case errors.As(err, &pe):
		// The caller names the file; the path inside may be a temporary
		// file's.
		return pathOpPrefix(err, pe) + pe.Err.Error()
	}
	return strings.TrimPrefix(err.Error(), "keystream: ")
}

// pathOpPrefix keeps a "cannot write: " style prefix the caller wrapped
// around a *fs.PathError.
func pathOpPrefix(err error, pe *fs.PathError) string {
	s := err.Error()
	if i := strings.Index(s, pe.Error()); i > 0 {
		return s[:i]
	}
	return ""
}

// feature drops the marker name jpegbits appends to some features:
// "arithmetic coding (SOF9)" becomes "arithmetic coding".
func feature(f string) string {
	if i := strings.LastIndex(f, " ("); i > 0 && strings.HasSuffix(f, ")") {
		return f[:i]
	}
	return f
}

func keyFileReason(e *keystream.KeyFileError) string {
	var parts []string
	if e.Line > 0 {
		parts = append(parts, fmt.Sprintf("line %d", e.Line))
	}
	if e.Reason != "" {
		parts = append(parts, e.Reason)
	}
	if e.Err != nil {
		var pe *fs.PathError
		if errors.As(e.Err, &pe) {
			parts = append(parts, pe.Err.Error())
		} else {
			parts = append(parts, strings.TrimPrefix(e.Err.Error(), "keystream: "))
		}
	}
	return strings.Join(parts, ": ")
}
