package veil

import (
	"bytes"
	"fmt"
	"slices"

	"jpegveil/exif"
)

// propType is how the value of a protected XMP property is encrypted
// (FORMAT.md §25).
type propType uint8

const (
	propText propType = iota
	propLatitude
	propLongitude
	propAltitude
	propAltitudeRef
	propTimeStamp
	propDateStamp
	propLatitudeRef
	propLongitudeRef
)

// xmpProperty reports whether the XMP property prefix:local is protected,
// and how: the location properties exif.ParseXMP lists, and under any
// prefix the local names of the Exif GPS fields that are encrypted
// (FORMAT.md §23).
func xmpProperty(qname []byte) (propType, bool) {
	i := bytes.IndexByte(qname, ':')
	if i <= 0 || i == len(qname)-1 {
		return 0, false
	}
	prefix, local := string(qname[:i]), string(qname[i+1:])
	switch local {
	case "GPSLatitude", "GPSDestLatitude":
		return propLatitude, true
	case "GPSLongitude", "GPSDestLongitude":
		return propLongitude, true
	case "GPSAltitude":
		return propAltitude, true
	case "GPSAltitudeRef":
		return propAltitudeRef, true
	case "GPSTimeStamp":
		return propTimeStamp, true
	case "GPSDateStamp":
		return propDateStamp, true
	case "GPSLatitudeRef", "GPSDestLatitudeRef":
		return propLatitudeRef, true
	case "GPSLongitudeRef", "GPSDestLongitudeRef":
		return propLongitudeRef, true
	case "GPSAreaInformation":
		return propText, true
	}
	return propText, exif.IsLocationProperty(prefix, local)
}

// xmpPlan is what the metadata transform does with one XMP packet.
type xmpPlan struct {
	els      []element
	fields   []string // protected properties found, as written
	problems []string
}

// maxXMPDepth bounds the element nesting the scan follows (real packets
// nest about ten deep); deeper markup ends the scan with a problem.
const maxXMPDepth = 256

// xmlElem is an open element of the scan.
type xmlElem struct {
	name  []byte
	prop  bool // a protected property
	typ   propType
	runs  []span // its character data (prop only)
	child bool   // it holds markup (prop only)
}

// planXMP finds the elements of the XMP packet p[start:] (FORMAT.md §25):
// the values of protected properties, in attribute form (the attribute
// value) or element form (the character data inside the element, nested
// elements included, except what belongs to a nested protected property).
// It reads only markup, which the transform never changes.
func planXMP(p []byte, start int) xmpPlan {
	sc := &xmpScanner{p: p, i: start}
	for sc.i < len(p) {
		if p[sc.i] != '<' {
			sc.text()
		} else {
			sc.markup()
		}
	}
	for k := range sc.stack {
		if sc.stack[k].prop {
			sc.finish(&sc.stack[k])
		}
	}
	slices.SortFunc(sc.pl.els, func(a, b element) int { return a.off - b.off })
	return sc.pl
}

// xmpScanner walks an XMP packet's markup once, from left to right.
type xmpScanner struct {
	p     []byte
	i     int // the next byte to read
	pl    xmpPlan
	stack []xmlElem
}

func (sc *xmpScanner) addField(name []byte) {
	if s := string(name); !slices.Contains(sc.pl.fields, s) {
		sc.pl.fields = append(sc.pl.fields, s)
	}
}

// innermost returns the index of the innermost open property, or -1.
func (sc *xmpScanner) innermost() int {
	for k := len(sc.stack) - 1; k >= 0; k-- {
		if sc.stack[k].prop {
			return k
		}
	}
	return -1
}

// finish plans the text of a closed property: typed when it is one run
// of a known type, as text otherwise.
func (sc *xmpScanner) finish(e *xmlElem) {
	sc.addField(e.name)
	if e.typ != propText && !e.child && len(e.runs) == 1 {
		if sc.pl.typed(sc.p, e.typ, e.runs[0], e.name) {
			return
		}
	}
	for _, r := range e.runs {
		sc.pl.els = textElements(sc.pl.els, sc.p, r.lo, r.hi, true, false)
	}
}

// text adds the character data up to the next '<' to the innermost
// property.
func (sc *xmpScanner) text() {
	j := bytes.IndexByte(sc.p[sc.i:], '<')
	if j < 0 {
		j = len(sc.p) - sc.i
	}
	if k := sc.innermost(); k >= 0 {
		sc.stack[k].runs = append(sc.stack[k].runs, span{sc.i, sc.i + j})
	}
	sc.i += j
}

func (sc *xmpScanner) skipTo(end string) {
	if j := bytes.Index(sc.p[sc.i:], []byte(end)); j >= 0 {
		sc.i += j + len(end)
	} else {
		sc.i = len(sc.p)
	}
}

