package keystream

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20"
)

// chainInput is everything one chain sees.
type chainInput struct {
	key       *Key
	label     string
	segments  [][]byte
	skeletons [][]byte
}

// run returns the keystream of every chunk.
func (in chainInput) run() [][]byte {
	c := in.key.NewChain(in.label)
	for _, s := range in.segments {
		c.AbsorbSegment(s)
	}
	var out [][]byte
	for _, sk := range in.skeletons {
		ks := make([]byte, len(sk))
		c.ChunkKeystream(sk, ks)
		out = append(out, ks)
	}
	return out
}

func mustKey(t testing.TB, master []byte, mode Mode) *Key {
	t.Helper()
	k, err := NewKeyFromBytes(master, mode)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func baseInput(t testing.TB) chainInput {
	return chainInput{
		key:       mustKey(t, vecMaster, ModeExtended),
		label:     "image",
		segments:  [][]byte{[]byte("segment one"), []byte("segment two")},
		skeletons: [][]byte{bytes.Repeat([]byte{0x10}, 4096), bytes.Repeat([]byte{0x20}, 4096), bytes.Repeat([]byte{0x30}, 100)},
	}
}

func TestChainDeterministic(t *testing.T) {
	a, b := baseInput(t).run(), baseInput(t).run()
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("chunk %d: same inputs gave different keystreams", i)
		}
	}
	// A key rebuilt from the same bytes is the same key.
	in := baseInput(t)
	in.key = mustKey(t, bytes.Clone(vecMaster), ModeExtended)
	if !bytes.Equal(in.run()[2], a[2]) {
		t.Fatal("equal keys gave different keystreams")
	}
}

// TestChainSeparation changes one input at a time; every chunk from the
// first one that depends on the change must get a different keystream, and
// chunks before it must not change (the chain streams).
func TestChainSeparation(t *testing.T) {
	base := baseInput(t).run()
	flipped := bytes.Clone(vecMaster)
	flipped[31] ^= 0x01

	tests := []struct {
		name   string
		change func(*chainInput)
		first  int // first chunk whose keystream must change
	}{
		{"label", func(in *chainInput) { in.label = "exif thumbnail" }, 0},
		{"empty label", func(in *chainInput) { in.label = "" }, 0},
		{"mode", func(in *chainInput) { in.key = mustKey(t, vecMaster, ModeStrict) }, 0},
		{"key bit", func(in *chainInput) { in.key = mustKey(t, flipped, ModeExtended) }, 0},
		{"segment byte", func(in *chainInput) { in.segments[1] = []byte("segment twp") }, 0},
		{"segment dropped", func(in *chainInput) { in.segments = in.segments[:1] }, 0},
		{"segment added", func(in *chainInput) { in.segments = append(in.segments, nil) }, 0},
		{"segments re-split", func(in *chainInput) {
			in.segments = [][]byte{[]byte("segment on"), []byte("esegment two")}
		}, 0},
		{"segment as label", func(in *chainInput) {
			in.label, in.segments = "imagesegment one", in.segments[1:]
		}, 0},
		{"skeleton bit 0", func(in *chainInput) { in.skeletons[0][0] ^= 0x80 }, 0},
		{"skeleton last bit", func(in *chainInput) { in.skeletons[0][4095] ^= 0x01 }, 0},
		{"second skeleton bit", func(in *chainInput) { in.skeletons[1][1234] ^= 0x08 }, 1},
		{"third skeleton bit", func(in *chainInput) { in.skeletons[2][99] ^= 0x02 }, 2},
		{"chunks re-split", func(in *chainInput) {
			in.skeletons[1] = append(in.skeletons[1], in.skeletons[2][0])
			in.skeletons[2] = in.skeletons[2][1:]
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := baseInput(t)
			tc.change(&in)
			got := in.run()
			for i := range got {
				same := bytes.Equal(got[i][:64], base[i][:64])
				if i < tc.first && !same {
					t.Errorf("chunk %d changed, but the change comes after it", i)
				}
				if i >= tc.first && same {
					t.Errorf("chunk %d: keystream unchanged", i)
				}
			}
		})
	}
}

