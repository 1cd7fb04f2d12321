package exif

import (
	"errors"
	"fmt"
)

// A FormatError reports malformed metadata. Offset is relative to the start
// of the payload being parsed (for [Scan], to the start of the file). Err is
// one of the sentinel errors below, so callers can classify it with
// errors.Is.
type FormatError struct {
	Offset int
	Reason string
	Err    error
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("exif: invalid data at byte %d: %s", e.Offset, e.Reason)
}

func (e *FormatError) Unwrap() error { return e.Err }

var (
	// ErrNotExif: the payload does not start with "Exif\0\0" and a TIFF
	// header ("II*\0" or "MM\0*").
	ErrNotExif = errors.New("not an Exif payload")
	// ErrNotMPF: the payload does not start with "MPF\0" and a TIFF header.
	ErrNotMPF = errors.New("not an MPF payload")
	// ErrNotXMP: the payload does not start with the XMP namespace.
	ErrNotXMP = errors.New("not an XMP payload")
	// ErrNotJPEG: the file does not start with an SOI marker.
	ErrNotJPEG = errors.New("not a JPEG file")
	// ErrOutOfBounds: an offset or length points outside the data.
	ErrOutOfBounds = errors.New("offset or length out of bounds")
	// ErrTooManyEntries: an IFD claims more entries than MaxEntries.
	ErrTooManyEntries = errors.New("too many IFD entries")
	// ErrLoop: an IFD offset was reached a second time.
	ErrLoop = errors.New("IFD loop")
	// ErrMarker: the marker structure of a JPEG file is broken (data
	// where a marker was expected, a segment running past the end).
	ErrMarker = errors.New("broken marker structure")
	// ErrBadValue: a field has a type or count that makes no sense for
	// its tag (for example a GPS IFD pointer that is not a LONG).
	ErrBadValue = errors.New("bad value")
)

// errorList keeps the first problem met while parsing; later ones are
// usually consequences of it.
type errorList struct {
	first error
}

func (l *errorList) add(off int, sentinel error, format string, args ...any) {
	if l.first == nil {
		l.first = &FormatError{Offset: off, Reason: fmt.Sprintf(format, args...), Err: sentinel}
	}
}
