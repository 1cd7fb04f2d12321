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

var errNoField = errors.New("the multipart form has no part with the photo")

// uploadMultipart encrypts the part of a multipart/form-data body that the
// rule names, in place: the framing, every other part and the length stay
// as they came. The parts before the photo are read first (bounded), so a
// form without the field is refused (or, with on_unsupported pass,
// forwarded unchanged) before anything goes upstream.
func (ex *exchange) uploadMultipart() (*http.Response, error) {
	req := ex.req
	mt, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" || req.Body == nil || req.Body == http.NoBody {
		return ex.Unsupported(errors.New("the body is not a multipart/form-data form"))
	}
	body := req.Body
	br := bufio.NewReaderSize(body, 64<<10)
	head, err := findPart(br, params["boundary"], ex.rule.Field)
	if err != nil {
		if errors.Is(err, errNoField) {
			req.Body = services.ReadCloser{Reader: io.MultiReader(bytes.NewReader(head), br), Closer: body}
			return ex.Unsupported(err)
		}
		ex.Record(services.ClientError, err)
		return nil, err
	}
	photo := &partReader{br: br, delim: []byte("\r\n--" + params["boundary"])}
	var rest io.Reader = br
	if ex.rule.OnUnsupported != config.UnsupportedPass {
		rest = &restGuard{br: br, boundary: params["boundary"], field: ex.rule.Field}
	}
	return ex.sendEncrypted(uploadParts{prefix: head, photo: photo, suffix: rest, body: body})
}

// maxPartsAfter bounds the multipart bytes read after the photo's part
// before they are forwarded: the fields that follow it are small.
const maxPartsAfter = 1 << 20

// restGuard is the rest of a multipart form after the photo's part. Only
// that one part is encrypted, so with on_unsupported block the rest is read
// first (bounded) and refused if it carries another file: a second part of
// the same field, a part with a filename, or an image part (an XMP sidecar
// with the location, a second photo) would otherwise go up as it is.
type restGuard struct {
	br       *bufio.Reader
	boundary string
	field    string
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
			if why := extraFile(rest, g.boundary, g.field); why != "" {
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

// extraFile returns why the multipart bytes after the photo's part must not
// go up unencrypted, or "".
func extraFile(rest []byte, boundary, field string) string {
	parts := strings.Split(string(rest), "\r\n--"+boundary)
	for _, part := range parts[1:] {
		if strings.HasPrefix(part, "--") {
			break // the closing delimiter
		}
		hdr, _, _ := strings.Cut(strings.TrimPrefix(part, "\r\n"), "\r\n\r\n")
		h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(hdr + "\r\n\r\n"))).ReadMIMEHeader()
		if err != nil {
			return "the multipart form after the photo is malformed"
		}
		_, params, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
		ct := strings.ToLower(h.Get("Content-Type"))
		switch {
		case params["name"] == field:
			return fmt.Sprintf("the form carries a second %q part; only the first is encrypted", field)
		case params["filename"] != "" || strings.HasPrefix(ct, "image/"):
			return fmt.Sprintf("the form carries another file (%q) that jpegveil cannot encrypt", params["name"])
		}
	}
	return ""
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
			return "", fmt.Errorf("%w: more than %d bytes before it", errNoField, maxPartsBefore)
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
	peek, err := p.br.Peek(max(p.br.Buffered(), len(p.delim)))
	if i := bytes.Index(peek, p.delim); i >= 0 {
		if i == 0 {
			p.done = true
			return 0, io.EOF
		}
		return p.br.Read(b[:min(len(b), i)])
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
