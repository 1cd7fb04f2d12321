package proxy

import (
	"errors"
	"io"
	"sync"
)

// aheadSize and aheadDepth bound how far an aheadReader reads ahead of its
// consumer: aheadDepth buffers of aheadSize bytes per stream. Large
// buffers mean few, large TLS writes (16 KiB records) and syscalls, and
// few hand-overs between the two goroutines, each a wake-up of the other.
const (
	aheadSize  = 128 << 10
	aheadDepth = 3
)

var aheadBuffers = sync.Pool{New: func() any { b := make([]byte, aheadSize); return &b }}

// aheadReader reads its source on a goroutine of its own, up to aheadDepth
// buffers ahead of its consumer. Between the client and the service this
// runs the transform of an upload's next bytes (parse, keystream, and the
// client-side TLS reads under it) while the bytes before them are being
// encrypted and written to the service, and the other way round for a
// download: one stream uses two cores.
//
// The source is only read by that goroutine until Stop returns: whatever
// else the source's owner reads from it (a veil.Reader's Result) must wait
// for Stop.
type aheadReader struct {
	full chan aheadPiece
	free chan *[]byte
	stop chan struct{}
	done chan struct{}

	cur  aheadPiece
	off  int
	err  error
	once sync.Once
}

type aheadPiece struct {
	buf *[]byte
	n   int
	err error
}

func newAheadReader(src io.Reader) *aheadReader {
	a := &aheadReader{
		full: make(chan aheadPiece, aheadDepth),
		free: make(chan *[]byte, aheadDepth),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range aheadDepth {
		a.free <- aheadBuffers.Get().(*[]byte)
	}
	go a.run(src)
	return a
}

// run fills buffers from src until it ends, fails or Stop is called. A
// buffer is handed on once at least half full, or at the end.
func (a *aheadReader) run(src io.Reader) {
	defer close(a.done)
	for {
		var buf *[]byte
		select {
		case buf = <-a.free:
		case <-a.stop:
			return
		}
		b := *buf
		n, err := src.Read(b)
		for err == nil && n < len(b)/2 {
			var m int
			m, err = src.Read(b[n:])
			n += m
		}
		select {
		case a.full <- aheadPiece{buf: buf, n: n, err: err}:
		case <-a.stop:
			aheadBuffers.Put(buf)
			return
		}
		if err != nil {
			return
		}
	}
}

func (a *aheadReader) Read(p []byte) (int, error) {
	if a.err != nil {
		return 0, a.err
	}
	for a.cur.buf == nil || a.off == a.cur.n {
		if a.cur.buf != nil {
			if a.cur.err != nil {
				a.err = a.cur.err
				a.recycle()
				return 0, a.err
			}
			a.free <- a.cur.buf
			a.cur = aheadPiece{}
		}
		select {
		case a.cur = <-a.full:
		case <-a.done:
			// Stopped, or ended: a piece it sent before may be left.
			select {
			case a.cur = <-a.full:
			default:
				a.err = errAheadStopped
				return 0, a.err
			}
		}
		a.off = 0
	}
	n := copy(p, (*a.cur.buf)[a.off:a.cur.n])
	a.off += n
	return n, nil
}

var errAheadStopped = errors.New("proxy: read after the body was closed")

// recycle gives the buffers back to the pool once the goroutine has sent
// its last piece (and returned).
func (a *aheadReader) recycle() {
	aheadBuffers.Put(a.cur.buf)
	a.cur = aheadPiece{}
	for {
		select {
		case b := <-a.free:
			aheadBuffers.Put(b)
		default:
			return
		}
	}
}

// Stop ends the goroutine and waits for it: the source is no longer read
// once Stop returns. It may be called while Read is (a transport may close
// a request body while another goroutine still reads it): Read then fails.
// Buffers not handed back by a Read that ended the source are left to the
// garbage collector.
func (a *aheadReader) Stop() {
	a.once.Do(func() {
		close(a.stop)
		<-a.done
	})
}
