package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"

	"jpegveil/imagemetrics"
)

// Layout of the analyze picture: two columns (original, encrypted) of
// panels, each under a label.
const (
	panelW     = 480
	panelMaxH  = 480
	margin     = 8
	fontScale  = 2
	glyphW     = 5
	glyphH     = 7
	labelH     = (glyphH + 3) * fontScale
	labelAdv   = (glyphW + 1) * fontScale
	labelChars = panelW / labelAdv
)

var (
	background = color.RGBA{32, 32, 36, 255}
	ink        = color.RGBA{235, 235, 235, 255}
)

// writeAnalysisPNG draws the original and the encrypted image, their edge
// maps and their thumbnails side by side.
func writeAnalysisPNG(name string, r *analyzeReport, an *analysis) error {
	type panel struct {
		label string
		img   *imagemetrics.RGB
	}
	fit := func(m *imagemetrics.RGB, w, h int) *imagemetrics.RGB {
		pw, ph := panelW, panelW*h/max(w, 1)
		if ph > panelMaxH {
			pw, ph = panelMaxH*w/max(h, 1), panelMaxH
		}
		return imagemetrics.Resize(m, max(pw, 1), max(ph, 1))
	}
	W, H := an.orig.W, an.orig.H
	rows := [][2]panel{
		{{"ORIGINAL", fit(an.orig, W, H)}, {fmt.Sprintf("ENCRYPTED PSNR %s SSIM %.3f", shortDB(r.PSNRRGB), r.SSIMLuma), fit(an.enc, W, H)}},
		{{"EDGES ORIGINAL", fit(imagemetrics.EdgeImage(an.edgesOrig, W, H), W, H)},
			{fmt.Sprintf("EDGES DICE %.3f CHANCE %.3f", r.EdgeDice, r.EdgeChance), fit(imagemetrics.EdgeImage(an.edgesEnc, W, H), W, H)}},
	}
	if an.thumbOrig != nil {
		tw, th := an.thumbOrig.W, an.thumbOrig.H
		label := strings.ToUpper(an.thumbLabel)
		rows = append(rows, [2]panel{
			{label + " ORIGINAL", fit(an.thumbOrig, tw, th)},
			{label + " ENCRYPTED", fit(an.thumbEnc, tw, th)},
		})
	}
	width := 3*margin + 2*panelW
	height := margin
	for _, row := range rows {
		height += labelH + max(row[0].img.H, row[1].img.H) + margin
	}
	canvas := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(canvas, canvas.Bounds(), &image.Uniform{background}, image.Point{}, draw.Src)
	y := margin
	for _, row := range rows {
		for c, p := range row {
			x := margin + c*(panelW+margin)
			drawText(canvas, x, y+fontScale, p.label)
			m := p.img.Image()
			draw.Draw(canvas, m.Bounds().Add(image.Pt(x, y+labelH)), m, image.Point{}, draw.Src)
		}
		y += labelH + max(row[0].img.H, row[1].img.H) + margin
	}
	af, err := createAtomic(name, 0o644)
	if err != nil {
		return err
	}
	if err := png.Encode(af, canvas); err != nil {
		af.abort()
		return err
	}
	return af.commit(true)
}

func shortDB(v *float64) string {
	if v == nil {
		return "INF"
	}
	return fmt.Sprintf("%.1f DB", *v)
}

// drawText writes s (upper case, digits and a little punctuation; other
// characters become spaces) with its top left corner at (x, y), cut to the
// panel width.
func drawText(m *image.RGBA, x, y int, s string) {
	s = strings.ToUpper(s)
	if len(s) > labelChars {
		s = s[:labelChars]
	}
	for i, ch := range s {
		g, ok := font5x7[ch]
		if !ok {
			continue
		}
		for row := 0; row < glyphH; row++ {
			for col := 0; col < glyphW; col++ {
				if g[row][col] != '#' {
					continue
				}
				for dy := 0; dy < fontScale; dy++ {
					for dx := 0; dx < fontScale; dx++ {
						m.SetRGBA(x+i*labelAdv+col*fontScale+dx, y+row*fontScale+dy, ink)
					}
				}
			}
		}
	}
}

// font5x7 is a 5×7 bitmap font for the labels.
var font5x7 = map[rune][glyphH]string{
	'A': {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'B': {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."},
	'C': {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."},
	'D': {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."},
	'E': {"#####", "#....", "#....", "####.", "#....", "#....", "#####"},
	'F': {"#####", "#....", "#....", "####.", "#....", "#....", "#...."},
	'G': {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".###."},
	'H': {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'I': {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'J': {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."},
	'K': {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"},
	'L': {"#....", "#....", "#....", "#....", "#....", "#....", "#####"},
	'M': {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"},
	'N': {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"},
	'O': {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'P': {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."},
	'Q': {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"},
	'R': {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"},
	'S': {".####", "#....", "#....", ".###.", "....#", "....#", "####."},
	'T': {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."},
	'U': {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'V': {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."},
	'W': {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."},
	'X': {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"},
	'Y': {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."},
	'Z': {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"},
	'0': {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
	'1': {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'2': {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	'3': {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."},
	'4': {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	'5': {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'6': {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	'7': {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	'8': {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	'9': {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
	'.': {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."},
	',': {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."},
	':': {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."},
	'-': {".....", ".....", ".....", "#####", ".....", ".....", "....."},
	'%': {"##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"},
	'(': {"...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."},
	')': {".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."},
	'/': {".....", "....#", "...#.", "..#..", ".#...", "#....", "....."},
}
