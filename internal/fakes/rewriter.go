package fakes

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"strings"
	"testing"
	"time"

	"jpegveil/exif"
	"jpegveil/internal/phonefiles"
)

// Rewrites a service makes to the metadata of the files it serves. Google
// Photos' original download (=d) is known to strip or rewrite Exif, and
// services that split a motion photo serve the still without its video.
const (
	RewriteNone          = ""
	RewriteStripAPP1     = "strip-app1"     // every APP1 segment (Exif, XMP) of the primary image dropped
	RewriteExif          = "rewrite-exif"   // Exif written anew with two more tags: the GPS IFD and the thumbnail move
	RewriteDropThumbnail = "drop-thumbnail" // Exif written anew without IFD1 and its thumbnail
	RewriteTruncate      = "truncate-trailer"
	RewriteStillOnly     = "still-only" // the file cut at the primary image's EOI
)

// Rewrites lists the rewrites Rewriter knows.
var Rewrites = []string{RewriteStripAPP1, RewriteExif, RewriteDropThumbnail, RewriteTruncate, RewriteStillOnly}

// Rewriter is Photos whose downloads change the file's metadata on the
// way down: GET /objects/{id}?rewrite=<one of Rewrites> serves the stored
// file rewritten (with Range support over the rewritten bytes, and an ETag
// of them); without the parameter, as stored.
type Rewriter struct {
	*Photos
}

// NewRewriter starts the service as photos.test.
func NewRewriter(t testing.TB) *Rewriter {
	f := &Rewriter{Photos: &Photos{Objects: map[string][]byte{}}}
	f.Srv, f.CAFile = NewTLSServer(t, "photos.test", http.HandlerFunc(f.handle))
	return f
}