// TestChainMatchesSpec recomputes the chain the way FORMAT.md (part II) states
// it, with one BLAKE2b over the whole framed record string per chunk and a
// fresh XChaCha20 each time, for chunk sizes around the edges.
func TestChainMatchesSpec(t *testing.T) {
	for _, mode := range []Mode{ModeExtended, ModeStrict} {
		k := mustKey(t, vecMaster, mode)
		c := k.NewChain("mpf image 2")
		framed := record(nil, 0x00, []byte("mpf image 2"))
		seg := []byte{0xff, 0xc4, 0x00, 0x03, 0x00}
		c.AbsorbSegment(seg)
		framed = record(framed, 0x01, seg)
		for i, n := range []int{0, 1, 63, 64, 65, 4095, 4096, 65536} {
			sk := make([]byte, n)
			for j := range sk {
				sk[j] = byte(j*7+i) & 0xf3
			}
			got := make([]byte, n)
			c.ChunkKeystream(sk, got)

			framed = record(framed, 0x02, sk)
			h, _ := blake2b.New256(k.secret.sub.nonce[:])
			h.Write(framed)
			nonce := h.Sum(nil)[:24]
			want := make([]byte, n)
			x, err := chacha20.NewUnauthenticatedCipher(k.secret.sub.keystream[:], nonce)
			if err != nil {
				t.Fatal(err)
			}
			x.XORKeyStream(want, want)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s chunk %d (%d bytes): keystream differs from the spec", mode, i, n)
			}
		}
	}
}

func record(dst []byte, tag byte, b []byte) []byte {
	dst = append(dst, tag)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// TestChunkKeystreamDst checks that dst's previous contents do not matter
// and that dst may be the skeleton itself.
func TestChunkKeystreamDst(t *testing.T) {
	want := baseInput(t).run()

	in := baseInput(t)
	c := in.key.NewChain(in.label)
	for _, s := range in.segments {
		c.AbsorbSegment(s)
	}
	for i, sk := range in.skeletons {
		var got []byte
		if i%2 == 0 {
			got = bytes.Clone(sk) // in place: dst is the skeleton
			c.ChunkKeystream(got, got)
		} else {
			got = bytes.Repeat([]byte{0xa5}, len(sk)) // garbage in dst
			c.ChunkKeystream(sk, got)
		}
		if !bytes.Equal(got, want[i]) {
			t.Errorf("chunk %d: keystream depends on dst's contents or aliasing", i)
		}
	}
}

func TestChunkKeystreamMisuse(t *testing.T) {
	k := mustKey(t, vecMaster, ModeExtended)
	tests := []struct {
		name string
		f    func()
	}{
		{"short dst", func() { k.NewChain("image").ChunkKeystream(make([]byte, 10), make([]byte, 9)) }},
		{"long dst", func() { k.NewChain("image").ChunkKeystream(make([]byte, 10), make([]byte, 11)) }},
		{"huge chunk", func() { k.NewChain("image").ChunkKeystream(make([]byte, 65537), make([]byte, 65537)) }},
		{"zero key", func() { new(Key).NewChain("image") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			tc.f()
		})
	}
}

func TestChunkKeystreamAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under coverage or the race detector")
	}
	c := mustKey(t, vecMaster, ModeExtended).NewChain("image")
	sk, dst := make([]byte, ChunkSize), make([]byte, ChunkSize)
	allocs := testing.AllocsPerRun(100, func() { c.ChunkKeystream(sk, dst) })
	if allocs > maxChunkAllocs {
		t.Errorf("ChunkKeystream allocates %v times per call, want at most %d", allocs, maxChunkAllocs)
	}
}
