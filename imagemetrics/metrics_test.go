package imagemetrics

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func solid(w, h int, r, g, b uint8) *RGB {
	m := &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	for i := 0; i < len(m.Pix); i += 3 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2] = r, g, b
	}
	return m
}

// checker is a w×h image of 8×8 black and white squares.
func checker(w, h int) *RGB {
	m := &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if (x/8+y/8)%2 == 1 {
				i := 3 * (y*w + x)
				m.Pix[i], m.Pix[i+1], m.Pix[i+2] = 255, 255, 255
			}
		}
	}
	return m
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) {
		t.Errorf("%s = %.6f, want %.6f (±%g)", what, got, want, tol)
	}
}

func TestPSNRKnownValues(t *testing.T) {
	a, b := solid(16, 8, 100, 100, 100), solid(16, 8, 110, 110, 110)
	// MSE 100 on every sample: 10·log10(65025/100) = 28.1308 dB.
	p, err := PSNRRGB(a, b)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "PSNR RGB", p, 10*math.Log10(65025.0/100), 1e-9)
	pl, _ := PSNRLuma(a.Luma(), b.Luma())
	near(t, "PSNR luma", pl, 10*math.Log10(65025.0/100), 1e-6)
	// Only the red channel differs, by 30: RGB MSE 300, luma MSE (0.299·30)².
	c := solid(16, 8, 130, 100, 100)
	p, _ = PSNRRGB(a, c)
	near(t, "PSNR RGB, red only", p, 10*math.Log10(65025.0/300), 1e-9)
	pl, _ = PSNRLuma(a.Luma(), c.Luma())
	near(t, "PSNR luma, red only", pl, 10*math.Log10(65025/(8.97*8.97)), 1e-6)
	if p, _ := PSNRRGB(a, a); !math.IsInf(p, 1) {
		t.Errorf("PSNR of identical images = %v, want +Inf", p)
	}
	// Black against white: 0 dB.
	p, _ = PSNRRGB(solid(4, 4, 0, 0, 0), solid(4, 4, 255, 255, 255))
	near(t, "PSNR black/white", p, 0, 1e-12)
	if _, err := PSNRRGB(a, solid(8, 8, 0, 0, 0)); err != ErrSize {
		t.Errorf("different sizes: err %v", err)
	}
}

func TestLumaBT601(t *testing.T) {
	g := solid(1, 1, 255, 0, 0).Luma()
	near(t, "luma of red", g.Pix[0], 0.299*255, 1e-9)
	g = solid(1, 1, 10, 20, 30).Luma()
	near(t, "luma", g.Pix[0], 0.299*10+0.587*20+0.114*30, 1e-9)
}

func TestSSIMKnownValues(t *testing.T) {
	a := checker(64, 48)
	s, err := SSIM(a.Luma(), a.Luma())
	if err != nil {
		t.Fatal(err)
	}
	near(t, "SSIM identical", s, 1, 1e-9)
	// Two flat images: variances and covariance are 0, so the index is
	// the luminance term (2·μa·μb + C1) / (μa² + μb² + C1) everywhere.
	s, _ = SSIM(solid(32, 32, 100, 100, 100).Luma(), solid(32, 32, 50, 50, 50).Luma())
	want := (2*100.0*50 + ssimC1) / (100*100 + 50*50 + ssimC1)
	near(t, "SSIM flat", s, want, 1e-9)
	// The inverted checkerboard: equal means (127.5 over a window that
	// straddles squares) but perfectly anti-correlated structure, so the
	// index is strongly negative.
	inv := checker(64, 48)
	for i := range inv.Pix {
		inv.Pix[i] = 255 - inv.Pix[i]
	}
	s, _ = SSIM(a.Luma(), inv.Luma())
	if s > -0.5 {
		t.Errorf("SSIM of inverted checkerboard = %.3f, want well below 0", s)
	}
	// Smaller than the window: global statistics.
	s, _ = SSIM(solid(4, 4, 100, 100, 100).Luma(), solid(4, 4, 100, 100, 100).Luma())
	near(t, "SSIM tiny identical", s, 1, 1e-12)
}

