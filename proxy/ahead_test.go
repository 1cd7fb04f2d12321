package proxy

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"time"
)

// TestAheadReaderCopies checks that an aheadReader yields its source's
// bytes, then its error, however the source and the consumer cut them.
func TestAheadReaderCopies(t *testing.T) {
	src := make([]byte, 1<<20+12345)
	for i := range src {
		src[i] = byte(rand.IntN(256))
	}
	broken := errors.New("connection dropped")
	for name, r := range map[string]io.Reader{
		"whole":   bytes.NewReader(src),
		"half":    iotest.HalfReader(bytes.NewReader(src)),
		"dataerr": iotest.DataErrReader(bytes.NewReader(src)),
		"broken":  io.MultiReader(bytes.NewReader(src), iotest.ErrReader(broken)),
	} {
		a := newAheadReader(r)
		got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(a, 1000)))
		if err != nil || !bytes.Equal(got, src[:1000]) {
			t.Fatalf("%s: first bytes differ (%v)", name, err)
		}
		rest, err := io.ReadAll(a)
		if name == "broken" {
			if !errors.Is(err, broken) {
				t.Errorf("%s: error %v, want the source's", name, err)
			}
		} else if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !bytes.Equal(append(got, rest...), src) {
			t.Errorf("%s: bytes differ", name)
		}
		a.Stop()
	}
}

// blockingReader gives one buffer's worth, then blocks until released.
type blockingReader struct {
	first   bool
	release chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if !b.first {
		b.first = true
		return len(p), nil
	}
	<-b.release
	return 0, io.EOF
}

// TestAheadReaderStop checks that Stop waits for a read of the source in
// progress, and that a Read at the same time fails instead of hanging.
func TestAheadReaderStop(t *testing.T) {
	src := &blockingReader{release: make(chan struct{})}
	a := newAheadReader(src)
	if _, err := io.ReadFull(a, make([]byte, aheadSize)); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { a.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while the source was being read")
	case <-time.After(50 * time.Millisecond):
	}
	read := make(chan error)
	go func() { _, err := a.Read(make([]byte, 10)); read <- err }()
	close(src.release)
	<-stopped
	select {
	case <-read:
	case <-time.After(5 * time.Second):
		t.Fatal("Read hangs after Stop")
	}
}
