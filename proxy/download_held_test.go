package proxy

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"jpegveil/keystream"
	"jpegveil/veil"
)

// TestReadHeldKeepsEveryByte: holding the last byte back changes nothing
// of what a body yields, whatever the sizes of the reads (one byte
// included, as a reader of a known length asks for the last one).
func TestReadHeldKeepsEveryByte(t *testing.T) {
	key, err := keystream.GenerateKey(keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 2, 3, 100, 32 << 10, 100003} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rnd.IntN(256))
		}
		for trial := 0; trial < 20; trial++ {
			vr := veil.NewReader(key, bytes.NewReader(nil), veil.Options{})
			b := &downloadBody{r: bytes.NewReader(data), vr: vr, kc: &keptCheck{}, ex: &exchange{}}
			var got []byte
			for guard := 0; ; guard++ {
				if guard > 4*size+100 {
					t.Fatalf("size %d: the body does not end", size)
				}
				p := make([]byte, 1+rnd.IntN(7))
				if rnd.IntN(3) == 0 {
					p = p[:1]
				}
				n, err := b.readHeld(p)
				got = append(got, p[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("size %d: %v", size, err)
				}
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("size %d: read %d bytes, not the body", size, len(got))
			}
		}
	}
}
