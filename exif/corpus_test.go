package exif

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// corpusDir is the shared test corpus, relative to this package.
const corpusDir = "../../shared/corpus"

func readCorpus(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, rel))
	if os.IsNotExist(err) {
		t.Skipf("shared corpus file %s not found; this test needs the shared corpus", rel)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPhoneExif(t *testing.T) {
	f := readCorpus(t, "photos/phone-12mp-q92.jpg")
	md, err := Scan(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Exif) != 1 {
		t.Fatalf("%d Exif segments, want 1", len(md.Exif))
	}
	es := md.Exif[0]
	if es.Err != nil {
		t.Fatal(es.Err)
	}
	x := es.Exif
	if x.IFD0 == nil || x.ExifIFD == nil || x.GPS == nil || x.IFD1 == nil {
		t.Fatalf("missing IFD: IFD0 %v, Exif %v, GPS %v, IFD1 %v", x.IFD0 != nil, x.ExifIFD != nil, x.GPS != nil, x.IFD1 != nil)
	}
	fields := x.GPSFields()
	for _, want := range []string{"GPSLatitudeRef", "GPSLatitude", "GPSLongitudeRef", "GPSLongitude", "GPSAltitude"} {
		if !slices.Contains(fields, want) {
			t.Errorf("GPS fields %q lack %s", fields, want)
		}
	}
	lat, _ := x.GPS.Find(0x0002)
	if v := x.Value(lat); lat.Type != Rational || lat.Count != 3 || len(v) != 24 || x.ByteOrder.Uint32(v)/x.ByteOrder.Uint32(v[4:]) != 48 {
		t.Errorf("GPSLatitude %+v = % x, want 48 degrees", lat, v)
	}
	// exiftool: ThumbnailLength 7158.
	th := x.Thumbnail
	if th == nil || th.Length != 7158 || !th.JPEG {
		t.Fatalf("thumbnail %+v, want a 7158-byte JPEG", th)
	}
	start := es.Offset + th.Offset
	thumb := f[start : start+th.Length]
	if thumb[0] != 0xFF || thumb[1] != 0xD8 || thumb[len(thumb)-2] != 0xFF || thumb[len(thumb)-1] != 0xD9 {
		t.Errorf("thumbnail at file offset %d does not run from SOI to EOI", start)
	}
	if len(md.XMP) != 0 || len(md.MPF) != 0 {
		t.Errorf("unexpected XMP %d / MPF %d", len(md.XMP), len(md.MPF))
	}
}

func TestMPOFile(t *testing.T) {
	f := readCorpus(t, "conformance/pillow-Tests-images-sugarshack.mpo")
	md, err := Scan(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.MPF) != 1 || md.MPF[0].Err != nil || md.MPF[0].MPF.Images() != 2 {
		t.Fatalf("MPF %+v", md.MPF)
	}
	m := md.MPF[0]
	second := m.MPF.Entries[1]
	// Image offsets are relative to the MP header in the file.
	at := m.Offset + m.MPF.HeaderOffset + int(second.Offset)
	if at+int(second.Size) > len(f) || f[at] != 0xFF || f[at+1] != 0xD8 {
		t.Errorf("second image (%+v) does not start with SOI at file offset %d", second, at)
	}
}

func TestGPSFile(t *testing.T) {
	f := readCorpus(t, "conformance/pillow-Tests-images-exif_gps.jpg")
	md, err := Scan(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Exif) != 1 || md.Exif[0].Exif == nil || md.Exif[0].Exif.GPS == nil || !md.Exif[0].Exif.BigEndian() {
		t.Fatalf("want a big-endian Exif segment with GPS: %+v", md.Exif)
	}
	if !slices.Contains(md.Exif[0].Exif.GPSFields(), "GPSLatitude") {
		t.Errorf("GPS fields %q", md.Exif[0].Exif.GPSFields())
	}
}

// TestCorpusNoPanic scans every corpus file, including the Exif, GPS and
// MPF oddities of the conformance folder and the fuzzed files of edge/,
// and checks that everything reported lies inside the file.
func TestCorpusNoPanic(t *testing.T) {
	var files []string
	for _, pat := range []string{"photos/*", "conformance/*", "edge/*"} {
		m, _ := filepath.Glob(filepath.Join(corpusDir, pat))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skipf("shared corpus not found at %s", corpusDir)
	}
	var withExif, withGPS, withThumb, withXMP, withMPF int
	for _, name := range files {
		f, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		md, _ := Scan(f)
		if md == nil {
			continue
		}
		for _, es := range md.Exif {
			checkExifBounds(t, name, f[es.Offset:es.Offset+es.Length], es.Exif)
			if es.Exif != nil {
				withExif++
				if es.Exif.GPS != nil {
					withGPS++
				}
				if es.Exif.Thumbnail != nil {
					withThumb++
				}
			}
		}
		withXMP += min(len(md.XMP), 1)
		withMPF += min(len(md.MPF), 1)
	}
	t.Logf("%d files: %d Exif segments, %d with GPS, %d with a thumbnail; %d files with XMP, %d with MPF",
		len(files), withExif, withGPS, withThumb, withXMP, withMPF)
	if withGPS == 0 || withThumb == 0 || withMPF == 0 {
		t.Errorf("the corpus should hold GPS, thumbnails and MPF")
	}
}

// checkExifBounds checks that every offset x reports is inside payload p.
func checkExifBounds(t testing.TB, name string, p []byte, x *Exif) {
	t.Helper()
	if x == nil {
		return
	}
	for _, d := range []*IFD{x.IFD0, x.ExifIFD, x.GPS, x.IFD1} {
		if d == nil {
			continue
		}
		if d.Offset < 0 || d.Offset+2 > len(p) || len(d.Entries) > MaxEntries {
			t.Fatalf("%s: IFD at %d outside %d bytes", name, d.Offset, len(p))
		}
		for _, e := range d.Entries {
			if e.EntryOffset+12 > len(p) {
				t.Fatalf("%s: entry at %d outside %d bytes", name, e.EntryOffset, len(p))
			}
			if e.DataOffset >= 0 && (e.DataSize < 0 || e.DataOffset+e.DataSize > len(p)) {
				t.Fatalf("%s: tag 0x%04x value %d+%d outside %d bytes", name, e.Tag, e.DataOffset, e.DataSize, len(p))
			}
			_ = x.Value(e)
			_, _ = x.Uint(e)
		}
	}
	if th := x.Thumbnail; th != nil && (th.Offset < 0 || th.Length < 0 || th.Offset+th.Length > len(p)) {
		t.Fatalf("%s: thumbnail %+v outside %d bytes", name, th, len(p))
	}
}
