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
func (s *Server) uploadMultipart(req *http.Request, ev *event) (*http.Response, error) {
	ev.dir = "upload"
	mt, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" || req.Body == nil || req.Body == http.NoBody {
		defer ev.log()
		return s.unsupported(req, ev, errors.New("the body is not a multipart/form-data form"))
	}
	body := req.Body
	br := bufio.NewReaderSize(body, 64<<10)
	head, err := findPart(br, params["boundary"], ev.rule.Field)
	if err != nil {
		defer ev.log()
		if errors.Is(err, errNoField) {
			req.Body = readCloser{io.MultiReader(bytes.NewReader(head), br), body}
			return s.unsupported(req, ev, err)
		}
		ev.outcome, ev.err = "client-error", err
		return nil, err
	}
	photo := &partReader{br: br, delim: []byte("\r\n--" + params["boundary"])}
	return s.sendEncrypted(req, head, photo, br, body, ev)
}

type readCloser struct {
	io.Reader
	io.Closer
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
