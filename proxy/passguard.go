package proxy

import (
	"bytes"
	"io"
	"jpegveil/proxy/services"
	"net/http"
	"sync"
)

// passGuard is the body of an upload that on_unsupported pass sends on
// unchanged because the proxy could not read it as the rule expects
// (trailers, a form that is not one, a form without the rule's field), and
// of requests on routes no rule covers. It stops with a refuseError before
// the first byte of a JPEG goes upstream where a JPEG starts in real
// clients' bodies: at the start of the body, or right after an empty line,
// where a part of a multipart form starts however its framing is read. It
// does not find a JPEG behind other bytes on the same line, nor one
// encoded as base64 (multipart parts with a Content-Transfer-Encoding are
// refused elsewhere). A JPEG the transform itself refuses (arithmetic
// coding, say) goes up unchanged under pass: that is what the policy asks.
type passGuard struct {
	r       io.Reader
	ctx     []byte // the last bytes released, for the empty line before a JPEG
	pending []byte // read, not released: they may start a JPEG
	out     []byte // released, not yet read
	started bool   // bytes were released
	eof     bool

	mu  sync.Mutex
	err error
}

var errPlainJPEG = &refuseError{"the upload holds a JPEG where jpegveil cannot encrypt it; it would be stored unencrypted"}

// guardBody puts req's body behind a passGuard and checks its first
// preRead bytes before anything goes upstream. On an error (errPlainJPEG
// for a photo, or the client's read error) req.Body is left as it was.
func guardBody(req *http.Request) (*passGuard, error) {
	body := req.Body
	g := &passGuard{r: body}
	head, err := readUpTo(g, preRead, req.ContentLength)
	if err != nil && err != io.EOF {
		return nil, err
	}
	req.Body = services.ReadCloser{Reader: io.MultiReader(bytes.NewReader(head), g), Closer: body}
	return g, nil
}

func (g *passGuard) Read(p []byte) (int, error) {
	for len(g.out) == 0 {
		if err := g.failed(); err != nil {
			return 0, err
		}
		if g.eof {
			return 0, io.EOF
		}
		g.fill()
	}
	n := copy(p, g.out)
	g.out = g.out[n:]
	return n, nil
}

// fill reads on and releases what cannot start a JPEG.
func (g *passGuard) fill() {
	buf := make([]byte, 32<<10)
	n, err := g.r.Read(buf)
	g.pending = append(g.pending, buf[:n]...)
	if err != nil && err != io.EOF {
		g.fail(err)
		return
	}
	g.eof = err == io.EOF
	check := append(append([]byte{}, g.ctx...), g.pending...)
	if (!g.started && bytes.HasPrefix(g.pending, jpegStart)) || jpegAfterEmptyLine(check) {
		g.fail(errPlainJPEG)
		return
	}
	keep := 2 // the start of a JPEG marker the next read may complete
	if g.eof {
		keep = 0
	}
	if !g.started && len(g.pending) < 3 && !g.eof {
		return // too short to tell whether the body starts as a JPEG
	}
	if len(g.pending) <= keep {
		return
	}
	release := g.pending[:len(g.pending)-keep]
	g.out = append(g.out[:0], release...)
	g.started = true
	g.ctx = append(g.ctx, release...)
	g.ctx = g.ctx[max(0, len(g.ctx)-3):]
	g.pending = append([]byte{}, g.pending[len(release):]...)
}

func (g *passGuard) fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		g.err = err
	}
}

// failed returns the error that stopped the body, if any.
func (g *passGuard) failed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
