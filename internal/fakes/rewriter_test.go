package fakes_test

import (
	"bytes"
	"testing"

	"jpegveil/exif"
	"jpegveil/internal/fakes"
	"jpegveil/internal/phonefiles"
)

// TestRewrite checks that each rewrite changes what it says, and nothing
// of the primary image.
func TestRewrite(t *testing.T) {
	f := phonefiles.PixelMotion(phonefiles.NewParts(96, 64, 4096, 1), 8)
	thumbAt := func(b []byte) (int, bool) {
		md, err := exif.Scan(b)
		if err != nil || len(md.Exif) == 0 {
			return 0, false
		}
		s := md.Exif[0]
		x, _ := exif.Parse(b[s.Offset : s.Offset+s.Length])
		if x == nil || x.Thumbnail == nil {
			return 0, false
		}
		return s.Offset + x.Thumbnail.Offset, true
	}
	orig, _ := thumbAt(f)
	for _, mode := range fakes.Rewrites {
		out, ok := fakes.Rewrite(f, mode)
		if !ok || !bytes.Equal(fakes.PrimaryImage(out), fakes.PrimaryImage(f)) {
			t.Fatalf("%s: ok %v, or the primary image changed", mode, ok)
		}
		at, has := thumbAt(out)
		md, _ := exif.Scan(out)
		switch mode {
		case fakes.RewriteStripAPP1:
			if len(md.Exif) != 0 || len(md.XMP) != 0 || len(out) >= len(f) {
				t.Errorf("%s: APP1 left", mode)
			}
		case fakes.RewriteExif:
			if !has || at == orig || !bytes.Contains(out, []byte("metadata rewritten")) {
				t.Errorf("%s: thumbnail at %d (was %d)", mode, at, orig)
			}
		case fakes.RewriteDropThumbnail:
			if has || len(md.Exif) != 1 {
				t.Errorf("%s: thumbnail left", mode)
			}
		case fakes.RewriteTruncate, fakes.RewriteStillOnly:
			if !has || at != orig || len(out) >= len(f) || mode == fakes.RewriteStillOnly && !bytes.HasSuffix(out, []byte{0xFF, 0xD9}) {
				t.Errorf("%s: %d bytes of %d", mode, len(out), len(f))
			}
		}
	}
}
