package jpegbits

// ScanKind classifies a scan by its coding process (T.81 Annex F, G).
type ScanKind uint8

const (
	Sequential ScanKind = iota
	DCFirst
	DCRefine
	ACFirst
	ACRefine
	numScanKinds
)

func (k ScanKind) String() string {
	return [...]string{"sequential", "dc-first", "dc-refine", "ac-first", "ac-refine", "?"}[min(int(k), int(numScanKinds))]
}

type scanComp struct {
	c      *component
	dc, ac *huffman
}

// scanHeader is a parsed and validated SOS segment (T.81 B.2.3).
type scanHeader struct {
	kind           ScanKind
	comps          []scanComp
	ss, se, ah, al int
	mcus           int // MCUs in the scan
	blocksPerMCU   int
}

// parseSOS reads and validates a scan header. Every problem here is located
// at the SOS marker: the scan is not parsed and the stop rule applies from
// there (FORMAT.md, "Errors").
func (t *Transformer) parseSOS(seg []byte, off int64) (*scanHeader, error) {
	bad := func(reason string) (*scanHeader, error) {
		return nil, &FormatError{Offset: off, Reason: reason}
	}
	f := t.frame
	if f == nil {
		return bad("SOS before any frame header")
	}
	p := seg[4:]
	if len(p) < 1 {
		return bad("SOS segment too short")
	}
	ns := int(p[0])
	if ns < 1 || ns > 4 {
		return bad("scan component count outside 1..4")
	}
	if len(p) != 4+2*ns {
		return bad("SOS segment length does not match its component count")
	}
	s := &scanHeader{comps: make([]scanComp, ns)}
	if reason := t.scanComponents(s, p); reason != "" {
		return bad(reason)
	}
	q := p[1+2*ns:]
	s.ss, s.se, s.ah, s.al = int(q[0]), int(q[1]), int(q[2]>>4), int(q[2]&15)
	needDC, needAC, reason := s.classify(f.progressive)
	if reason == "" {
		reason = s.checkTables(needDC, needAC)
	}
	if reason == "" {
		reason = s.geometry(f)
	}
	if reason != "" {
		return bad(reason)
	}
	if s.kind == ACFirst || s.kind == ACRefine {
		c := s.comps[0].c
		if c.hist == nil {
			c.hist = make([]uint64, c.bw*c.bh)
		}
	}
	return s, nil
}

// scanComponents resolves the scan's component selectors against the
// frame and its table selectors against the Huffman tables (T.81 B.2.3).
func (t *Transformer) scanComponents(s *scanHeader, p []byte) (reason string) {
	f := t.frame
	for i := range s.comps {
		id, td, ta := p[1+2*i], int(p[2+2*i]>>4), int(p[2+2*i]&15)
		var c *component
		for j := range f.comps {
			if f.comps[j].id == id {
				c = &f.comps[j]
			}
		}
		if c == nil {
			return "scan component not in frame"
		}
		for j := 0; j < i; j++ {
			if s.comps[j].c == c {
				return "scan component repeated"
			}
		}
		if td > 3 || ta > 3 {
			return "invalid Huffman table selector"
		}
		s.comps[i] = scanComp{c: c, dc: &t.huff[0][td], ac: &t.huff[1][ta]}
	}
	return ""
}

// classify sets the scan's kind and says which tables it codes with.
func (s *scanHeader) classify(progressive bool) (needDC, needAC bool, reason string) {
	if !progressive {
		s.kind = Sequential
		return true, true, ""
	}
	// T.81 G.1.1.1: a DC scan codes only coefficient 0; an AC scan codes
	// one band of one component; successive approximation lowers the
	// point transform by one each time.
	if s.ss == 0 {
		if s.se != 0 {
			return false, false, "progressive DC scan with Se other than 0"
		}
	} else if s.se < s.ss || s.se > 63 || len(s.comps) != 1 {
		return false, false, "invalid progressive AC scan band"
	}
	if s.al > 13 || s.ah > 13 || (s.ah != 0 && s.al != s.ah-1) {
		return false, false, "invalid successive approximation"
	}
	switch {
	case s.ss == 0 && s.ah == 0:
		s.kind, needDC = DCFirst, true
	case s.ss == 0:
		s.kind = DCRefine
	case s.ah == 0:
		s.kind, needAC = ACFirst, true
	default:
		s.kind, needAC = ACRefine, true
	}
	return needDC, needAC, ""
}

// checkTables refuses a scan that codes with an undefined or invalid
// Huffman table.
func (s *scanHeader) checkTables(needDC, needAC bool) (reason string) {
	for _, sc := range s.comps {
		for _, h := range []struct {
			need bool
			tab  *huffman
		}{{needDC, sc.dc}, {needAC, sc.ac}} {
			if !h.need {
				continue
			}
			switch {
			case !h.tab.defined:
				return "scan uses an undefined Huffman table"
			case h.tab.invalid != "":
				return h.tab.invalid
			}
		}
		if needDC && sc.dc.maxSym > 15 {
			return "DC Huffman table has a symbol above 15"
		}
	}
	return ""
}

// geometry counts the scan's MCUs and blocks per MCU (T.81 A.2).
func (s *scanHeader) geometry(f *frame) (reason string) {
	if len(s.comps) == 1 {
		c := s.comps[0].c
		s.mcus, s.blocksPerMCU = c.bw*c.bh, 1
		return ""
	}
	s.mcus = f.mcusX * f.mcusY
	for _, sc := range s.comps {
		s.blocksPerMCU += sc.c.h * sc.c.v
	}
	if s.blocksPerMCU > 10 {
		return "more than 10 blocks per MCU"
	}
	return ""
}
