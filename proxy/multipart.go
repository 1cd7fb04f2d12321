package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"strings"

	"jpegveil/config"
	"jpegveil/proxy/services"
)

// maxPartsBefore bounds the multipart bytes buffered before the photo's
// part is found: the form fields that precede it are small.
const maxPartsBefore = 1 << 20

var (
	errNoField     = errors.New("the multipart form has no part with the photo")
	errFormTooLong = fmt.Errorf("%w: more than %d bytes before it", errNoField, maxPartsBefore)
)

// uploadMultipart encrypts the part of a multipart/form-data body that the
// rule names, in place: the framing, every other part and the length stay
// as they came. The parts before the photo are read first (bounded), so a
// form without the field is refused (or, with on_unsupported pass,
// forwarded unchanged) before anything goes upstream.
func (ex *exchange) uploadMultipart() (*http.Response, error) {
	req := ex.req
	mt, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" || req.Body == nil || req.Body == http.NoBody {
		return ex.unsupportedForm(errors.New("the body is not a multipart/form-data form"))
	}
	body := req.Body
	br := bufio.NewReaderSize(body, 64<<10)
	boundary, block := params["boundary"], ex.rule.OnUnsupported != config.UnsupportedPass
	head, err := findPart(br, boundary, ex.rule.Field)
	if err != nil && !errors.Is(err, errNoField) {
		ex.Record(services.ClientError, err)
		return nil, err
	}
	// What goes up unencrypted is checked for another photo first.
	framed := append([]byte("\r\n"), head...)
	parts := formParts(framed, boundary)
	why := checkParts(framed, parts, ex.rule.Field, block, err == nil)
	if err == nil {
		if len(parts) > 0 && parts[len(parts)-1].encoded() {
			why = fmt.Sprintf("the photo's part is transfer-encoded (%s), which jpegveil cannot encrypt", parts[len(parts)-1].encoding)
		}
	}
	if why == "" && errors.Is(err, errFormTooLong) {
		why = fmt.Sprintf("no %q part in the first %d bytes of the form, and the rest cannot be checked for a photo", ex.rule.Field, maxPartsBefore)
	}
	if why != "" {
		req.Body = services.ReadCloser{Reader: br, Closer: body}
		return ex.Refuse(&refuseError{why})
	}
	if err != nil {
		req.Body = services.ReadCloser{Reader: io.MultiReader(bytes.NewReader(head), br), Closer: body}
		return ex.unsupportedForm(err)
	}
	photo := &partReader{br: br, delim: []byte("\r\n--" + boundary)}
	rest := &restGuard{br: br, boundary: boundary, field: ex.rule.Field, block: block}
	return ex.sendEncrypted(uploadParts{prefix: head, photo: photo, suffix: rest, body: body})
}

// maxPartsAfter bounds the multipart bytes read after the photo's part
// before they are forwarded: the fields that follow it are small.
const maxPartsAfter = 1 << 20

// restGuard is the rest of a multipart form after the photo's part. Only
// that one part is encrypted, so the rest is read first (bounded) and
// refused if it carries another photo, or with on_unsupported block another
// file: a second part of the same field, a part with a filename, or an
// image part (an XMP sidecar with the location, a second photo) would
// otherwise go up as it is (checkOtherParts).
type restGuard struct {
	br       *bufio.Reader
	boundary string
	field    string
	block    bool // on_unsupported block
	buf      *bytes.Reader
	err      error
}

func (g *restGuard) Read(p []byte) (int, error) {
	if g.buf == nil && g.err == nil {
		rest, err := io.ReadAll(io.LimitReader(g.br, maxPartsAfter+1))
		switch {
		case err != nil:
			return 0, err
		case len(rest) > maxPartsAfter:
			g.err = &refuseError{fmt.Sprintf("more than %d bytes of the form follow the photo; another file in it could not be encrypted", maxPartsAfter)}
		default:
			if why := checkOtherParts(rest, g.boundary, g.field, g.block, false); why != "" {
				g.err = &refuseError{why}
			}
		}
		g.buf = bytes.NewReader(rest)
	}
	if g.err != nil {
		return 0, g.err
	}
	return g.buf.Read(p)
}

