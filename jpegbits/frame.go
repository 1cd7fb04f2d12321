package jpegbits

// component is one image component of a frame (T.81 B.2.2).
type component struct {
	id     byte
	h, v   int
	tq     byte
	bw, bh int // blocks of the component in a non-interleaved scan (T.81 A.2.2)
	// hist records, per block of a progressive frame, which AC coefficients
	// are already non-zero (bit k for coefficient k). It is derived from
	// symbols only, never from coefficient values (FORMAT.md, "Progressive
	// history"), so it is the same for plaintext and ciphertext.
	hist []uint64
}

// frame is the frame header (SOF0, SOF1 or SOF2) of the current image.
type frame struct {
	marker      byte
	progressive bool
	width       int
	height      int
	comps       []component
	hmax, vmax  int
	mcusX       int
	mcusY       int
}

// maxProgressiveBlocks bounds the progressive history (8 bytes per block)
// of all the progressive frames of a file together (WorkBudget)
// so that a hostile header cannot make the parser allocate more than 128 MiB.
// It admits frames of about 700 megapixels in 4:2:0 sampling.
const maxProgressiveBlocks = 1 << 24

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// parseSOF reads a frame header (T.81 B.2.2). seg is the whole segment,
// starting with the marker.
func (t *Transformer) parseSOF(seg []byte, off int64) error {
	p := seg[4:]
	if len(p) < 6 {
		return &FormatError{Offset: off, Reason: "SOF segment too short"}
	}
	if p[0] != 8 {
		return &UnsupportedError{Offset: off, Feature: "sample precision other than 8 bits"}
	}
	f := &frame{marker: seg[1], progressive: seg[1] == 0xC2}
	f.height = int(p[1])<<8 | int(p[2])
	f.width = int(p[3])<<8 | int(p[4])
	n := int(p[5])
	if f.width == 0 {
		return &FormatError{Offset: off, Reason: "frame width is zero"}
	}
	if f.height == 0 {
		return &UnsupportedError{Offset: off, Feature: "frame height defined by a DNL marker"}
	}
	if n == 0 {
		return &FormatError{Offset: off, Reason: "frame has no components"}
	}
	if n > 4 {
		return &UnsupportedError{Offset: off, Feature: "more than 4 components"}
	}
	if len(p) != 6+3*n {
		return &FormatError{Offset: off, Reason: "SOF segment length does not match its component count"}
	}
	f.comps = make([]component, n)
	for i := range f.comps {
		c := &f.comps[i]
		q := p[6+3*i:]
		c.id, c.h, c.v, c.tq = q[0], int(q[1]>>4), int(q[1]&15), q[2]
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return &FormatError{Offset: off, Reason: "invalid sampling factor"}
		}
		if c.tq > 3 {
			return &FormatError{Offset: off, Reason: "invalid quantization table selector"}
		}
		for j := 0; j < i; j++ {
			if f.comps[j].id == c.id {
				return &FormatError{Offset: off, Reason: "repeated component identifier"}
			}
		}
		f.hmax = max(f.hmax, c.h)
		f.vmax = max(f.vmax, c.v)
	}
	f.mcusX = ceilDiv(f.width, 8*f.hmax)
	f.mcusY = ceilDiv(f.height, 8*f.vmax)
	total := 0
	for i := range f.comps {
		c := &f.comps[i]
		c.bw = ceilDiv(ceilDiv(f.width*c.h, f.hmax), 8)
		c.bh = ceilDiv(ceilDiv(f.height*c.v, f.vmax), 8)
		total += c.bw * c.bh
	}
	if f.progressive {
		if t.budget.progressiveBlocks+int64(total) > maxProgressiveBlocks {
			return &UnsupportedError{Offset: off, Feature: "progressive frames of more than 2^24 blocks in one file"}
		}
		t.budget.progressiveBlocks += int64(total)
	}
	t.frame = f
	st := &t.stats
	st.Frame, st.Width, st.Height, st.Components = markerName(f.marker), f.width, f.height, n
	for _, c := range f.comps {
		st.Sampling = append(st.Sampling, itoa(c.h)+"x"+itoa(c.v))
	}
	return nil
}

// parseDHT reads a Huffman table segment (T.81 B.2.4.2), which may define
// several tables.
func (t *Transformer) parseDHT(seg []byte, off int64) error {
	p := seg[4:]
	for len(p) > 0 {
		if len(p) < 17 {
			return &FormatError{Offset: off, Reason: "DHT segment too short"}
		}
		tc, th := p[0]>>4, p[0]&15
		if tc > 1 || th > 3 {
			return &FormatError{Offset: off, Reason: "invalid Huffman table class or destination"}
		}
		var counts [16]byte
		copy(counts[:], p[1:17])
		n := 0
		for _, c := range counts {
			n += int(c)
		}
		if n > 256 || len(p) < 17+n {
			return &FormatError{Offset: off, Reason: "invalid Huffman table length"}
		}
		t.huff[tc][th].build(&counts, p[17:17+n])
		if tc == 1 && t.huff[tc][th].invalid == "" {
			t.huff[tc][th].buildSeq()
		}
		p = p[17+n:]
	}
	return nil
}

// parseDRI reads the restart interval (T.81 B.2.4.4).
func (t *Transformer) parseDRI(seg []byte, off int64) error {
	if len(seg) != 6 {
		return &FormatError{Offset: off, Reason: "DRI segment length is not 4"}
	}
	t.restartInterval = int(seg[4])<<8 | int(seg[5])
	t.stats.Restart = t.restartInterval
	return nil
}
