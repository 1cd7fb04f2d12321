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
	r io.Reader
	// buf holds, from its start, ctx bytes already released (for the
	// empty line before a JPEG), then pending bytes read but not released
	// (they may start a JPEG); reads append to them. One buffer for the
	// whole body: fill allocates nothing.
	buf          []byte
	from         int // where ctx starts in buf
	ctx, pending int
	out          []byte // released, not yet read: a part of buf
	started      bool   // bytes were released
	eof          bool

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

// guardRead is how much a passGuard reads from its body at a time.
const guardRead = 32 << 10

// fill reads on and releases what cannot start a JPEG.
func (g *passGuard) fill() {
	if g.buf == nil {
		g.buf = make([]byte, guardRead+8) // room for ctx and pending before a read
	}
	// out, a part of buf, has been read: what is kept moves to the start.
	kept := g.ctx + g.pending
	copy(g.buf, g.buf[g.from:g.from+kept])
	g.from = 0
	n, err := g.r.Read(g.buf[kept : kept+guardRead])
	g.pending += n
	if err != nil && err != io.EOF {
		g.fail(err)
		return
	}
	g.eof = err == io.EOF
	check := g.buf[:g.ctx+g.pending] // the bytes released last, then pending
	pending := check[g.ctx:]
	if (!g.started && bytes.HasPrefix(pending, jpegStart)) || jpegAfterEmptyLine(check) {
		g.fail(errPlainJPEG)
		return
	}
	keep := 2 // the start of a JPEG marker the next read may complete
	if g.eof {
		keep = 0
	}
	if !g.started && len(pending) < 3 && !g.eof {
		return // too short to tell whether the body starts as a JPEG
	}
	if len(pending) <= keep {
		return
	}
	end := len(check) - keep // released: check[g.ctx:end]
	g.out = check[g.ctx:end]
	g.started = true
	// Kept for the next read: the last three bytes released and the
	// bytes held back.
	g.from = max(0, end-3)
	g.ctx, g.pending = end-g.from, keep
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
