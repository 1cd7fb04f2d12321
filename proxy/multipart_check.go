package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"mime"
	"net/textproto"
	"strings"
)

// The parts of a multipart form other than the photo's go up as they are,
// so they are checked for another photo: the photo's field is only where
// the rule expects it, and a client (or an attacker) may put a JPEG in any
// part, before or after it. A part whose content starts as a JPEG does is
// refused under either policy; under on_unsupported block, so is any other
// file part. The check also reads the bytes as a server with another idea
// of the form's framing might: any JPEG right after an empty line counts.

// formPart is a part of a multipart form that is not the photo's.
type formPart struct {
	name, filename, ctype, encoding string
	malformed                       bool
}

// formParts returns the parts of b, bytes of a form that start at a
// delimiter ("\r\n--boundary"), up to the closing delimiter.
func formParts(b []byte, boundary string) []formPart {
	var parts []formPart
	segs := bytes.Split(b, []byte("\r\n--"+boundary))
	for _, seg := range segs[1:] {
		if bytes.HasPrefix(seg, []byte("--")) {
			break // the closing delimiter
		}
		seg = bytes.TrimLeft(seg, " \t") // transport padding (RFC 2046 §5.1.1)
		hdr, _, _ := bytes.Cut(bytes.TrimPrefix(seg, []byte("\r\n")), []byte("\r\n\r\n"))
		h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(hdr, "\r\n\r\n"...)))).ReadMIMEHeader()
		if err != nil {
			parts = append(parts, formPart{malformed: true})
			continue
		}
		parts = append(parts, partOf(h))
	}
	return parts
}

func partOf(h textproto.MIMEHeader) formPart {
	_, params, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	return formPart{
		name:     params["name"],
		filename: params["filename"],
		ctype:    strings.ToLower(h.Get("Content-Type")),
		encoding: strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))),
	}
}

// encoded reports whether a part's content is transfer-encoded: a server
// decodes it (Go's mime/multipart does quoted-printable), so what the proxy
// sees is not the file the server stores.
func (p formPart) encoded() bool {
	switch p.encoding {
	case "", "7bit", "8bit", "binary":
		return false
	}
	return true
}

// jpegAfterEmptyLine reports whether b holds the start of a JPEG (SOI and
// the next marker's 0xFF) right after an empty line, where a part's content
// starts however the form's framing is read.
func jpegAfterEmptyLine(b []byte) bool {
	for i := 0; ; {
		j := bytes.Index(b[i:], jpegStart)
		if j < 0 {
			return false
		}
		at := i + j
		if bytes.HasSuffix(b[:at], []byte("\n\n")) || bytes.HasSuffix(b[:at], []byte("\n\r\n")) {
			return true
		}
		i = at + 1
	}
}

// checkOtherParts returns why b, form bytes outside the photo's part, must
// not go up as they are, or "". skipLast leaves out the last part, the
// photo's own header block at the end of the bytes before it.
func checkOtherParts(b []byte, boundary, field string, block, skipLast bool) string {
	return checkParts(b, formParts(b, boundary), field, block, skipLast)
}

// checkParts is checkOtherParts on parts, the form parts of b, already
// found.
func checkParts(b []byte, parts []formPart, field string, block, skipLast bool) string {
	if jpegAfterEmptyLine(b) {
		return "the form carries a JPEG outside the part the rule encrypts; it would be stored unencrypted"
	}
	if skipLast && len(parts) > 0 {
		parts = parts[:len(parts)-1]
	}
	for _, p := range parts {
		switch {
		case p.encoded():
			return fmt.Sprintf("the form's part %q is transfer-encoded (%s), which jpegveil cannot check for a photo", p.name, p.encoding)
		case !block:
		case p.malformed:
			return "the multipart form outside the photo is malformed"
		case p.name == field:
			return fmt.Sprintf("the form carries a second %q part; only the first is encrypted", field)
		case p.filename != "" || strings.HasPrefix(p.ctype, "image/") || strings.HasPrefix(p.ctype, "multipart/"):
			return fmt.Sprintf("the form carries another file (%q) that jpegveil cannot encrypt", p.name)
		}
	}
	return ""
}
