package jpegbits

// ScanStats describes one scan's entropy-coded data.
type ScanStats struct {
	Kind       ScanKind
	Components int
	ECSBytes   int64 // file bytes of the scan's data, markers and stuffing included
	DataBytes  int64 // bytes after unstuffing
	Trailing   int64 // data bytes after the padding of an interval: never labelled
	Intervals  int   // restart intervals
	HBits      int64 // Huffman code bits
	SBits      int64 // structural raw bits (EOB runs)
	PBits      int64 // padding bits
	CBits      int64 // candidate bits
	// StrictBits and ExtendedBits are the candidate bits each masking rule
	// encrypts, both counted whatever the transform's mode.
	StrictBits   int64
	ExtendedBits int64
}

// Stats describes a file as the transform saw it.
type Stats struct {
	Frame       string // "SOF0", "SOF1", "SOF2", or "" when none was parsed
	Width       int
	Height      int
	Components  int
	Sampling    []string // per component, "HxV"
	Restart     int      // restart interval in MCUs when one was defined (last DRI)
	Scans       []ScanStats
	FileBytes   int64
	EncryptBits int64 // bits changed under the transform's mode
	// AfterEOI is the number of bytes after the first image's EOI marker.
	AfterEOI int64
	// Segments counts marker segments by name (APP1, DQT, …).
	Segments map[string]int
}

// Total sums the statistics of all scans.
func (s *Stats) Total() ScanStats {
	var t ScanStats
	for _, sc := range s.Scans {
		t.add(&sc)
	}
	return t
}

// ByKind sums the statistics of the scans of each kind.
func (s *Stats) ByKind() map[ScanKind]ScanStats {
	m := make(map[ScanKind]ScanStats)
	for _, sc := range s.Scans {
		t := m[sc.Kind]
		t.Kind = sc.Kind
		t.add(&sc)
		m[sc.Kind] = t
	}
	return m
}

func (t *ScanStats) add(s *ScanStats) {
	t.Components += s.Components
	t.ECSBytes += s.ECSBytes
	t.DataBytes += s.DataBytes
	t.Trailing += s.Trailing
	t.Intervals += s.Intervals
	t.HBits += s.HBits
	t.SBits += s.SBits
	t.PBits += s.PBits
	t.CBits += s.CBits
	t.StrictBits += s.StrictBits
	t.ExtendedBits += s.ExtendedBits
}