// markup reads one tag, comment, CDATA section, processing instruction
// or declaration.
func (sc *xmpScanner) markup() {
	rest := sc.p[sc.i:]
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		sc.skipTo("-->")
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		if k := sc.innermost(); k >= 0 {
			sc.pl.problems = append(sc.pl.problems, string(sc.stack[k].name)+": CDATA section")
		}
		sc.skipTo("]]>")
	case bytes.HasPrefix(rest, []byte("<?")):
		sc.skipTo("?>")
	case bytes.HasPrefix(rest, []byte("<!")):
		sc.skipTo(">")
	case bytes.HasPrefix(rest, []byte("</")):
		sc.closeElement()
	default:
		sc.openElement()
	}
}

// closeElement closes the innermost open element of the end tag's name
// and every element inside it.
func (sc *xmpScanner) closeElement() {
	name := xmlName(sc.p, sc.i+2)
	sc.skipTo(">")
	for k := len(sc.stack) - 1; k >= 0; k-- {
		if bytes.Equal(sc.stack[k].name, name) {
			for len(sc.stack) > k {
				if e := &sc.stack[len(sc.stack)-1]; e.prop {
					sc.finish(e)
				}
				sc.stack = sc.stack[:len(sc.stack)-1]
			}
			return
		}
	}
}

func (sc *xmpScanner) openElement() {
	name := xmlName(sc.p, sc.i+1)
	end, closed := sc.pl.attributes(sc.p, sc.i+1+len(name), sc.addField)
	if k := sc.innermost(); k >= 0 {
		sc.stack[k].child = true
	}
	if typ, prop := xmpProperty(name); !closed && len(name) > 0 {
		if len(sc.stack) == maxXMPDepth {
			sc.pl.problems = append(sc.pl.problems, fmt.Sprintf("elements nested deeper than %d are not scanned", maxXMPDepth))
			sc.i = len(sc.p)
			return
		}
		sc.stack = append(sc.stack, xmlElem{name: name, prop: prop, typ: typ})
	} else if prop {
		sc.addField(name) // an empty property: nothing to encrypt
	}
	sc.i = max(end, sc.i+1)
}

// xmlName returns the XML name that starts at p[i].
func xmlName(p []byte, i int) []byte {
	j := i
	for j < len(p) && !isXMLSpace(p[j]) && p[j] != '>' && p[j] != '/' && p[j] != '=' && p[j] != '<' {
		j++
	}
	return p[i:j]
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// attributes reads the attributes of a start tag from p[i] and plans the
// values of protected ones. It returns the offset after the tag's '>' and
// whether the tag was empty ("/>"). A malformed tag ends at the next '>'.
func (pl *xmpPlan) attributes(p []byte, i int, addField func([]byte)) (int, bool) {
	for {
		for i < len(p) && isXMLSpace(p[i]) {
			i++
		}
		switch {
		case i >= len(p):
			return len(p), false
		case p[i] == '>':
			return i + 1, false
		case p[i] == '/' && i+1 < len(p) && p[i+1] == '>':
			return i + 2, true
		}
		name := xmlName(p, i)
		j := i + len(name)
		for j < len(p) && isXMLSpace(p[j]) {
			j++
		}
		if len(name) == 0 || j >= len(p) || p[j] != '=' {
			return skipTag(p, i), false
		}
		j++
		for j < len(p) && isXMLSpace(p[j]) {
			j++
		}
		if j >= len(p) || p[j] != '"' && p[j] != '\'' {
			return skipTag(p, i), false
		}
		q := p[j]
		k := bytes.IndexByte(p[j+1:], q)
		if k < 0 {
			return len(p), false
		}
		val := span{j + 1, j + 1 + k}
		if typ, ok := xmpProperty(name); ok {
			addField(name)
			if typ == propText || !pl.typed(p, typ, val, name) {
				pl.els = textElements(pl.els, p, val.lo, val.hi, true, false)
			}
		}
		i = val.hi + 1
	}
}

func skipTag(p []byte, i int) int {
	if j := bytes.IndexByte(p[i:], '>'); j >= 0 {
		return i + j + 1
	}
	return len(p)
}

// typed plans a value of a typed property in p[s.lo:s.hi] (white space
// around it ignored). It returns false when the value does not have the
// property's syntax (the caller then treats it as text); a value with the
// syntax but outside the encrypted range is a problem and left alone.
func (pl *xmpPlan) typed(p []byte, typ propType, s span, name []byte) bool {
	for s.lo < s.hi && isXMLSpace(p[s.lo]) {
		s.lo++
	}
	for s.hi > s.lo && isXMLSpace(p[s.hi-1]) {
		s.hi--
	}
	var els []element
	var ok bool
	var why string
	switch typ {
	case propLatitude:
		els, ok, why = xmpCoordinate(p, s, 90, 'N', 'S')
	case propLongitude:
		els, ok, why = xmpCoordinate(p, s, 180, 'E', 'W')
	case propAltitude:
		els, ok, why = xmpAltitude(p, s)
	case propAltitudeRef:
		els, ok, why = xmpRef(p, s, '0', '1')
	case propLatitudeRef:
		els, ok, why = xmpRef(p, s, 'N', 'S')
	case propLongitudeRef:
		els, ok, why = xmpRef(p, s, 'E', 'W')
	case propDateStamp:
		if ok = s.hi-s.lo == 10 && dateSyntax(p[s.lo:s.hi]); ok {
			if _, valid := parseDate(p[s.lo:s.hi], p[s.lo+4]); valid {
				els = []element{{kind: kindDate, off: s.lo, radix: dateDays}}
			} else {
				why = "the date is not a date of 1900–2099"
			}
		}
	case propTimeStamp:
		els, ok, why = xmpTimeStamp(p, s)
	}
	if !ok {
		return false
	}
	if why != "" {
		pl.problems = append(pl.problems, string(name)+": "+why)
		return true
	}
	pl.els = append(pl.els, els...)
	return true
}

// xmpRef plans a one-character value a or b. Its syntax is one character
// of a's class (upper-case letter or digit): another one of that class is
// a problem, anything else is text.
func xmpRef(p []byte, s span, a, b byte) ([]element, bool, string) {
	if s.hi-s.lo != 1 || charClass(p[s.lo]) != charClass(a) {
		return nil, false, ""
	}
	if c := p[s.lo]; c != a && c != b {
		return nil, true, fmt.Sprintf("%q is not %q or %q", c, a, b)
	}
	return []element{{kind: kindRef, off: s.lo, radix: 2, a: a, b: b}}, true, ""
}

// fixedASCII reports a printable ASCII byte that no text element holds.
func fixedASCII(c byte) bool { return c >= 0x20 && c <= 0x7E && charClass(c) == 0 }

// charClass is the text class of an ASCII byte: 'd' digit, 'u' upper-case,
// 'l' lower-case, 0 other.
func charClass(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return 'd'
	case c >= 'A' && c <= 'Z':
		return 'u'
	case c >= 'a' && c <= 'z':
		return 'l'
	}
	return 0
}