// findPart reads the body up to and including the header block of the part
// whose Content-Disposition names field, and returns those bytes as read.
func findPart(br *bufio.Reader, boundary, field string) ([]byte, error) {
	var head []byte
	dash := "--" + boundary
	readLine := func() (string, error) {
		line, err := br.ReadSlice('\n')
		for err == bufio.ErrBufferFull && len(head) <= maxPartsBefore {
			head = append(head, line...)
			line, err = br.ReadSlice('\n')
		}
		head = append(head, line...)
		if len(head) > maxPartsBefore {
			return "", errFormTooLong
		}
		if err == io.EOF {
			return "", errNoField
		}
		return strings.TrimRight(string(line), "\r\n"), err
	}
	for {
		line, err := readLine()
		if err != nil {
			return head, err
		}
		// A delimiter line may end in spaces and tabs (RFC 2046 §5.1.1).
		line = strings.TrimRight(line, " \t")
		if line == dash+"--" {
			return head, errNoField
		}
		if line != dash {
			continue
		}
		// The part's header block, up to the empty line.
		var block []string
		for {
			h, err := readLine()
			if err != nil {
				return head, err
			}
			if h == "" {
				break
			}
			block = append(block, h)
		}
		if partName(block) == field {
			return head, nil
		}
	}
}

// partName returns the form field name of a part's header lines.
func partName(lines []string) string {
	r := textproto.NewReader(bufio.NewReader(strings.NewReader(strings.Join(lines, "\r\n") + "\r\n\r\n")))
	h, err := r.ReadMIMEHeader()
	if err != nil {
		return ""
	}
	_, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["name"]
}

// partReader reads one part's content: everything before the delimiter
// "\r\n--boundary", which it leaves unread for the bytes after the photo.
type partReader struct {
	br    *bufio.Reader
	delim []byte
	done  bool
}

func (p *partReader) Read(b []byte) (int, error) {
	if p.done {
		return 0, io.EOF
	}
	want := len(p.delim) + 2
	for {
		p.br.Peek(want) // fill the buffer, then look at all of it
		peek, err := p.br.Peek(max(p.br.Buffered(), want))
		i := bytes.Index(peek, p.delim)
		if i > 0 {
			return p.br.Read(b[:min(len(b), i)])
		}
		if i == 0 {
			switch delimiterEnds(peek[len(p.delim):], err != nil) {
			case 1:
				p.done = true
				return 0, io.EOF
			case 0: // "\r\n--boundaryX": content that only looks like it
				return p.br.Read(b[:1])
			}
			if want >= p.br.Size() {
				return p.br.Read(b[:1]) // padding beyond reason
			}
			want = min(want*2, p.br.Size()) // read on to see how it ends
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the form ended inside the photo
			}
			return 0, err
		}
		// All but a possible start of the delimiter at the end is content.
		safe := len(peek) - len(p.delim) + 1
		return p.br.Read(b[:min(len(b), safe)])
	}
}

// delimiterEnds tells whether after, the bytes after "\r\n--boundary",
// make it a delimiter (1: "--", or transport padding and a line end), not
// one (0), or cannot tell yet (-1; atEnd: no more bytes will come).
func delimiterEnds(after []byte, atEnd bool) int {
	if bytes.HasPrefix(after, []byte("--")) {
		return 1
	}
	rest := bytes.TrimLeft(after, " \t")
	switch {
	case bytes.HasPrefix(rest, []byte("\r\n")) || bytes.HasPrefix(rest, []byte("\n")):
		return 1
	case len(rest) == 0 && !atEnd, len(rest) == 1 && rest[0] == '\r' && !atEnd,
		len(after) == 1 && after[0] == '-' && !atEnd:
		return -1
	case atEnd && len(rest) == 0:
		return 1 // the form ends here
	}
	return 0
}
