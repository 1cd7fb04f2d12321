package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"math"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"jpegveil/exif"
	"jpegveil/imagemetrics"
	"jpegveil/jpegbits"
	"jpegveil/keystream"
	"jpegveil/veil"
)

func newAnalyzeCmd(a *app) *cobra.Command {
	var asJSON bool
	var pngOut string
	var ko keyOptions
	cmd := &cobra.Command{
		Use:   "analyze ORIGINAL [ENCRYPTED] [-k KEYFILE] [--png OUT] [--json]",
		Short: "Measure what an encrypted photo still shows",
		Long: `Compare a photo with its encrypted copy and measure what still leaks.
With one file, it is encrypted first: with a throw-away key (mode extended),
or with -k KEYFILE for numbers that can be reproduced.

Image metrics (package imagemetrics): PSNR of RGB and of luma (BT.601) in
dB, SSIM of luma (11×11 Gaussian window), NPCR and UACI in percent, and the
Dice overlap of the Sobel edge maps (the strongest 10 % of gradients)
against the overlap two independent maps of the same densities would have
by chance: Dice well above chance means outlines are still visible. Also the
share of additional (candidate) bits that are encrypted, and for each kind
of metadata whether it is present and protected: the Exif thumbnail (with
its PSNR), GPS, XMP location, and MPF images (with their PSNR).

--png OUT writes a side-by-side picture: the original and the encrypted
image, their edge maps, and their Exif thumbnails (or first MPF images).
--json prints one object instead of the text report.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			enc := ""
			if len(args) == 2 {
				enc = args[1]
			}
			if enc != "" && ko.path != "" {
				return usagef("-k encrypts ORIGINAL; it cannot be used with ENCRYPTED")
			}
			return a.analyze(args[0], enc, pngOut, asJSON, ko)
		},
	}
	cmd.Flags().StringVarP(&ko.path, "key", "k", "", "encrypt ORIGINAL with this key file instead of a throw-away key")
	cmd.Flags().StringVar(&ko.passphraseFile, "passphrase-file", "", "read the passphrase of a passphrase key file from the first line of FILE")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&pngOut, "png", "", "write a side-by-side picture to `OUT` (PNG)")
	return cmd
}

// The JSON report of analyze. Field names are part of the command line's
// interface (see doc.go). A PSNR of identical images is infinite and
// written as null.
type (
	analyzeReport struct {
		Original       string       `json:"original"`
		Encrypted      string       `json:"encrypted"`
		ThrowAwayKey   bool         `json:"throw_away_key"`
		KeyID          string       `json:"key_id,omitempty"`
		Width          int          `json:"width"`
		Height         int          `json:"height"`
		PSNRRGB        *float64     `json:"psnr_rgb_db"`
		PSNRLuma       *float64     `json:"psnr_luma_db"`
		SSIMLuma       float64      `json:"ssim_luma"`
		NPCR           float64      `json:"npcr_percent"`
		UACI           float64      `json:"uaci_percent"`
		EdgeDice       float64      `json:"edge_dice"`
		EdgeChance     float64      `json:"edge_dice_chance"`
		CBits          int64        `json:"c_bits"`
		EncryptedBits  int64        `json:"encrypted_bits"`
		EncryptedShare float64      `json:"encrypted_bits_percent"`
		StrictShare    float64      `json:"strict_bits_percent"`
		Thumbnail      metaAnalysis `json:"thumbnail"`
		GPS            metaAnalysis `json:"gps"`
		XMPLocation    metaAnalysis `json:"xmp_location"`
		MPFImages      []mpfAnalyze `json:"mpf_images"`
		// Items after the image other than MPF images (FORMAT.md §31).
		Embedded []embeddedAnalyze `json:"embedded"`
		PNG      string            `json:"png,omitempty"`
	}
	metaAnalysis struct {
		Present   bool     `json:"present"`
		Protected bool     `json:"protected"`
		PSNR      *float64 `json:"psnr_db,omitempty"`
		Problem   *string  `json:"problem"`
	}
	mpfAnalyze struct {
		Label string `json:"label"`
		metaAnalysis
	}
	embeddedAnalyze struct {
		Kind   string `json:"kind"`
		Label  string `json:"label"`
		Offset int64  `json:"offset"`
		Length int64  `json:"length"`
		// Clear: a block that holds no picture, readable by design.
		Clear bool `json:"clear"`
		metaAnalysis
	}
)

// analysis holds what the picture needs besides the report.
type analysis struct {
	orig, enc           *imagemetrics.RGB
	edgesOrig, edgesEnc []bool
	thumbOrig, thumbEnc *imagemetrics.RGB
	thumbLabel          string
}

func (a *app) analyze(origName, encName, pngOut string, asJSON bool, ko keyOptions) error {
	orig, err := os.ReadFile(origName)
	if err != nil {
		return fileErr(origName, err)
	}
	r := &analyzeReport{Original: origName, Encrypted: encName}
	var enc []byte
	// The plan of metadata items comes from a run over the original;
	// where they are does not depend on the key.
	var key *keystream.Key
	if ko.path != "" {
		key, err = a.loadKey(ko)
	} else {
		key, err = keystream.GenerateKey(keystream.ModeExtended)
	}
	if err != nil {
		return err
	}
	var out bytes.Buffer
	res, terr := veil.Transform(key, &out, bytes.NewReader(orig), veil.Options{})
	if terr != nil && !veil.IsParseError(terr) {
		return fileErr(origName, terr)
	}
	if errors.Is(res.Err, jpegbits.ErrNotJPEG) {
		return fileErr(origName, res.Err)
	}
	switch {
	case encName != "":
		if enc, err = os.ReadFile(encName); err != nil {
			return fileErr(encName, err)
		}
	case ko.path != "":
		r.Encrypted, r.KeyID, enc = "(key "+key.ID()+")", key.ID(), out.Bytes()
	default:
		r.Encrypted, r.ThrowAwayKey, enc = "(throw-away key)", true, out.Bytes()
	}
	// The share of additional bits encrypted, by the mask (the same for
	// the original and its ciphertext): with the key's mode when this
	// command encrypted, else assuming the default mode, extended.
	tot := res.Stats.Total()
	r.CBits, r.EncryptedBits = tot.CBits, tot.ExtendedBits
	if encName == "" && key.Mode() == keystream.ModeStrict {
		r.EncryptedBits = tot.StrictBits
	}
	r.EncryptedShare = percent(r.EncryptedBits, tot.CBits)
	r.StrictShare = percent(tot.StrictBits, tot.CBits)

	an, err := imageMetrics(r, orig, enc)
	if err != nil {
		return err
	}
	metadataProtection(r, an, res, orig, enc)
	if pngOut != "" {
		if err := writeAnalysisPNG(pngOut, r, an); err != nil {
			return fileErr(pngOut, err)
		}
		r.PNG = pngOut
	}
	if asJSON {
		e := json.NewEncoder(a.stdout)
		e.SetIndent("", "  ")
		return e.Encode(r)
	}
	return writeAnalysis(a.stdout, r)
}

func decodeRGB(name string, b []byte) (*imagemetrics.RGB, error) {
	m, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fileErr(name, fmt.Errorf("does not decode: %w", err))
	}
	return imagemetrics.FromImage(m), nil
}

func finite(v float64) *float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	v = math.Round(v*1000) / 1000
	return &v
}

func round4(v float64) float64 { return math.Round(v*10000) / 10000 }

// imageMetrics fills in the image metrics of the primary images.
func imageMetrics(r *analyzeReport, orig, enc []byte) (*analysis, error) {
	an := &analysis{}
	var err error
	if an.orig, err = decodeRGB(r.Original, orig); err != nil {
		return nil, err
	}
	if an.enc, err = decodeRGB(r.Encrypted, enc); err != nil {
		return nil, err
	}
	if an.orig.W != an.enc.W || an.orig.H != an.enc.H {
		return nil, fmt.Errorf("the images differ in size: %dx%d and %dx%d", an.orig.W, an.orig.H, an.enc.W, an.enc.H)
	}
	r.Width, r.Height = an.orig.W, an.orig.H
	p, _ := imagemetrics.PSNRRGB(an.orig, an.enc)
	r.PSNRRGB = finite(p)
	lo, le := an.orig.Luma(), an.enc.Luma()
	p, _ = imagemetrics.PSNRLuma(lo, le)
	r.PSNRLuma = finite(p)
	s, _ := imagemetrics.SSIM(lo, le)
	r.SSIMLuma = round4(s)
	n, u, _ := imagemetrics.NPCR(an.orig, an.enc)
	r.NPCR, r.UACI = math.Round(n*100)/100, math.Round(u*100)/100
	an.edgesOrig, an.edgesEnc = imagemetrics.Edges(lo), imagemetrics.Edges(le)
	d, c, _ := imagemetrics.Dice(an.edgesOrig, an.edgesEnc)
	r.EdgeDice, r.EdgeChance = round4(d), round4(c)
	return an, nil
}

// metadataProtection compares each metadata item of the original (as the
// run over it located them) with the same bytes of the encrypted file: an
// item is protected when it changed and nothing in it had to be left.
func metadataProtection(r *analyzeReport, an *analysis, res veil.Result, orig, enc []byte) {
	r.MPFImages = []mpfAnalyze{}
	r.Embedded = []embeddedAnalyze{}
	for _, it := range res.Metadata {
		var ma metaAnalysis
		ma.Present = true
		lo, hi := it.Offset, it.Offset+it.Length
		changed := hi <= int64(len(enc)) && !bytes.Equal(orig[lo:hi], enc[lo:hi])
		ma.Protected = changed && it.Problem == ""
		if it.Problem != "" {
			ma.Problem = &it.Problem
		}
		if it.Kind == veil.KindThumbnail || it.Kind == veil.KindMPFImage || it.Kind == veil.KindContainerImage {
			if hi <= int64(len(enc)) {
				a, errA := decodeRGB("", orig[lo:hi])
				b, errB := decodeRGB("", enc[lo:hi])
				if errA == nil && errB == nil {
					if p, err := imagemetrics.PSNRRGB(a, b); err == nil {
						ma.PSNR = finite(p)
					}
					if an.thumbOrig == nil {
						an.thumbOrig, an.thumbEnc, an.thumbLabel = a, b, it.Label
					}
				}
			}
		}
		switch it.Kind {
		case veil.KindThumbnail:
			if !strings.HasPrefix(it.Label, "mpf") {
				r.Thumbnail = merge(r.Thumbnail, ma)
			}
		case veil.KindGPS:
			r.GPS = merge(r.GPS, ma)
		case veil.KindXMPLocation:
			r.XMPLocation = merge(r.XMPLocation, ma)
		case veil.KindMPFImage:
			r.MPFImages = append(r.MPFImages, mpfAnalyze{Label: it.Label, metaAnalysis: ma})
		case veil.KindContainerImage, veil.KindMotionVideo, veil.KindSEFBlock:
			r.Embedded = append(r.Embedded, embeddedAnalyze{Kind: it.Kind, Label: it.Label, Offset: it.Offset, Length: it.Length,
				Clear: it.Action == veil.ActionClear, metaAnalysis: ma})
		}
	}
	// GPS IFDs without location values, and XMP without location, are
	// not items; say whether the original has them at all.
	if md, _ := exif.Scan(orig); md != nil {
		for _, x := range md.XMP {
			if len(x.XMP.Location) > 0 {
				r.XMPLocation.Present = true
			}
		}
	}
}

// merge combines two items of one kind (several Exif or XMP segments).
func merge(a, b metaAnalysis) metaAnalysis {
	if !a.Present {
		return b
	}
	a.Protected = a.Protected && b.Protected
	if a.Problem == nil {
		a.Problem = b.Problem
	}
	if a.PSNR == nil || b.PSNR != nil && *b.PSNR > *a.PSNR {
		a.PSNR = b.PSNR
	}
	return a
}

func fmtDB(v *float64) string {
	if v == nil {
		return "∞ (identical)"
	}
	return fmt.Sprintf("%.2f dB", *v)
}

func metaLine(m metaAnalysis) string {
	switch {
	case !m.Present:
		return "none"
	case m.Protected && m.PSNR != nil:
		return "protected (PSNR " + fmtDB(m.PSNR) + ")"
	case m.Protected:
		return "protected"
	case m.Problem != nil:
		return "NOT protected: " + *m.Problem
	}
	return "NOT protected (unchanged)"
}

// writeAnalysis prints the report for people.
func writeAnalysis(w io.Writer, r *analyzeReport) error {
	var b strings.Builder
	line := func(key, format string, args ...any) {
		fmt.Fprintf(&b, "%-16s "+format+"\n", append([]any{key}, args...)...)
	}
	line("original", "%s (%dx%d)", r.Original, r.Width, r.Height)
	line("encrypted", "%s", r.Encrypted)
	line("PSNR", "RGB %s, luma %s", fmtDB(r.PSNRRGB), fmtDB(r.PSNRLuma))
	line("SSIM (luma)", "%.4f", r.SSIMLuma)
	line("NPCR / UACI", "%.2f %% / %.2f %%", r.NPCR, r.UACI)
	line("edges (Sobel)", "Dice %.4f against %.4f by chance", r.EdgeDice, r.EdgeChance)
	line("encrypted bits", "%.2f %% of %d additional bits (strict rule: %.2f %%)", r.EncryptedShare, r.CBits, r.StrictShare)
	line("thumbnail", "%s", metaLine(r.Thumbnail))
	line("GPS", "%s", metaLine(r.GPS))
	line("XMP location", "%s", metaLine(r.XMPLocation))
	if len(r.MPFImages) == 0 {
		line("MPF images", "none")
	}
	for _, m := range r.MPFImages {
		line(m.Label, "%s", metaLine(m.metaAnalysis))
	}
	for _, m := range r.Embedded {
		if m.Clear {
			line(m.Label, "readable by design (no picture), %d bytes", m.Length)
			continue
		}
		line(m.Label, "%s", metaLine(m.metaAnalysis))
	}
	if r.PNG != "" {
		line("picture", "%s", r.PNG)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