// dateSyntax reports "DDDD?DD?DD" with the same separator twice, an ASCII
// character that is neither a letter nor a digit (the text rule never
// changes one, so the syntax is the same in plaintext and ciphertext).
func dateSyntax(b []byte) bool {
	if len(b) != 10 || b[4] != b[7] || !fixedASCII(b[4]) {
		return false
	}
	for _, k := range []int{0, 1, 2, 3, 5, 6, 8, 9} {
		if charClass(b[k]) != 'd' {
			return false
		}
	}
	return true
}

// digitRun returns the end of the run of ASCII digits at p[i:hi].
func digitRun(p []byte, i, hi int) int {
	for i < hi && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	return i
}

// decimal reads digits ["." digits] at p[i:hi]: an element of kindDigits
// (value not yet checked), the offset after it, and whether it is there.
// Integer and fraction together have at most 18 digits.
func decimal(p []byte, i, hi int, fraction bool) (element, int, bool) {
	j := digitRun(p, i, hi)
	e := element{kind: kindDigits, off: i, width: j - i}
	if e.width == 0 {
		return e, i, false
	}
	if fraction && j+1 < hi && p[j] == '.' && p[j+1] >= '0' && p[j+1] <= '9' {
		k := digitRun(p, j+1, hi)
		e.frac = k - j - 1
		j = k
	}
	return e, j, e.width+e.frac <= 18
}

// xmpCoordinate plans "D,M[.m][,S[.s]]K" (XMP GPSCoordinate).
func xmpCoordinate(p []byte, s span, limit uint64, a, b byte) ([]element, bool, string) {
	deg, i, ok := decimal(p, s.lo, s.hi, false)
	if !ok || i >= s.hi || p[i] != ',' {
		return nil, false, ""
	}
	mins, i, ok := decimal(p, i+1, s.hi, true)
	if !ok {
		return nil, false, ""
	}
	els := []element{deg, mins}
	if i < s.hi && p[i] == ',' {
		var secs element
		if secs, i, ok = decimal(p, i+1, s.hi, true); !ok {
			return nil, false, ""
		}
		els = append(els, secs)
	}
	if i != s.hi-1 || p[i] < 'A' || p[i] > 'Z' {
		return nil, false, ""
	}
	if p[i] != a && p[i] != b {
		return nil, true, "direction is not " + string(a) + " or " + string(b)
	}
	var den, caps [3]uint64
	den[0] = 1
	for k := range els {
		den[k] = pow10(els[k].frac)
		caps[k] = pow10(els[k].width + els[k].frac)
	}
	if len(els) == 2 {
		den[2], caps[2] = 1, 1
	}
	r := sexagesimalRadices(limit, den, caps)
	for k := range els {
		els[k].radix = r[k]
		if els[k].load(p) >= r[k] {
			return nil, true, string(p[s.lo:s.hi]) + " is outside the encrypted range"
		}
	}
	return append(els, element{kind: kindRef, off: i, radix: 2, a: a, b: b}), true, ""
}

