package jpegbits

import (
	"errors"
	"fmt"
)

// A FormatError reports that the input is not a valid JPEG at Offset, the
// byte where the parser stood (FORMAT.md, "Errors"). Nothing at or after
// Offset in the image is changed by the transform.
type FormatError struct {
	Offset int64
	Reason string
	Err    error // optional sentinel such as ErrNotJPEG
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("jpegbits: invalid JPEG at byte %d: %s", e.Offset, e.Reason)
}

func (e *FormatError) Unwrap() error { return e.Err }

// An UnsupportedError reports a valid JPEG feature that the transform does
// not handle (arithmetic coding, lossless, 12-bit samples, …), at Offset.
// Nothing at or after Offset in the image is changed.
type UnsupportedError struct {
	Offset  int64
	Feature string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("jpegbits: unsupported JPEG feature at byte %d: %s", e.Offset, e.Feature)
}

// ErrNotJPEG is wrapped by the FormatError returned for input that does not
// start with an SOI marker.
var ErrNotJPEG = errors.New("not a JPEG file")

// ErrorOffset returns the byte offset carried by a FormatError or
// UnsupportedError in err's chain, and whether there was one.
func ErrorOffset(err error) (int64, bool) {
	var fe *FormatError
	if errors.As(err, &fe) {
		return fe.Offset, true
	}
	var ue *UnsupportedError
	if errors.As(err, &ue) {
		return ue.Offset, true
	}
	return 0, false
}

// scanError is a parse error inside entropy-coded data, located by the data
// byte (index into the unstuffed scan data) that holds the first bit of the
// element being parsed. The transformer turns it into a FormatError at the
// matching file offset.
type scanError struct {
	dataIndex int64
	reason    string
}

func (e *scanError) Error() string { return e.reason }
