package jpegbits

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

type scanPhase uint8

const (
	inMCUs        scanPhase = iota // parsing the MCUs of an interval
	atIntervalEnd                  // padded; waiting for the RSTn marker
	atScanEnd                      // all MCUs parsed; waiting for the end of the ECS
)

type rstEvent struct {
	dataIndex int64 // data index of the first byte after the marker
	n         int   // the marker's number, 0..7
}

// scanState is the parser state of the current scan. Data indexes count the
// bytes of the unstuffed scan data from its start; d holds those from dOff.
type scanState struct {
	hdr   *scanHeader
	phase scanPhase
	stats ScanStats

	// d is the unstuffed scan data, cm marks its candidate (C) bits, xm its
	// structural and padding (S, P) bits, dm the final mask of each byte
	// below fin. All four are indexed alike and kept dataPad bytes longer
	// than dLen, zero there.
	d, cm, xm, dm []byte
	dOff          int64
	dLen          int
	pos           uint // bit position in d of the next element
	limit         uint // bit position in d where the current interval's data ends, as far as known
	fin           int64

	ecsStart   int64 // file offset of the first byte after the SOS segment
	afterFF    bool  // the SOS segment's last byte is 0xFF
	scanRead   int64 // file offset of the next byte to unstuff
	ecsEnded   bool
	ecsEndData int64
	ecsEndFile int64 // file offset of the marker (or its first fill byte) that ends the ECS
	rsts       []rstEvent

	mcu, intervalLeft int
	eobrun            int
	nextRST           int

	// blocks lists the tables of each block of a sequential MCU, in order
	// (T.81 A.2.3).
	blocks  seqBlocks
	nBlocks int

	// rec records the scan's DC elements and data runs (RecordDC), nil
	// when it is not the first scan or nothing is recorded.
	rec *dcRecorder
	// starts are where sequentialMCUFast found each block of its MCU to
	// start, relative to the MCU's first byte: the recording reads the
	// DC elements back from them (recordFast).
	starts [len(seqBlocks{})]uint

	// The chunk walk assigns masks to file bytes: walkFile is the next file
	// byte, walkData the next data index, walkFF whether the previous file
	// byte was an 0xFF of the ECS.
	chunkStart int64
	walkFile   int64
	walkData   int64
	walkFF     bool
	runStart   int64 // file offset of the first FF of the current run
}

type seqBlock struct{ dc, ac *huffman }

// seqBlocks are the blocks of a sequential MCU: at most 10 (T.81 B.2.3).
type seqBlocks [10]seqBlock

// steadyScanSize is the scan data a transformer reading a large file holds:
// a full read buffer and the data the chunk walk has not passed yet,
// which lags the parser by about lookahead.
const steadyScanSize = 2*readSize + 2*lookahead

// dataPad is the number of zero bytes kept readable past the scan data in
// d, cm, xm and dm: the bit readers read up to 16 bytes past the byte of
// their position (and storeC writes 8), which may stand up to 31 bits past
// the data's end when an element overruns it.
const dataPad = 32

func (t *Transformer) startScan(h *scanHeader) {
	s := &t.scan
	ri := t.restartInterval
	if ri == 0 || ri > h.mcus {
		ri = h.mcus
	}
	clear(s.cm)
	clear(s.xm)
	clear(s.d)
	*s = scanState{
		hdr: h, d: s.d, cm: s.cm, xm: s.xm, dm: s.dm, rsts: s.rsts[:0],
		stats:        ScanStats{Kind: h.kind, Components: len(h.comps), Intervals: 1},
		ecsStart:     t.cur,
		afterFF:      t.buf[t.cur-1-t.bufOff] == 0xFF,
		scanRead:     t.cur,
		chunkStart:   t.cur,
		walkFile:     t.cur,
		intervalLeft: ri,
	}
	if t.dcScans++; t.dcScans == 1 && t.dc != nil && (h.kind == Sequential || h.kind == DCFirst) {
		s.rec = t.dc
		s.rec.start(h.mcus*h.blocksPerMCU, h.kind == DCFirst)
	}
	if s.d == nil {
		// When the input read so far did not fill the read buffer, it is
		// likely all of a small file: size the scan buffers for it alone.
		// Otherwise they need to hold what the read buffer holds plus
		// the data the chunk walk has not passed yet, which lags the
		// parser by about lookahead. grow enlarges them if need be; this
		// only saves memory, and the time to clear it.
		n := len(t.buf) - int(t.cur-t.bufOff)
		if len(t.buf) == cap(t.buf) {
			n = steadyScanSize
		}
		s.grow(n)
	}
	if h.kind == Sequential {
		for _, sc := range h.comps {
			for n := blocksOf(h, sc); n > 0; n-- {
				s.blocks[s.nBlocks] = seqBlock{sc.dc, sc.ac}
				s.nBlocks++
			}
		}
	}
	t.phase = phaseScan
}

