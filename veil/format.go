package veil

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"jpegveil/jpegbits"
)

// An UnsupportedFormatError reports a file that is not a JPEG but is of a
// kind jpegveil recognises (a HEIC photo, a video, a PNG…), with what the
// user can do about it. It wraps the JPEG layer's error, which wraps
// jpegbits.ErrNotJPEG.
type UnsupportedFormatError struct {
	Format string // "HEIC/HEIF", "AVIF", "MP4/MOV video", "PNG", …
	Advice string // what to do, for the user
	Err    error
}

func (e *UnsupportedFormatError) Error() string {
	return fmt.Sprintf("%s files are not supported, only JPEG: %s", e.Format, e.Advice)
}

func (e *UnsupportedFormatError) Unwrap() error { return e.Err }

// sniffHead is how many first bytes SniffFormat needs.
const sniffHead = 16

// SniffFormat recognises the formats a phone or camera writes that are not
// JPEG from the first bytes of a file. It returns nil for a JPEG or an
// unknown format.
func SniffFormat(head []byte) *UnsupportedFormatError {
	f := func(format, advice string) *UnsupportedFormatError {
		return &UnsupportedFormatError{Format: format, Advice: advice}
	}
	switch {
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		switch string(head[8:12]) {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
			return f("HEIC/HEIF", "on an iPhone choose Settings → Camera → Formats → Most Compatible, on Android turn off HEIF in the camera's settings, or convert the photos to JPEG before uploading")
		case "avif", "avis":
			return f("AVIF", "set the camera to save JPEG, or convert the photos to JPEG before uploading")
		}
		return f("MP4/MOV video", "videos are not encrypted; upload them without the proxy or keep them out of the synced folder")
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return f("PNG", "convert screenshots and other PNG images to JPEG before uploading")
	case bytes.HasPrefix(head, []byte("GIF8")):
		return f("GIF", "convert the image to JPEG before uploading")
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return f("WebP", "convert the image to JPEG before uploading")
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return f("TIFF or raw (DNG)", "export the photos as JPEG before uploading")
	}
	return nil
}

// headRecorder keeps the first sniffHead bytes read through it.
type headRecorder struct {
	r    io.Reader
	head []byte
	// tee, when set, is given everything read until its verdict is
	// final: the classifier's passes of other masking modes.
	tee *Classifier
}

func (h *headRecorder) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if h.tee != nil && len(h.tee.passes) > 1 && !h.tee.Done() {
		h.tee.Write(p[:n])
	}
	if k := sniffHead - len(h.head); k > 0 {
		h.head = append(h.head, p[:min(k, n)]...)
	}
	return n, err
}

// formatError turns the JPEG layer's "not a JPEG" error into an
// *UnsupportedFormatError when the file is of a known other kind.
func (r *Reader) formatError(err error) error {
	var fe *UnsupportedFormatError
	if err == nil || !errors.Is(err, jpegbits.ErrNotJPEG) || errors.As(err, &fe) {
		return err
	}
	if u := SniffFormat(r.head.head); u != nil {
		u.Err = err
		return u
	}
	return err
}
