package jpegbits

import (
	"bytes"
	"encoding/binary"
)

// walk gives each file byte of the scan its mask, from the data masks
// finalized so far, and emits every chunk it completes. It mirrors unstuff:
// a data byte is any byte outside an FF run, and the 00 that ends an FF run
// stands for the data byte 0xFF; FFs, stuffed zeros and RSTn bytes get mask
// 0. It stops at the end of the unstuffed input, at the first data byte
// whose mask is not final, or — when stop ≥ 0 — just past the last data
// byte before the one with index stop (where a scan error is reported), and
// then reports whether it reached stop.
func (t *Transformer) walk(stop int64) bool {
	s := &t.scan
	b, off := t.buf, t.bufOff
	limitData := s.fin
	if stop >= 0 {
		limitData = min(limitData, stop)
	}
	fm := t.fm
	for {
		chunkEnd := min(s.chunkStart+ChunkSize, s.scanRead)
		for s.walkFile < chunkEnd {
			fi := s.walkFile - s.chunkStart
			c := b[s.walkFile-off]
			if s.walkFF {
				if c == 0x00 {
					if s.walkData == limitData {
						if s.walkData == stop {
							s.walkFile, s.walkFF = s.runStart, false
						}
						return s.walkData == stop
					}
					s.walkData++
					s.walkFF = false
				} else if c != 0xFF {
					s.walkFF = false // the number byte of an RSTn marker
				}
				fm[fi] = 0
				s.walkFile++
				continue
			}
			if s.walkData == stop {
				return true
			}
			if c == 0xFF {
				s.runStart = s.walkFile
				s.walkFF = true
				fm[fi] = 0
				s.walkFile++
				continue
			}
			n := bytes.IndexByte(b[s.walkFile-off:chunkEnd-off], 0xFF)
			if n < 0 {
				n = int(chunkEnd - s.walkFile)
			}
			n = int(min(int64(n), limitData-s.walkData))
			if n == 0 {
				return false
			}
			copy(fm[fi:fi+int64(n)], s.dm[s.walkData-s.dOff:])
			if s.rec != nil {
				s.rec.runs = append(s.rec.runs, DataRun{File: int(fi), Data: s.walkData, Len: n})
			}
			s.walkFile += int64(n)
			s.walkData += int64(n)
		}
		if s.walkFile-s.chunkStart < ChunkSize {
			return !s.walkFF && s.walkData == stop
		}
		t.emitChunk(s.walkFile)
	}
}

// emitChunk XORs the keystream into the masked bits of the file bytes from
// chunkStart to end and makes them ready.
func (t *Transformer) emitChunk(end int64) {
	s := &t.scan
	chunk := t.buf[s.chunkStart-t.bufOff : end-t.bufOff]
	if ks := t.opts.Keystream; ks != nil {
		n := len(chunk)
		fm, skel, key := t.fm[:n], t.skel[:n], t.ks[:n]
		i := 0
		for ; i+8 <= n; i += 8 {
			c := binary.LittleEndian.Uint64(chunk[i:])
			binary.LittleEndian.PutUint64(skel[i:], c&^binary.LittleEndian.Uint64(fm[i:]))
		}
		for ; i < n; i++ {
			skel[i] = chunk[i] &^ fm[i]
		}
		c := Chunk{Offset: s.chunkStart, Data: chunk, Mask: fm, Skeleton: skel}
		if s.rec != nil {
			c.Runs, c.DataEnd = s.rec.runs, s.walkData
		}
		ks.Chunk(c, key)
		i = 0
		for ; i+8 <= n; i += 8 {
			m := binary.LittleEndian.Uint64(fm[i:])
			if m == 0 {
				continue
			}
			v := binary.LittleEndian.Uint64(chunk[i:]) ^ binary.LittleEndian.Uint64(key[i:])&m
			binary.LittleEndian.PutUint64(chunk[i:], v)
		}
		for ; i < n; i++ {
			chunk[i] ^= key[i] & fm[i]
		}
	}
	if s.rec != nil {
		s.rec.runs = s.rec.runs[:0]
	}
	s.chunkStart = end
	t.ready = end
}
