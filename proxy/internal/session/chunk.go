package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"jpegveil/config"
	"jpegveil/proxy/internal/budget"
)

// ChunkID identifies the last committed chunk of an upload, to recognize
// an exact repeat.
type ChunkID struct {
	Set  bool
	Name string // the chunk's name, where the protocol names chunks
	Off  int64  // the chunk's offset, where the protocol gives offsets
	N    int
	Sum  [32]byte
}

// NewChunkID identifies chunk b, named name or at offset off.
func NewChunkID(name string, off int64, b []byte) ChunkID {
	return ChunkID{Set: true, Name: name, Off: off, N: len(b), Sum: sha256.Sum256(b)}
}

// Matches reports whether b, named name or at offset off, is the chunk c
// identifies.
func (c ChunkID) Matches(name string, off int64, b []byte) bool {
	return c.Set && c.Name == name && c.Off == off && c.N == len(b) && c.Sum == sha256.Sum256(b)
}

// ReadWholeChunk reads one chunk of a multi-request upload (what names the
// upload, for the message), which is held completely before it is
// encrypted: a client that breaks off mid-chunk must leave the session as
// it was. The chunk's memory, twice its size (as received, and encrypted
// on its way up), is taken from hold as it arrives. A chunk above limit
// gives the reason to refuse it; an error means the client broke off and
// nothing was committed, or (budget.IsExhausted) that there was no memory
// for it.
func ReadWholeChunk(req *http.Request, what string, limit int64, hold *budget.Hold) (b []byte, refuse, err error) {
	b, err = ReadChunk(req.Context(), req.Body, req.ContentLength, limit, hold)
	var tooLarge *TooLargeError
	if errors.As(err, &tooLarge) {
		return nil, fmt.Errorf("a chunk of a %s is held completely before it is encrypted, and this one is larger than limits.hash_buffer (%s): use smaller chunks or raise the limit", what, config.Size(limit)), nil
	}
	return b, nil, err
}

// TooLargeError is returned by ReadChunk for a body above the limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the request body is larger than limits.hash_buffer (%s)", config.Size(e.Limit))
}

// ReadChunk reads a request body completely, up to limit bytes, taking
// twice its memory from hold: for a declared length all at once before
// reading (so that chunks waiting for memory never each hold a part),
// otherwise as the buffer grows.
func ReadChunk(ctx context.Context, body io.Reader, contentLength, limit int64, hold *budget.Hold) ([]byte, error) {
	if contentLength > limit {
		return nil, &TooLargeError{limit}
	}
	if body == nil {
		return nil, nil
	}
	if contentLength > 0 {
		if err := hold.Resize(ctx, 2*(contentLength+1)); err != nil {
			return nil, err
		}
	}
	// Start small whatever Content-Length says, and grow as the bytes
	// arrive: a client must send its chunk before the proxy holds memory
	// for it.
	buf := make([]byte, 0, 32<<10)
	for {
		if len(buf) == cap(buf) {
			grow := min(len(buf), 4<<20)
			if contentLength >= 0 {
				// Room for the declared rest and one byte to see the end.
				grow = max(1, min(grow, int(contentLength)+1-len(buf)))
			}
			buf = slices.Grow(buf, grow)
			if err := hold.Resize(ctx, max(2*int64(cap(buf)), hold.Size())); err != nil {
				return nil, err
			}
		}
		m, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if int64(len(buf)) > limit {
			return nil, &TooLargeError{limit}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