// grow makes room for n more data bytes, first by dropping the data the
// chunk walk has passed, then by allocating.
func (s *scanState) grow(n int) {
	if s.dLen+n+dataPad <= len(s.d) {
		return
	}
	drop := int(s.walkData - s.dOff)
	keep := s.dLen - drop
	if keep+n+dataPad <= len(s.d) {
		for _, m := range [][]byte{s.d, s.cm, s.xm, s.dm} {
			copy(m, m[drop:s.dLen+dataPad])
			clear(m[keep+dataPad : s.dLen+dataPad])
		}
	} else {
		size := keep + n + dataPad
		if s.d != nil {
			// Grow to what a full read buffer needs (startScan), so
			// that a transform fed in small pieces at first keeps the
			// size a full one has; past that, double.
			size = max(size, steadyScanSize+dataPad)
			if len(s.d) >= steadyScanSize {
				size = max(size, 2*len(s.d))
			}
		}
		for _, m := range []*[]byte{&s.d, &s.cm, &s.xm, &s.dm} {
			nm := make([]byte, size)
			if *m != nil {
				copy(nm, (*m)[drop:s.dLen])
			}
			*m = nm
		}
	}
	s.dOff += int64(drop)
	s.dLen = keep
	s.pos -= uint(drop) * 8
}

// unstuff moves buffered ECS bytes into the scan data (T.81 B.1.1.5, F.1.2.3):
// FF (FF)* 00 is one data byte 0xFF, FF (FF)* D0..D7 is RSTn, and any other
// FF xx, or an FF at the end of the input, ends the ECS at its first FF.
// This is one of the two places that know about byte stuffing; the chunk
// walk is the other.
func (t *Transformer) unstuff() {
	s := &t.scan
	if s.ecsEnded {
		return
	}
	b := t.buf
	i, n := int(s.scanRead-t.bufOff), len(b)
	if i < n {
		s.grow(n - i)
	}
	d := s.d
	for i < n {
		j := n
		if k := bytes.IndexByte(b[i:], 0xFF); k >= 0 {
			j = i + k
		}
		s.dLen += copy(d[s.dLen:], b[i:j])
		i = j
		if i == n {
			break
		}
		k := i + 1
		for k < n && b[k] == 0xFF {
			k++
		}
		if k == n {
			if t.eof {
				t.endECS(i)
			}
			break
		}
		switch m := b[k]; {
		case m == 0:
			d[s.dLen] = 0xFF
			s.dLen++
			i = k + 1
		case m >= 0xD0 && m <= 0xD7:
			s.rsts = append(s.rsts, rstEvent{dataIndex: s.dOff + int64(s.dLen), n: int(m - 0xD0)})
			i = k + 1
		default:
			t.endECS(i)
			return
		}
	}
	s.scanRead = t.bufOff + int64(i)
	if i == n && t.eof {
		t.endECS(n)
	}
}

// skimScan looks for the end of the ECS without parsing the scan (Skim):
// its bytes, from the last chunk handed to the Keystream on, pass unchanged.
// It reports whether it needs more input.
func (t *Transformer) skimScan() bool {
	s := &t.scan
	if !s.ecsEnded {
		t.skimECS()
	}
	if !s.ecsEnded {
		t.ready = s.scanRead
		return true
	}
	t.cur, t.ready, t.phase = s.ecsEndFile, s.ecsEndFile, phaseMarkers
	return false
}

// skimECS is unstuff without the scan data: it follows the FF runs of the
// buffered ECS bytes to the marker that ends it.
func (t *Transformer) skimECS() {
	s := &t.scan
	b := t.buf
	i, n := int(s.scanRead-t.bufOff), len(b)
	for i < n {
		k := bytes.IndexByte(b[i:], 0xFF)
		if k < 0 {
			i = n
			break
		}
		i += k
		k = i + 1
		for k < n && b[k] == 0xFF {
			k++
		}
		if k == n {
			if t.eof {
				t.endECS(i)
				return
			}
			break
		}
		if m := b[k]; m != 0 && (m < 0xD0 || m > 0xD7) {
			t.endECS(i)
			return
		}
		i = k + 1
	}
	s.scanRead = t.bufOff + int64(i)
	if i == n && t.eof {
		t.endECS(n)
	}
}

func (t *Transformer) endECS(i int) {
	s := &t.scan
	s.scanRead = t.bufOff + int64(i)
	s.ecsEnded = true
	s.ecsEndFile = s.scanRead
	s.ecsEndData = s.dOff + int64(s.dLen)
}

// endKnown reports whether the current interval's data is known to its end.
func (s *scanState) endKnown() bool { return s.ecsEnded || len(s.rsts) > 0 }

