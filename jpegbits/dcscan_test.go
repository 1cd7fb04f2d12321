package jpegbits

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// splitJPEG returns the non-APPn segments of b up to and including the
// first SOS, and the ECS bytes after it.
func splitJPEG(t *testing.T, b []byte) (segs [][]byte, ecs []byte) {
	t.Helper()
	i := 2
	segs = append(segs, b[:2])
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		m, l := b[i+1], int(b[i+2])<<8|int(b[i+3])
		seg := b[i : i+2+l]
		i += 2 + l
		if m >= 0xE0 && m <= 0xEF || m == 0xFE {
			continue
		}
		segs = append(segs, seg)
		if m == 0xDA {
			return segs, b[i:]
		}
	}
	t.Fatal("no SOS")
	return nil, nil
}

// TestDecodeDCScanMatchesPixels checks the DC values against the decoded
// image: at quality 100 every quantiser is 1, so a grayscale block's DC
// coefficient is 8 × (its mean sample − 128), to rounding.
func TestDecodeDCScanMatchesPixels(t *testing.T) {
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
		segs, ecs := splitJPEG(t, buf.Bytes())
		s, err := DecodeDCScan(segs, ecs, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		c := s.Components[0]
		if want := ((w + 7) / 8) * ((h + 7) / 8); len(s.Blocks) != want || c.Width*c.Height != want {
			t.Fatalf("image %d (%dx%d): %d blocks on a %dx%d grid, want %d", n, w, h, len(s.Blocks), c.Width, c.Height, want)
		}
		var pred int32
		for i := range s.Blocks {
			b := &s.Blocks[i]
			d, ok := s.Diff(b, nil)
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

// TestDecodeDCScanPrefix checks that a prefix yields a prefix of the
// blocks, and that xor past the prefix is reported.
func TestDecodeDCScanPrefix(t *testing.T) {
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
	segs, ecs := splitJPEG(t, buf.Bytes())
	full, err := DecodeDCScan(segs, ecs, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	part, err := DecodeDCScan(segs, ecs[:len(ecs)/3], 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(part.Blocks) == 0 || len(part.Blocks) >= len(full.Blocks) {
		t.Fatalf("prefix gave %d of %d blocks", len(part.Blocks), len(full.Blocks))
	}
	for i := range part.Blocks {
		if part.Blocks[i] != full.Blocks[i] {
			t.Fatalf("block %d differs: %+v vs %+v", i, part.Blocks[i], full.Blocks[i])
		}
	}
	capped, _ := DecodeDCScan(segs, ecs, 10)
	if len(capped.Blocks) != 10 {
		t.Fatalf("cap of 10 blocks gave %d", len(capped.Blocks))
	}
	last := &full.Blocks[len(full.Blocks)-1]
	if _, ok := full.Diff(last, make([]byte, 1)); ok && last.Size > 0 {
		t.Fatal("Diff with a short xor reported a value")
	}
}

// TestDCScanExtend checks that decoding a prefix as it grows, cut anywhere
// (between an FF and its stuffed zero too), gives the blocks of decoding
// it at once.
func TestDCScanExtend(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 10 {
		img := image.NewRGBA(image.Rect(0, 0, 40+r.IntN(200), 40+r.IntN(200)))
		for i := range img.Pix {
			img.Pix[i] = uint8(r.IntN(256))
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 50 + r.IntN(51)}); err != nil {
			t.Fatal(err)
		}
		segs, ecs := splitJPEG(t, buf.Bytes())
		whole, err := DecodeDCScan(segs, ecs, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		inc, err := NewDCScan(segs, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for end := 0; end < len(ecs); {
			end = min(len(ecs), end+1+r.IntN(700))
			inc.Extend(ecs[:end])
		}
		if len(inc.Blocks) != len(whole.Blocks) {
			t.Fatalf("image %d: %d blocks incrementally, %d at once", n, len(inc.Blocks), len(whole.Blocks))
		}
		for i := range whole.Blocks {
			a, b := &inc.Blocks[i], &whole.Blocks[i]
			va, _ := inc.Diff(a, nil)
			vb, _ := whole.Diff(b, nil)
			if *a != *b || va != vb {
				t.Fatalf("image %d block %d: %+v %d, at once %+v %d", n, i, *a, va, *b, vb)
			}
		}
	}
}
