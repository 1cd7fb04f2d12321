package jpegbits

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

// TestRecordedDCMatchesPixels checks the DC values against the decoded
// image: at quality 100 every quantiser is 1, so a grayscale block's DC
// coefficient is 8 × (its mean sample − 128), to rounding.
func TestRecordedDCMatchesPixels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 20 {
		w, h := 8+r.IntN(120), 8+r.IntN(120)
		img := image.NewGray(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				img.SetGray(x, y, color.Gray{uint8(x*3 + y*2 + r.IntN(40))})
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
			t.Fatal(err)
		}
		dec, err := jpeg.Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		s := recordDC(t, buf.Bytes(), 1<<20)
		c := s.Components[0]
		if want := ((w + 7) / 8) * ((h + 7) / 8); len(s.Blocks) != want || c.Width*c.Height != want {
			t.Fatalf("image %d (%dx%d): %d blocks on a %dx%d grid, want %d", n, w, h, len(s.Blocks), c.Width, c.Height, want)
		}
		var pred int32
		for i := range s.Blocks {
			b := &s.Blocks[i]
			d, ok := s.Diff(b, s.Len(), nil)
			if !ok {
				t.Fatalf("block %d: no value", i)
			}
			pred += d
			if b.X >= int32(w/8) || b.Y >= int32(h/8) {
				continue // edge blocks are padded by replication: their mean is not the image's
			}
			var sum int
			for y := range 8 {
				for x := range 8 {
					sum += int(dec.(*image.Gray).GrayAt(int(b.X)*8+x, int(b.Y)*8+y).Y)
				}
			}
			if want := sum - 64*128; abs(int(pred)-want/8) > 2 {
				t.Fatalf("image %d block (%d,%d): DC %d, pixels give %d", n, b.X, b.Y, pred, want/8)
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// dcRecording is the Keystream of a Transformer that records DC elements:
// it gathers the headers up to the first SOS, the first scan's data, and
// the data-space form of its own keystream (testKeystream).
type dcRecording struct {
	testKeystream
	t    *Transformer
	segs [][]byte
	sos  bool
	scan *DCScan
	// blocks are the recorded elements placed on the grid.
	blocks []DCBlock
	xor    []byte
	err    error
	after  bool
}

func (k *dcRecording) Segment(seg []byte) {
	k.testKeystream.Segment(seg)
	if m := seg[1]; m >= 0xE0 && m <= 0xEF || m == 0xFE {
		return
	}
	if k.sos {
		k.after = true
		return
	}
	k.segs = append(k.segs, bytes.Clone(seg))
	if seg[1] == 0xDA {
		k.sos = true
		k.scan, k.err = k.t.DCScan()
	}
}

func (k *dcRecording) Chunk(c Chunk, dst []byte) {
	k.testKeystream.Chunk(c, dst)
	if k.scan == nil || k.after {
		return
	}
	k.scan.Add(c)
	k.xor = AppendXOR(k.xor, c, dst)
}

// placedScan is a recorded first scan with every recorded element placed
// on its block grid, in coding order.
type placedScan struct {
	*DCScan
	Blocks []DCBlock
}

// Len returns the number of data bytes gathered.
func (s *placedScan) Len() int64 { return int64(len(s.Data())) }

// Diff returns the DC difference of block b (T.81 F.2.2.1, EXTEND) with
// xor applied to the scan's data first (nil for the data as it is; see
// AppendXOR). It reports false when the block reaches past the first limit
// data bytes.
func (s *placedScan) Diff(b *DCBlock, limit int64, xor []byte) (int32, bool) {
	if int64(b.End) > limit*8 {
		return 0, false
	}
	// The block's bits lie in the four bytes from its first (the data,
	// and xor, have dataPad readable bytes past their end).
	first := b.Bit >> 3
	w := binary.BigEndian.Uint32(s.Data()[first : first+4 : first+4])
	if xor != nil {
		w ^= binary.BigEndian.Uint32(xor[first : first+4 : first+4])
	}
	return Extend(w<<(b.Bit&7)>>(32-uint(b.Size)), uint(b.Size)), true
}

// recordDC transforms file with a recording Transformer and returns the
// first scan with every recorded element placed.
func recordDC(t *testing.T, file []byte, maxBlocks int) *placedScan {
	t.Helper()
	k, _ := transformRecording(t, file, maxBlocks)
	return &placedScan{k.scan, k.blocks}
}

func transformRecording(t *testing.T, file []byte, maxBlocks int) (*dcRecording, []byte) {
	t.Helper()
	k := &dcRecording{}
	tr := NewReader(bytes.NewReader(file), Options{Mode: Extended, Keystream: k})
	k.t = tr
	tr.RecordDC(maxBlocks, nil)
	out, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	if k.err != nil {
		t.Fatal(k.err)
	}
	if k.scan == nil {
		t.Fatal("no scan")
	}
	elems := tr.DCElements()
	all := k.scan.Cursor()
	k.blocks = all.Append(nil, elems)
	cur := k.scan.Cursor()
	for i, b := range k.blocks {
		if k.scan.BlockAt(i, elems[i]) != b || cur.Next(elems[i]) != b {
			t.Fatalf("block %d: BlockAt and one block at a time disagree with a cursor given them all", i)
		}
	}
	return k, out
}

// TestRecordedDCMatchesReference checks, on every corpus file whose first
// scan codes DC, that the transformer records the DC elements a separate,
// simple decoder of the first scan finds, that the data it gathers from
// the chunks is the unstuffed scan data, and that AppendXOR gives the
// data-space form of the keystream: the data XORed with it is the data of
// the transformed file.
func TestRecordedDCMatchesReference(t *testing.T) {
	checked := 0
	for _, f := range allCorpusFiles(t) {
		file, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := TransformBytes(file, Options{Mode: Extended, StopAtError: true}); err != nil {
			continue // the reference decoder reads only well-formed scans
		}
		segs, ecs, ok := splitFirstScan(file)
		if !ok {
			continue
		}
		ref, err := referenceDCScan(segs, ecs, 1<<20)
		if errors.Is(err, ErrNoDCScan) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		k, out := transformRecording(t, file, 1<<20)
		got := k.scan
		if len(k.blocks) != len(ref.blocks) {
			t.Fatalf("%s: %d blocks recorded, the reference decodes %d", f, len(k.blocks), len(ref.blocks))
		}
		for i := range ref.blocks {
			if g, r := k.blocks[i], ref.blocks[i]; g.Component != r.Component || g.Reset != r.Reset || g.Size != r.Size || g.X != r.X || g.Y != r.Y || g.Bit != r.Bit {
				t.Fatalf("%s block %d: recorded %+v, reference %+v", f, i, g, r)
			}
		}
		if !bytes.HasPrefix(ref.data, got.data) || len(ref.data)-len(got.data) > 1 {
			t.Fatalf("%s: gathered %d data bytes, the reference unstuffs %d (or they differ)", f, len(got.data), len(ref.data))
		}
		_, outECS, _ := splitFirstScan(out)
		outRef, _ := referenceDCScan(segs, outECS, 1<<20)
		for i := range got.data {
			if got.data[i]^k.xor[i] != outRef.data[i] {
				t.Fatalf("%s: data byte %d: %02x ^ %02x, the transformed file has %02x", f, i, got.data[i], k.xor[i], outRef.data[i])
			}
		}
		checked++
	}
	if checked < 20 {
		t.Fatalf("only %d corpus files checked", checked)
	}
}

// splitFirstScan returns the non-APPn segments of b up to and including
// the first SOS, and the ECS bytes after it, or false.
func splitFirstScan(b []byte) (segs [][]byte, ecs []byte, ok bool) {
	i := 2
	segs = append(segs, b[:2])
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return nil, nil, false
		}
		if b[i+1] == 0xFF {
			i++
			continue
		}
		m, l := b[i+1], int(b[i+2])<<8|int(b[i+3])
		if i+2+l > len(b) {
			return nil, nil, false
		}
		seg := b[i : i+2+l]
		i += 2 + l
		if m >= 0xE0 && m <= 0xEF || m == 0xFE {
			continue
		}
		segs = append(segs, seg)
		if m == 0xDA {
			return segs, b[i:], true
		}
	}
	return nil, nil, false
}

// TestDCScanLimit checks that the recorded block ends tell the blocks
// within a limit from those past it (the test's Diff, as the classifier's
// elemsWithin does), and that a cap on the blocks recorded holds.
func TestDCScanLimit(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 200, 150))
	for y := range 150 {
		for x := range 200 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	full := recordDC(t, buf.Bytes(), 1<<20)
	limit := full.Len() / 3
	n := 0
	for i := range full.Blocks {
		if _, ok := full.Diff(&full.Blocks[i], limit, nil); !ok {
			break
		}
		n++
	}
	if n == 0 || n >= len(full.Blocks) || int64(full.Blocks[n].End) <= limit*8 || int64(full.Blocks[n-1].End) > limit*8 {
		t.Fatalf("a third of the data gave %d of %d blocks", n, len(full.Blocks))
	}
	if capped := recordDC(t, buf.Bytes(), 10); len(capped.Blocks) != 10 {
		t.Fatalf("cap of 10 blocks gave %d", len(capped.Blocks))
	}
}

// TestAndBytes compares andBytes with a byte-at-a-time AND for every
// length around its eight-byte steps.
func TestAndBytes(t *testing.T) {
	for n := range 25 {
		dst, mask := make([]byte, n+3), make([]byte, n)
		for i := range dst {
			dst[i] = byte(0x5A + 37*i)
		}
		for i := range mask {
			mask[i] = byte(0xC3 ^ 91*i)
		}
		want := bytes.Clone(dst)
		for i := range mask {
			want[i] &= mask[i]
		}
		andBytes(dst, mask)
		if !bytes.Equal(dst, want) {
			t.Errorf("length %d: got % x, want % x", n, dst, want)
		}
	}
}
