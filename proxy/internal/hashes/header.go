package hashes

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
)

// Header describes a request header that carries hashes of the upload: a
// single digest of Alg, or, when Labels is set, a list of labelled digests
// ("md5=…,crc32c=…", "SHA1:… MD5:…").
type Header struct {
	// Name is the header's canonical name.
	Name string
	// Display names the header in parse errors, when not Name.
	Display string
	// Alg is the algorithm of a single digest; the header may be given
	// only once.
	Alg Alg
	// Labels maps each label, compared case-insensitively, to its
	// algorithm. ItemSep separates the items (" ": any white space, and
	// several headers are joined with a space; otherwise with ItemSep),
	// LabelSep a label from its digest, and Unknown names a label in the
	// error for one not in Labels ("hash", "checksum type").
	Labels            map[string]Alg
	ItemSep, LabelSep string
	Unknown           string
	// Hex and Base64 say which encodings of a digest are accepted; the
	// rewritten header keeps the encoding the client used.
	Hex, Base64 bool
	// BodyFirst matches the header against the whole request body before
	// the file (for a multipart form they differ); others go file first.
	BodyFirst bool
}

// ContentMD5 is RFC 1864's Content-MD5: the request body as sent, so for a
// multipart form the whole form. Base64 (hex is accepted and kept).
var ContentMD5 = Header{Name: "Content-MD5", Alg: MD5, Hex: true, Base64: true, BodyFirst: true}

// refused carry hashes that are not recomputed (RFC 3230, RFC 9530):
// uploads that carry them are refused.
var refused = []string{"Digest", "Content-Digest", "Repr-Digest"}

func (h *Header) display() string {
	if h.Display != "" {
		return h.Display
	}
	return h.Name
}

// value is one digest in a hash header.
type value struct {
	alg    Alg
	label  string // as the client wrote it: "md5" of "md5=…", "SHA1" of "SHA1:…"
	enc    encoding
	digest []byte
}

// Found is a hash header present on a request, parsed.
type Found struct {
	h      *Header
	values []value
}

// Name is the header's canonical name.
func (f Found) Name() string { return f.h.Name }

// Parser finds the hash headers of a request among those it knows.
type Parser struct{ headers []Header }

// NewParser returns a Parser for headers, tried in order.
func NewParser(headers ...Header) *Parser { return &Parser{headers: headers} }

// Names returns the name of every header the parser knows, those it
// refuses included.
func (p *Parser) Names() []string {
	var names []string
	for _, h := range p.headers {
		names = append(names, h.Name)
	}
	return append(names, refused...)
}

// Parse finds the headers of h that carry a hash of the upload. An error
// means a header that cannot be handled: the upload is refused.
func (p *Parser) Parse(h http.Header) ([]Found, error) {
	for _, name := range refused {
		if len(h.Values(name)) > 0 {
			return nil, fmt.Errorf("the upload carries a %s header, a hash of the plaintext that jpegveil does not recompute", name)
		}
	}
	var out []Found
	for i := range p.headers {
		hd := &p.headers[i]
		vs := h.Values(hd.Name)
		if len(vs) == 0 {
			continue
		}
		f, err := hd.parse(vs)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (h *Header) parse(vs []string) (Found, error) {
	f := Found{h: h}
	if h.Labels == nil {
		if len(vs) > 1 {
			return f, fmt.Errorf("the upload carries several %s headers", h.display())
		}
		d, enc, err := decode(vs[0], sizes[h.Alg], h.Hex, h.Base64)
		if err != nil {
			return f, fmt.Errorf("%s: %w", h.display(), err)
		}
		f.values = []value{{alg: h.Alg, enc: enc, digest: d}}
		return f, nil
	}
	for _, item := range h.items(vs) {
		label, val, ok := strings.Cut(item, h.LabelSep)
		alg, known := h.alg(label)
		if !known {
			return f, fmt.Errorf("%s: unsupported %s %q", h.display(), h.Unknown, label)
		}
		if !ok {
			return f, fmt.Errorf("%s: %q has no value", h.display(), item)
		}
		d, enc, err := decode(val, sizes[alg], h.Hex, h.Base64)
		if err != nil {
			return f, fmt.Errorf("%s: %w", h.display(), err)
		}
		f.values = append(f.values, value{alg: alg, label: strings.TrimSpace(label), enc: enc, digest: d})
	}
	return f, nil
}

// items splits the header's values into its labelled items.
func (h *Header) items(vs []string) []string {
	if h.ItemSep == " " {
		return strings.Fields(strings.Join(vs, " "))
	}
	var items []string
	for _, item := range strings.Split(strings.Join(vs, h.ItemSep), h.ItemSep) {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func (h *Header) alg(label string) (Alg, bool) {
	label = strings.TrimSpace(label)
	for l, a := range h.Labels {
		if strings.EqualFold(l, label) {
			return a, true
		}
	}
	return 0, false
}

// Algs returns the algorithms the found headers use.
func Algs(found []Found) []Alg {
	var seen [numAlgs]bool
	var algs []Alg
	for _, f := range found {
		for _, v := range f.values {
			if !seen[v.alg] {
				seen[v.alg] = true
				algs = append(algs, v.alg)
			}
		}
	}
	return algs
}

// Span is a span of the upload a hash header may cover: its digests as the
// client sent it and as it goes upstream. What names it in errors
// ("request body", "file", "chunk").
type Span struct {
	What          string
	Plain, Cipher Digests
}

// Rewrite replaces every found header in h by the hash of the span of the
// output that its value covers in the input. body is the request body (or
// chunk) as the client sent it and as it goes upstream; file the photo
// alone (nil when the request does not complete it). A value that matches
// no span is an error: what it covers cannot be told.
func Rewrite(h http.Header, found []Found, body, file *Span) error {
	for _, f := range found {
		spans := []*Span{file, body}
		if f.h.BodyFirst {
			spans = []*Span{body, file}
		}
		var parts []string
		for _, v := range f.values {
			span := matching(spans, v)
			if span == nil {
				var what []string
				for _, sp := range spans {
					if sp != nil {
						what = append(what, "the "+sp.What)
					}
				}
				return fmt.Errorf("the %s header does not match %s the client sent, so jpegveil cannot tell what it covers", f.h.Name, strings.Join(what, " or "))
			}
			enc := v.enc.encode(span.Cipher[v.alg])
			if f.h.Labels != nil {
				enc = v.label + f.h.LabelSep + enc
			}
			parts = append(parts, enc)
		}
		h.Set(f.h.Name, strings.Join(parts, f.h.ItemSep))
	}
	return nil
}

func matching(spans []*Span, v value) *Span {
	for _, sp := range spans {
		if sp != nil && bytes.Equal(sp.Plain[v.alg], v.digest) {
			return sp
		}
	}
	return nil
}