func TestNPCRAndUACI(t *testing.T) {
	npcr, uaci, err := NPCR(solid(8, 8, 0, 0, 0), solid(8, 8, 255, 255, 255))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "NPCR", npcr, 100, 1e-12)
	near(t, "UACI", uaci, 100, 1e-12)
	// Half the pixels differ by 51 in every channel: NPCR 50 %, UACI 10 %.
	a, b := solid(8, 8, 0, 0, 0), solid(8, 8, 0, 0, 0)
	for i := 0; i < len(b.Pix)/2; i++ {
		b.Pix[i] = 51
	}
	npcr, uaci, _ = NPCR(a, b)
	near(t, "NPCR half", npcr, 50, 1e-12)
	near(t, "UACI half", uaci, 10, 1e-12)
}

func TestEdgesAndDice(t *testing.T) {
	a := checker(64, 64)
	ea := Edges(a.Luma())
	d, chance, err := Dice(ea, ea)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "Dice identical", d, 1, 1e-12)
	var n int
	for _, e := range ea {
		if e {
			n++
		}
	}
	if n == 0 {
		t.Fatal("no edges in a checkerboard")
	}
	p := float64(n) / float64(len(ea))
	near(t, "chance of identical maps", chance, p, 1e-12)
	// Disjoint maps: Dice 0, chance 2ab/(a+b).
	x := make([]bool, 100)
	y := make([]bool, 100)
	for i := range 10 {
		x[i] = true
	}
	for i := 50; i < 70; i++ {
		y[i] = true
	}
	d, chance, _ = Dice(x, y)
	near(t, "Dice disjoint", d, 0, 0)
	near(t, "chance", chance, 2*0.1*0.2/(0.1+0.2), 1e-12)
	// A flat image has no edges.
	for _, e := range Edges(solid(16, 16, 9, 9, 9).Luma()) {
		if e {
			t.Fatal("edge in a flat image")
		}
	}
}

func TestSobelKnownGradient(t *testing.T) {
	// A horizontal ramp of slope 1: gx = 8, gy = 0 inside.
	g := &Gray{W: 5, H: 5, Pix: make([]float64, 25)}
	for y := range 5 {
		for x := range 5 {
			g.Pix[y*5+x] = float64(x)
		}
	}
	m := Sobel(g)
	near(t, "Sobel ramp", m[2*5+2], 8, 1e-12)
	near(t, "Sobel border", m[0], 0, 0)
}

func TestFromImageAndResize(t *testing.T) {
	m := image.NewYCbCr(image.Rect(0, 0, 4, 2), image.YCbCrSubsampleRatio444)
	for i := range m.Y {
		m.Y[i], m.Cb[i], m.Cr[i] = 128, 128, 128
	}
	r := FromImage(m)
	if r.W != 4 || r.H != 2 || r.Pix[0] != 128 {
		t.Fatalf("FromImage: %dx%d first %d", r.W, r.H, r.Pix[0])
	}
	g := image.NewGray(image.Rect(0, 0, 2, 2))
	g.SetGray(1, 1, color.Gray{Y: 200})
	if rg := FromImage(g); rg.Pix[9] != 200 || rg.Pix[11] != 200 {
		t.Fatalf("FromImage gray: %v", rg.Pix)
	}
	// 2×2 → 1×1 averages.
	q := &RGB{W: 2, H: 2, Pix: []uint8{0, 0, 0, 100, 100, 100, 200, 200, 200, 100, 100, 100}}
	if s := Resize(q, 1, 1); s.Pix[0] != 100 {
		t.Fatalf("Resize average = %d, want 100", s.Pix[0])
	}
	if s := Resize(q, 4, 4); s.W != 4 || s.Pix[3*15] != 100 {
		t.Fatalf("Resize enlarge: %v", s.Pix)
	}
}