func (f *Rewriter) handle(w http.ResponseWriter, r *http.Request) {
	mode := r.URL.Query().Get("rewrite")
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/objects/") || mode == "" {
		f.Photos.Handler(w, r)
		return
	}
	f.Mu.Lock()
	b, ok := f.Objects[strings.TrimPrefix(r.URL.Path, "/objects/")]
	f.Mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	out, ok := Rewrite(b, mode)
	if !ok {
		http.Error(w, "cannot rewrite this file", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("ETag", `"`+mode+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(out))
}

// Rewrite applies a rewrite to a JPEG file; ok is false when the file's
// structure is not what the rewrite needs.
func Rewrite(f []byte, mode string) (out []byte, ok bool) {
	segs, end, ok := primaryLayout(f)
	if !ok {
		return nil, false
	}
	switch mode {
	case RewriteNone:
		return f, true
	case RewriteStripAPP1:
		return replaceSegments(f, segs, func(s segment) ([]byte, bool) { return nil, s.marker == 0xE1 }), true
	case RewriteExif, RewriteDropThumbnail:
		return replaceSegments(f, segs, func(s segment) ([]byte, bool) {
			if s.marker != 0xE1 || !bytes.HasPrefix(f[s.start+4:s.end], []byte(exif.Header)) {
				return nil, false
			}
			x, ok := rewrittenExif(f[s.start+4:s.end], mode == RewriteDropThumbnail)
			if !ok {
				return f[s.start:s.end], true
			}
			return phonefiles.Segment(0xE1, x.APP1()), true
		}), true
	case RewriteTruncate:
		return f[:end+(len(f)-end)/2], true
	case RewriteStillOnly:
		return f[:end], true
	}
	return nil, false
}

// rewrittenExif reads an APP1 Exif payload into the fields of its IFDs, as
// a service that writes Exif anew does, and adds a Software tag (or drops
// the thumbnail).
func rewrittenExif(payload []byte, dropThumbnail bool) (phonefiles.Exif, bool) {
	x, err := exif.Parse(payload)
	if x == nil || err != nil {
		return phonefiles.Exif{}, false
	}
	var o phonefiles.Order = binary.LittleEndian
	if x.BigEndian() {
		o = binary.BigEndian
	}
	fields := func(d *exif.IFD) []phonefiles.Field {
		var out []phonefiles.Field
		if d == nil {
			return nil
		}
		for _, e := range d.Entries {
			switch e.Tag {
			case exif.TagExifIFD, exif.TagGPSIFD, exif.TagJPEGInterchangeFormat, exif.TagJPEGInterchangeFormatLength:
				continue // pointers, written anew
			}
			v := x.Value(e)
			if v == nil {
				return nil
			}
			out = append(out, phonefiles.Field{Tag: e.Tag, Type: uint16(e.Type), Count: e.Count, Value: append([]byte(nil), v...)})
		}
		return out
	}
	nx := phonefiles.Exif{Order: o, IFD0: fields(x.IFD0), ExifIFD: fields(x.ExifIFD), GPS: fields(x.GPS), IFD1: fields(x.IFD1)}
	if th := x.Thumbnail; th != nil && !dropThumbnail {
		nx.Thumbnail = append([]byte(nil), payload[th.Offset:th.Offset+th.Length]...)
	}
	if !dropThumbnail {
		// A Software tag, and an OffsetTimeOriginal in the Exif IFD,
		// which is written before the GPS IFD and the thumbnail: they
		// move.
		nx.IFD0 = append(nx.IFD0, phonefiles.ASCII(0x0131, "Photos service 1.0 (metadata rewritten)"))
		nx.ExifIFD = append(nx.ExifIFD, phonefiles.ASCII(0x9011, "+01:00"))
	}
	return nx, true
}

// segment is a marker segment of the primary image before its first SOS:
// bytes [start, end), marker included.
type segment struct {
	marker     byte
	start, end int
}

// primaryLayout walks the primary image of a JPEG file: its marker
// segments up to the first SOS, and the offset just past its EOI.
func primaryLayout(f []byte) (segs []segment, end int, ok bool) {
	if len(f) < 4 || f[0] != 0xFF || f[1] != 0xD8 {
		return nil, 0, false
	}
	pos, scanning, sos := 2, false, false
	for pos+1 < len(f) {
		if scanning {
			// Entropy-coded data: a marker is 0xFF followed by anything
			// but a stuffed 0x00, a restart marker or fill.
			if f[pos] != 0xFF || f[pos+1] == 0x00 || f[pos+1] == 0xFF || f[pos+1] >= 0xD0 && f[pos+1] <= 0xD7 {
				pos++
				continue
			}
			scanning = false
		}
		if f[pos] != 0xFF {
			return nil, 0, false
		}
		m := f[pos+1]
		if m == 0xD9 {
			return segs, pos + 2, true
		}
		if pos+4 > len(f) {
			return nil, 0, false
		}
		n := int(f[pos+2])<<8 | int(f[pos+3])
		if pos+2+n > len(f) {
			return nil, 0, false
		}
		if !sos {
			segs = append(segs, segment{m, pos, pos + 2 + n})
		}
		if m == 0xDA {
			scanning, sos = true, true
		}
		pos += 2 + n
	}
	return nil, 0, false
}

// replaceSegments rewrites the segments before the first SOS: where with
// returns replace, the segment becomes its bytes (nil: dropped).
func replaceSegments(f []byte, segs []segment, with func(segment) ([]byte, bool)) []byte {
	out := append([]byte(nil), f[:2]...)
	pos := 2
	for _, s := range segs {
		out = append(out, f[pos:s.start]...)
		if b, replace := with(s); replace {
			out = append(out, b...)
		} else {
			out = append(out, f[s.start:s.end]...)
		}
		pos = s.end
	}
	return append(out, f[pos:]...)
}

// PrimaryImage returns the bytes of a file's primary image that are not
// metadata: its marker segments but APPn and COM, and its entropy-coded
// data, up to its EOI. Services may rewrite everything else.
func PrimaryImage(f []byte) []byte {
	segs, end, ok := primaryLayout(f)
	if !ok {
		return nil
	}
	var out []byte
	pos := 2
	for _, s := range segs {
		if s.marker >= 0xE0 && s.marker <= 0xEF || s.marker == 0xFE {
			pos = s.end
			continue
		}
		out = append(out, f[pos:s.end]...)
		pos = s.end
	}
	return append(out, f[pos:end]...)
}