func (s *scanState) setLimit() {
	switch {
	case len(s.rsts) > 0:
		s.limit = uint(s.rsts[0].dataIndex-s.dOff) * 8
	case s.ecsEnded:
		s.limit = uint(s.ecsEndData-s.dOff) * 8
	default:
		s.limit = uint(s.dLen) * 8
	}
}

// advanceScan parses the scan as far as the buffered input allows.
func (t *Transformer) advanceScan() bool {
	s := &t.scan
	for {
		if t.skim {
			return t.skimScan()
		}
		t.unstuff()
		var err error
		switch s.phase {
		case inMCUs:
			err = t.decodeMCUs()
			if paused := err == errPause; paused || err == nil && s.phase == inMCUs {
				t.finalize(int64(s.pos>>3) + s.dOff)
				t.walk(-1)
				if paused {
					continue
				}
				return true
			}
		case atIntervalEnd:
			if len(s.rsts) == 0 {
				if s.ecsEnded {
					err = &scanError{dataIndex: s.ecsEndData, reason: "restart marker missing before the end of the scan data"}
					break
				}
				t.skipTrailing(s.dOff + int64(s.dLen))
				t.walk(-1)
				return true
			}
			ev := s.rsts[0]
			t.skipTrailing(ev.dataIndex)
			if ev.n != s.nextRST {
				err = &scanError{dataIndex: ev.dataIndex, reason: "wrong restart marker number"}
				break
			}
			s.rsts = s.rsts[1:]
			s.nextRST = (ev.n + 1) & 7
			s.pos = uint(ev.dataIndex-s.dOff) * 8
			s.eobrun = 0
			s.intervalLeft = min(t.restartInterval, s.hdr.mcus-s.mcu)
			s.stats.Intervals++
			s.phase = inMCUs
		case atScanEnd:
			// Extra bytes and RSTn markers after the last MCU are tolerated.
			s.rsts = s.rsts[:0]
			if !s.ecsEnded {
				t.skipTrailing(s.dOff + int64(s.dLen))
				t.walk(-1)
				return true
			}
			t.skipTrailing(s.ecsEndData)
			t.walk(-1)
			if s.walkFile > s.chunkStart {
				t.emitChunk(s.walkFile)
			}
			t.endScan(s.ecsEndFile)
			t.cur, t.ready, t.phase = s.ecsEndFile, s.ecsEndFile, phaseMarkers
			return false
		}
		if err != nil {
			t.scanFail(err.(*scanError))
			return false
		}
	}
}

func (t *Transformer) endScan(end int64) {
	s := &t.scan
	st := &s.stats
	st.ECSBytes = end - s.ecsStart
	st.DataBytes = s.walkData
	st.HBits = (st.DataBytes-st.Trailing)*8 - st.CBits - st.SBits - st.PBits
	if st.HBits < 0 { // the scan failed inside a byte whose labels are partial
		st.HBits = 0
	}
	t.stats.Scans = append(t.stats.Scans, *st)
}

// scanFail applies the stop rule: the data bytes before the error byte
// keep their masks, the chunk in progress ends at the error, and the rest
// of the file passes unchanged.
func (t *Transformer) scanFail(e *scanError) {
	s := &t.scan
	t.finalize(e.dataIndex)
	t.walk(e.dataIndex)
	if s.walkFile > s.chunkStart {
		t.emitChunk(s.walkFile)
	}
	t.endScan(s.walkFile)
	t.fail(&FormatError{Offset: s.walkFile, Reason: e.reason}, s.walkFile)
}

