package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"jpegveil/exif"
	"jpegveil/jpegbits"
	"jpegveil/keystream"
	"jpegveil/veil"
)

func newInspectCmd(a *app) *cobra.Command {
	var (
		asJSON bool
		ko     keyOptions
	)
	cmd := &cobra.Command{
		Use:   "inspect FILE [--json]",
		Short: "Show how a JPEG file would be encrypted and what metadata it carries",
		Long: `Parse a JPEG file as encryption would, without a key, and show the frame,
the restart interval, each scan's statistics (entropy-coded bytes, Huffman
(H), structural (S), padding (P) and candidate (C) bits, trailing bytes, and
the share of C bits the strict and extended rules encrypt), the bytes after
EOI, the parse error if any, and the metadata that encryption of the pixels
does not hide: the Exif thumbnail, GPS fields, XMP location properties and
MPF secondary images.

A parse error is part of the report (exit status 0); a file that is not a
JPEG, or cannot be read, is an error (exit status 1). FILE may be - for
stdin. --json prints one JSON object; its fields are documented in
'go doc jpegveil/cmd/jpegveil'.

With -k KEYFILE (a key file or keyring) it also shows the key IDs and the
direction classifier's verdict (FORMAT.md §34): plaintext, ciphertext of
which key, or unsure, with its margin.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ko.stdinIsPhoto = args[0] == "-"
			return a.inspect(args[0], asJSON, ko)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVarP(&ko.path, "key", "k", "", "key file or keyring: also classify the file with its keys")
	cmd.Flags().StringVar(&ko.passphraseFile, "passphrase-file", "", "read the passphrase of a passphrase key file from the first line of FILE")
	return cmd
}

// The JSON report. Field names are part of the command line's interface:
// add fields, never rename or remove them (see doc.go).
type (
	inspectReport struct {
		File            string         `json:"file"`
		SizeBytes       int64          `json:"size_bytes"`
		Frame           *frameReport   `json:"frame"`
		RestartInterval int            `json:"restart_interval"`
		Scans           []scanReport   `json:"scans"`
		Total           scanCounts     `json:"total"`
		AfterEOIBytes   int64          `json:"after_eoi_bytes"`
		Error           *errorReport   `json:"error"`
		Metadata        metadataReport `json:"metadata"`
		// With -k only.
		KeyIDs    []string         `json:"key_ids,omitempty"`
		Direction *directionReport `json:"direction,omitempty"`
	}
	frameReport struct {
		Marker     string   `json:"marker"`
		Process    string   `json:"process"`
		Width      int      `json:"width"`
		Height     int      `json:"height"`
		Components int      `json:"components"`
		Sampling   []string `json:"sampling"`
	}
	scanCounts struct {
		Components      int     `json:"components"`
		ECSBytes        int64   `json:"ecs_bytes"`
		DataBytes       int64   `json:"data_bytes"`
		Intervals       int     `json:"intervals"`
		HBits           int64   `json:"h_bits"`
		SBits           int64   `json:"s_bits"`
		PBits           int64   `json:"p_bits"`
		CBits           int64   `json:"c_bits"`
		TrailingBytes   int64   `json:"trailing_bytes"`
		StrictBits      int64   `json:"strict_bits"`
		ExtendedBits    int64   `json:"extended_bits"`
		StrictPercent   float64 `json:"strict_percent"`
		ExtendedPercent float64 `json:"extended_percent"`
	}
	scanReport struct {
		Index int    `json:"index"`
		Kind  string `json:"kind"`
		scanCounts
	}
	errorReport struct {
		Kind    string `json:"kind"`
		Offset  int64  `json:"offset"`
		Message string `json:"message"`
	}
	metadataReport struct {
		HasExif        bool         `json:"has_exif"`
		HasThumbnail   bool         `json:"has_thumbnail"`
		HasGPS         bool         `json:"has_gps"`
		HasXMP         bool         `json:"has_xmp"`
		HasXMPLocation bool         `json:"has_xmp_location"`
		MPFImages      int          `json:"mpf_images"`
		Exif           []exifReport `json:"exif"`
		XMP            []xmpReport  `json:"xmp"`
		MPF            []mpfReport  `json:"mpf"`
		Error          *string      `json:"error"`
		// What encryption does with the metadata (FORMAT.md part IV).
		Items              []itemReport `json:"items"`
		AfterEOIOtherBytes int64        `json:"after_eoi_other_bytes"`
	}
	itemReport struct {
		Kind      string   `json:"kind"`
		Label     string   `json:"label"`
		Offset    int64    `json:"offset"`
		Length    int64    `json:"length"`
		Fields    []string `json:"fields"`
		Protected bool     `json:"protected"`
		Problem   *string  `json:"problem"`
		// Action is what encryption does: "transformed", or "clear" for
		// a block that holds no picture (FORMAT.md §31.2).
		Action string `json:"action"`
	}
	exifReport struct {
		Offset    int           `json:"offset"`
		Length    int           `json:"length"`
		ByteOrder string        `json:"byte_order"`
		GPSFields []string      `json:"gps_fields"`
		Thumbnail *thumbnailRef `json:"thumbnail"`
		Error     *string       `json:"error"`

		hasGPSIFD bool // a GPS IFD, possibly empty
	}
	thumbnailRef struct {
		Offset int  `json:"offset"`
		Length int  `json:"length"`
		JPEG   bool `json:"jpeg"`
	}
	xmpReport struct {
		Offset   int      `json:"offset"`
		Length   int      `json:"length"`
		Extended bool     `json:"extended"`
		Location []string `json:"location"`
	}
	mpfReport struct {
		Offset int     `json:"offset"`
		Length int     `json:"length"`
		Images int     `json:"images"`
		Error  *string `json:"error"`
	}
)

func (a *app) inspect(name string, asJSON bool, ko keyOptions) error {
	var (
		data []byte
		err  error
	)
	if name == "-" {
		data, err = io.ReadAll(a.stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return fileErr(inName(name), err)
	}
	// A throw-away key: the statistics and what happens to metadata do
	// not depend on the key.
	key, err := keystream.GenerateKey(keystream.ModeExtended)
	if err != nil {
		return err
	}
	vr := veil.NewReader(key, bytes.NewReader(data), veil.Options{})
	if _, err := io.Copy(io.Discard, vr); err != nil {
		return fileErr(inName(name), err)
	}
	res := vr.Result()
	if errors.Is(res.Err, jpegbits.ErrNotJPEG) {
		return fileErr(inName(name), res.Err)
	}
	r := buildReport(inName(name), data, res.Stats, res.Err)
	addProtection(&r.Metadata, res)
	if ko.path != "" {
		ring, err := a.loadKeyring(ko)
		if err != nil {
			return err
		}
		r.KeyIDs, r.Direction = classifyReport(ring, data)
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return writeReport(a.stdout, r)
}

func buildReport(name string, data []byte, st *jpegbits.Stats, perr error) *inspectReport {
	r := &inspectReport{
		File:            name,
		SizeBytes:       int64(len(data)),
		RestartInterval: st.Restart,
		Scans:           []scanReport{},
		Total:           counts(st.Total()),
		AfterEOIBytes:   st.AfterEOI,
	}
	if st.Frame != "" {
		r.Frame = &frameReport{
			Marker:     st.Frame,
			Process:    process(st.Frame),
			Width:      st.Width,
			Height:     st.Height,
			Components: st.Components,
			Sampling:   st.Sampling,
		}
	}
	for i, sc := range st.Scans {
		r.Scans = append(r.Scans, scanReport{Index: i + 1, Kind: sc.Kind.String(), scanCounts: counts(sc)})
	}
	if perr != nil {
		off, _ := jpegbits.ErrorOffset(perr)
		kind := "corrupt"
		var ue *jpegbits.UnsupportedError
		if errors.As(perr, &ue) {
			kind = "unsupported"
		}
		r.Error = &errorReport{Kind: kind, Offset: off, Message: message(perr)}
	}
	r.Metadata = metadata(data)
	return r
}

func process(frame string) string {
	switch frame {
	case "SOF0":
		return "baseline"
	case "SOF1":
		return "extended sequential"
	case "SOF2":
		return "progressive"
	}
	return ""
}

func counts(s jpegbits.ScanStats) scanCounts {
	return scanCounts{
		Components:      s.Components,
		ECSBytes:        s.ECSBytes,
		DataBytes:       s.DataBytes,
		Intervals:       s.Intervals,
		HBits:           s.HBits,
		SBits:           s.SBits,
		PBits:           s.PBits,
		CBits:           s.CBits,
		TrailingBytes:   s.Trailing,
		StrictBits:      s.StrictBits,
		ExtendedBits:    s.ExtendedBits,
		StrictPercent:   percent(s.StrictBits, s.CBits),
		ExtendedPercent: percent(s.ExtendedBits, s.CBits),
	}
}

// percent is 100·n/of rounded to two decimals, 0 when of is 0.
func percent(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(10000*float64(n)/float64(of)) / 100
}

// problem describes a metadata problem with its file offset (exif
// reports offsets within the segment payload, at payload offset base).
func problem(err error, base int) *string {
	if err == nil {
		return nil
	}
	var fe *exif.FormatError
	s := strings.TrimPrefix(err.Error(), "exif: ")
	if errors.As(err, &fe) {
		s = fmt.Sprintf("invalid data at byte %d: %s", base+fe.Offset, fe.Reason)
	}
	return &s
}

func metadata(data []byte) metadataReport {
	m := metadataReport{Exif: []exifReport{}, XMP: []xmpReport{}, MPF: []mpfReport{}, Items: []itemReport{}}
	md, err := exif.Scan(data)
	m.Error = problem(err, 0)
	if md == nil {
		return m
	}
	for _, es := range md.Exif {
		er := exifReport{Offset: es.Offset, Length: es.Length, GPSFields: []string{}, Error: problem(es.Err, es.Offset)}
		if x := es.Exif; x != nil {
			m.HasExif = true
			er.ByteOrder = "II"
			if x.BigEndian() {
				er.ByteOrder = "MM"
			}
			if x.GPS != nil {
				er.hasGPSIFD = true
				er.GPSFields = x.GPSFields()
				m.HasGPS = m.HasGPS || len(er.GPSFields) > 0
			}
			if th := x.Thumbnail; th != nil {
				m.HasThumbnail = true
				er.Thumbnail = &thumbnailRef{Offset: es.Offset + th.Offset, Length: th.Length, JPEG: th.JPEG}
			}
		}
		m.Exif = append(m.Exif, er)
	}
	for _, xs := range md.XMP {
		m.HasXMP = true
		loc := xs.XMP.Location
		if loc == nil {
			loc = []string{}
		}
		m.HasXMPLocation = m.HasXMPLocation || len(loc) > 0
		m.XMP = append(m.XMP, xmpReport{Offset: xs.Offset, Length: xs.Length, Extended: xs.XMP.Extended, Location: loc})
	}
	for _, ms := range md.MPF {
		mr := mpfReport{Offset: ms.Offset, Length: ms.Length, Error: problem(ms.Err, ms.Offset)}
		if ms.MPF != nil {
			mr.Images = ms.MPF.Images()
			m.MPFImages = max(m.MPFImages, mr.Images)
		}
		m.MPF = append(m.MPF, mr)
	}
	return m
}

// addProtection adds what encryption does with each metadata item, and how
// many bytes after the primary image belong to no MPF image.
func addProtection(m *metadataReport, res veil.Result) {
	other := res.Stats.AfterEOI
	for _, it := range res.Metadata {
		ir := itemReport{Kind: it.Kind, Label: it.Label, Offset: it.Offset, Length: it.Length, Fields: it.Fields,
			Protected: it.Problem == "" && it.Action != veil.ActionClear, Action: it.Action}
		if ir.Fields == nil {
			ir.Fields = []string{}
		}
		if it.Problem != "" {
			ir.Problem = &it.Problem
		}
		switch it.Kind {
		case veil.KindMPFImage, veil.KindMotionVideo, veil.KindSEFBlock, veil.KindContainerImage:
			other -= it.Length
		}
		m.Items = append(m.Items, ir)
	}
	m.AfterEOIOtherBytes = max(other, 0)
}

// writeReport prints the report for people.
// reportLine writes one "key  value" line of the text report.
type reportLine func(key, format string, args ...any)

func writeReport(w io.Writer, r *inspectReport) error {
	var b strings.Builder
	line := func(key, format string, args ...any) {
		fmt.Fprintf(&b, "%-17s "+format+"\n", append([]any{key}, args...)...)
	}
	writeStructure(&b, line, r)
	problems := writeMetadataSummary(line, &r.Metadata)
	writeEmbeddedItems(line, &r.Metadata)
	for _, p := range problems {
		line("metadata problem", "%s", p)
	}
	writeDirection(line, r)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeStructure reports the frame, the scans with their bit counts, what
// follows EOI and the parse error.
func writeStructure(b *strings.Builder, line reportLine, r *inspectReport) {
	line("file", "%s (%d bytes)", r.File, r.SizeBytes)
	if f := r.Frame; f != nil {
		line("frame", "%s (%s), %dx%d, %d components, sampling %s", f.Marker, f.Process, f.Width, f.Height, f.Components, strings.Join(f.Sampling, " "))
	} else {
		line("frame", "none parsed")
	}
	if r.RestartInterval > 0 {
		line("restart interval", "%d MCUs", r.RestartInterval)
	} else {
		line("restart interval", "none")
	}
	line("scans", "%d", len(r.Scans))
	if len(r.Scans) > 0 {
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scan\tkind\tcomps\tECS bytes\tH bits\tS bits\tP bits\tC bits\ttrailing\tstrict\textended\t")
		row := func(idx, kind string, c scanCounts) {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f%%\t%.1f%%\t\n", idx, kind, c.Components, c.ECSBytes,
				c.HBits, c.SBits, c.PBits, c.CBits, c.TrailingBytes, c.StrictPercent, c.ExtendedPercent)
		}
		for _, s := range r.Scans {
			row(fmt.Sprint(s.Index), s.Kind, s.scanCounts)
		}
		row("", "total", r.Total)
		tw.Flush()
	}
	if mp := r.AfterEOIBytes - r.Metadata.AfterEOIOtherBytes; mp > 0 {
		line("after EOI", "%d bytes: %d in embedded items, %d other (left unchanged)", r.AfterEOIBytes, mp, r.Metadata.AfterEOIOtherBytes)
	} else if r.AfterEOIBytes > 0 {
		line("after EOI", "%d bytes, in no MPF image (left unchanged)", r.AfterEOIBytes)
	} else {
		line("after EOI", "%d bytes", r.AfterEOIBytes)
	}
	if r.Error != nil {
		line("error", "%s", r.Error.Message)
	} else {
		line("error", "none")
	}
}

// writeMetadataSummary reports Exif, GPS, XMP, MPF and what is encrypted,
// and returns the metadata problems for the end of the report.
func writeMetadataSummary(line reportLine, md *metadataReport) (problems []string) {
	var segs, thumbs, gps []string
	emptyGPS := false
	for _, e := range md.Exif {
		order := e.ByteOrder
		if order == "" {
			order = "invalid"
		}
		segs = append(segs, fmt.Sprintf("%d bytes at byte %d (%s)", e.Length, e.Offset, order))
		if t := e.Thumbnail; t != nil {
			kind := "JPEG"
			if !t.JPEG {
				kind = "not a JPEG"
			}
			thumbs = append(thumbs, fmt.Sprintf("%d bytes (%s) at byte %d", t.Length, kind, t.Offset))
		}
		gps = append(gps, e.GPSFields...)
		emptyGPS = emptyGPS || e.hasGPSIFD && len(e.GPSFields) == 0
		if e.Error != nil {
			problems = append(problems, "Exif: "+*e.Error)
		}
	}
	line("Exif", "%s", orNone(segs, "; "))
	line("Exif thumbnail", "%s", orNone(thumbs, "; "))
	switch {
	case len(gps) > 0:
		line("GPS", "%s", strings.Join(gps, " "))
	case emptyGPS:
		line("GPS", "none (empty GPS IFD)")
	default:
		line("GPS", "none")
	}
	writeXMPAndMPF(line, md)
	for _, mp := range md.MPF {
		if mp.Error != nil {
			problems = append(problems, "MPF: "+*mp.Error)
		}
	}
	if md.Error != nil {
		problems = append(problems, "markers: "+*md.Error)
	}
	var enc []string
	for _, it := range md.Items {
		desc := it.Label
		if len(it.Fields) > 0 {
			desc += " (" + strings.Join(it.Fields, " ") + ")"
		}
		switch {
		case it.Problem != nil:
			desc += ": NOT fully, " + *it.Problem
		case it.Action == veil.ActionClear:
			continue
		}
		enc = append(enc, desc)
	}
	line("encryption", "%s", orNone(enc, "; "))
	return problems
}

func writeXMPAndMPF(line reportLine, md *metadataReport) {
	switch {
	case !md.HasXMP:
		line("XMP", "none")
	case md.HasXMPLocation:
		var loc []string
		for _, x := range md.XMP {
			loc = append(loc, x.Location...)
		}
		line("XMP", "present, location: %s", strings.Join(loc, " "))
	default:
		line("XMP", "present, no location")
	}
	if len(md.MPF) > 0 {
		line("MPF", "%d images", md.MPFImages)
	} else {
		line("MPF", "none")
	}
}

// writeEmbeddedItems lists every embedded item: pictures, the motion
// video, Samsung blocks.
func writeEmbeddedItems(line reportLine, md *metadataReport) {
	for _, it := range md.Items {
		switch it.Kind {
		case veil.KindThumbnail, veil.KindMPFImage, veil.KindContainerImage, veil.KindMotionVideo, veil.KindSEFBlock:
		default:
			continue
		}
		state := "protected"
		switch {
		case it.Problem != nil:
			state = "NOT protected: " + *it.Problem
		case it.Action == veil.ActionClear:
			state = "readable (no picture)"
		}
		line("embedded", "%s: %d bytes at byte %d, %s", it.Label, it.Length, it.Offset, state)
	}
}

func orNone(items []string, sep string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, sep)
}
