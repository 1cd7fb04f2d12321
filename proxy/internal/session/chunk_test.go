package session

import (
	"context"
	"io"
	"runtime"
	"testing"
)

// slowBody declares a large body and sends a few bytes.
type slowBody struct{ sent bool }

func (b *slowBody) Read(p []byte) (int, error) {
	if b.sent {
		return 0, io.EOF
	}
	b.sent = true
	return copy(p, "abc"), nil
}

// TestReadChunkGrowsAsDataArrives: memory for a chunk follows the bytes
// received, not the Content-Length a client declares.
func TestReadChunkGrowsAsDataArrives(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b, err := ReadChunk(context.Background(), &slowBody{}, 60<<20, 64<<20, nil)
	runtime.ReadMemStats(&after)
	if err != nil || string(b) != "abc" {
		t.Fatalf("ReadChunk: %q, %v", b, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("reading a 3-byte body declared as 60 MiB allocated %d bytes", grew)
	}
}