// xmpAltitude plans "N/D" (an XMP rational).
func xmpAltitude(p []byte, s span) ([]element, bool, string) {
	num, i, ok := decimal(p, s.lo, s.hi, false)
	if !ok || i >= s.hi || p[i] != '/' {
		return nil, false, ""
	}
	den, j, ok := decimal(p, i+1, s.hi, false)
	if !ok || j != s.hi {
		return nil, false, ""
	}
	d := den.load(p)
	if d == 0 {
		return nil, true, "the denominator is 0"
	}
	caps := [3]uint64{pow10(num.width)}
	num.radix = caps[0]
	if d <= caps[0]/maxAltitude {
		num.radix = maxAltitude * d
	}
	if num.load(p) >= num.radix {
		return nil, true, string(p[s.lo:s.hi]) + " m is outside the encrypted range"
	}
	return []element{num}, true, ""
}

// xmpTimeStamp plans "YYYY-MM-DD[Thh:mm[:ss[.s]]]" followed by an
// optional time zone, which stays. The syntax is checked first, by
// character classes that the text rule keeps ('T' and 'Z' as any upper-case
// letter), then the letters and ranges: a value with the syntax but another
// letter or a value out of range is a problem.
func xmpTimeStamp(p []byte, s span) ([]element, bool, string) {
	if s.hi-s.lo < 10 || !dateSyntax(p[s.lo:s.lo+10]) || p[s.lo+4] != '-' {
		return nil, false, ""
	}
	els := []element{{kind: kindDate, off: s.lo, radix: dateDays}}
	two := func(at int) bool { return at+2 <= s.hi && digitRun(p, at, at+2) == at+2 }
	i := s.lo + 10
	var tLetter, zLetter byte
	if i < s.hi && charClass(p[i]) == 'u' {
		tLetter = p[i]
		if !two(i+1) || i+3 >= s.hi || p[i+3] != ':' || !two(i+4) {
			return nil, false, ""
		}
		els = append(els,
			element{kind: kindDigits, off: i + 1, width: 2, radix: 24},
			element{kind: kindDigits, off: i + 4, width: 2, radix: 60})
		i += 6
		if i < s.hi && p[i] == ':' {
			if !two(i + 1) {
				return nil, false, ""
			}
			els = append(els, element{kind: kindDigits, off: i + 1, width: 2, radix: 60})
			i += 3
			if i+1 < s.hi && p[i] == '.' && charClass(p[i+1]) == 'd' {
				j := digitRun(p, i+1, s.hi)
				if j-i-1 > 18 {
					return nil, false, ""
				}
				els = append(els, element{kind: kindDigits, off: i + 1, width: j - i - 1, radix: pow10(j - i - 1)})
				i = j
			}
		}
	}
	if !zoneSyntax(p[i:s.hi]) {
		return nil, false, ""
	}
	if i+1 == s.hi {
		zLetter = p[i]
	}
	if tLetter != 0 && tLetter != 'T' || zLetter != 0 && zLetter != 'Z' {
		return nil, true, fmt.Sprintf("%q is not a time stamp", p[s.lo:s.hi])
	}
	if _, ok := parseDate(p[s.lo:s.lo+10], '-'); !ok {
		return nil, true, "the date is not a date of 1900–2099"
	}
	for _, e := range els[1:] {
		if e.load(p) >= e.radix {
			return nil, true, string(p[s.lo:s.hi]) + " is not a valid time"
		}
	}
	return els, true, ""
}

// zoneSyntax reports an empty string, one upper-case letter (the syntax of
// "Z") or "+DD:DD"/"-DD:DD".
func zoneSyntax(b []byte) bool {
	switch {
	case len(b) == 0, len(b) == 1 && charClass(b[0]) == 'u':
		return true
	case len(b) == 6 && (b[0] == '+' || b[0] == '-') && b[3] == ':':
		return charClass(b[1]) == 'd' && charClass(b[2]) == 'd' && charClass(b[4]) == 'd' && charClass(b[5]) == 'd'
	}
	return false
}