// decodeMCUs parses MCUs while enough data is buffered (T.81 E.2.3, F.2.2,
// G.1.2). At the end of an interval it pads to the byte boundary: the bits
// up to it are P bits.
func (t *Transformer) decodeMCUs() error {
	s := &t.scan
	h := s.hdr
	for {
		if s.intervalLeft == 0 {
			if n := uint(-s.pos) & 7; n > 0 {
				setRun(s.xm, s.pos, n)
				s.pos += n
				s.stats.PBits += int64(n)
			}
			t.finalize(s.dOff + int64(s.pos>>3))
			if s.mcu == h.mcus {
				s.phase = atScanEnd
			} else {
				s.phase = atIntervalEnd
			}
			return nil
		}
		if !s.endKnown() && uint(s.dLen)*8-s.pos < lookahead*8 {
			return nil
		}
		if r := s.rec; r != nil && s.dOff*8+int64(s.pos) >= r.pause {
			// Let the chunk walk catch up: the chunks parsed so far may
			// be all the recording's reader needs.
			r.pause += ChunkSize * 8
			return errPause
		}
		s.setLimit()
		if h.kind == ACFirst && s.eobrun > 0 {
			n := min(s.eobrun, s.intervalLeft)
			s.eobrun -= n
			s.mcu += n
			s.intervalLeft -= n
			continue
		}
		t.budget.visits += int64(h.blocksPerMCU)
		if t.budget.visits > maxBlockVisits {
			return s.errAt(s.pos, "work bound exceeded")
		}
		var err error
		switch h.kind {
		case Sequential:
			if s.pos+seqMCUBits <= s.limit && int(s.pos>>3)+len(window{}) <= len(s.d) && !t.noFastPath {
				start := s.pos
				err = s.sequentialMCUFast()
				switch {
				case err == nil && s.rec != nil:
					s.recordFast(start)
				case err != nil && s.rec != nil:
					// The blocks before the error count for the
					// recording: the checked path, which labels and
					// fails alike, records them as it goes.
					s.pos = start
					err = s.sequentialMCU()
				}
			} else {
				err = s.sequentialMCU()
			}
		case DCFirst:
			for _, sc := range h.comps {
				for n := blocksOf(h, sc); n > 0 && err == nil; n-- {
					err = s.decodeDC(sc.dc)
				}
			}
		case DCRefine:
			for n := h.blocksPerMCU; n > 0 && err == nil; n-- {
				err = s.dcRefineBlock()
			}
		case ACFirst:
			sc := h.comps[0]
			err = s.acFirstBlock(sc.ac, &sc.c.hist[s.mcu])
		case ACRefine:
			sc := h.comps[0]
			err = s.acRefineBlock(sc.ac, &sc.c.hist[s.mcu])
		}
		if err != nil {
			return err
		}
		s.mcu++
		s.intervalLeft--
	}
}

func blocksOf(h *scanHeader, sc scanComp) int {
	if len(h.comps) == 1 {
		return 1
	}
	return sc.c.h * sc.c.v
}

// finalize computes the masks of the data bytes below end, all of whose
// bits are labelled (FORMAT.md, "Masking rules").
func (t *Transformer) finalize(end int64) {
	s := &t.scan
	if end <= s.fin {
		return
	}
	lo, hi := int(s.fin-s.dOff), int(end-s.dOff)
	d, cm, xm, dm := s.d[lo:hi], s.cm[lo:hi], s.xm[lo:hi], s.dm[lo:hi]
	var cBits, extBits, strictBits int
	strict := t.opts.Mode == Strict
	i := 0
	for ; i+8 <= len(cm); i += 8 {
		c := binary.LittleEndian.Uint64(cm[i:])
		if c == 0 {
			binary.LittleEndian.PutUint64(dm[i:], 0)
			continue
		}
		v, x := binary.LittleEndian.Uint64(d[i:]), binary.LittleEndian.Uint64(xm[i:])
		e, st := extendedMask64(v, c), strictMask64(v, c, x)
		cBits += bits.OnesCount64(c)
		extBits += bits.OnesCount64(e)
		strictBits += bits.OnesCount64(st)
		if strict {
			binary.LittleEndian.PutUint64(dm[i:], st)
		} else {
			binary.LittleEndian.PutUint64(dm[i:], e)
		}
	}
	for ; i < len(cm); i++ {
		c := cm[i]
		if c == 0 {
			dm[i] = 0
			continue
		}
		v := d[i]
		e, st := extendedMask(v, c), strictMask(v, c, xm[i])
		cBits += bits.OnesCount8(c)
		extBits += bits.OnesCount8(e)
		strictBits += bits.OnesCount8(st)
		if strict {
			dm[i] = st
		} else {
			dm[i] = e
		}
	}
	if lo == 0 && s.dOff == 0 && s.afterFF && len(cm) > 0 && cm[0] != 0 {
		// The SOS segment ends with 0xFF (a sequential scan ignores its
		// Ah/Al byte), and no byte that follows an 0xFF is ever changed
		// (FORMAT.md §5): the scan's first data byte keeps mask 0.
		extBits -= bits.OnesCount8(extendedMask(d[0], cm[0]))
		strictBits -= bits.OnesCount8(strictMask(d[0], cm[0], xm[0]))
		dm[0] = 0
	}
	s.stats.CBits += int64(cBits)
	s.stats.ExtendedBits += int64(extBits)
	s.stats.StrictBits += int64(strictBits)
	if strict {
		t.stats.EncryptBits += int64(strictBits)
	} else {
		t.stats.EncryptBits += int64(extBits)
	}
	s.fin = end
}

// skipTrailing finalizes the labelled bytes and then passes the whole bytes
// between an interval's padding and its marker: they are not labelled and
// never masked.
func (t *Transformer) skipTrailing(end int64) {
	s := &t.scan
	t.finalize(s.dOff + int64(s.pos>>3))
	if end > s.fin {
		clear(s.dm[s.fin-s.dOff : end-s.dOff])
		s.stats.Trailing += end - s.fin
		s.fin = end
	}
}
