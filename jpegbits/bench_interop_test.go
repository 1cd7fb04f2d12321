//go:build interop

package jpegbits_test

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
	"jpegveil/veil"
)

// BenchmarkInteropDecoders measures, in one run and on the same files, the
// mask computation, the mask+XOR transform and the full encryption
// (veil.Encrypt: parse, masks, nonce chain, keystream, fingerprints,
// metadata) against Go's image/jpeg.Decode, libjpeg-turbo's in-process
// decoder (tjbench -nowrite) and djpeg (which includes process start-up).
// It reports MB/s of file data and the median ratios, for sequential and
// progressive files apart; speed goals are read from its output, not
// asserted. It measures once whatever b.N is: run it with -benchtime 1x.
func BenchmarkInteropDecoders(t *testing.B) {
	tjbench, _ := exec.LookPath("tjbench")
	djpeg, _ := exec.LookPath("djpeg")
	if tjbench == "" {
		t.Log("tjbench not found (Debian: libjpeg-turbo-progs); its columns stay 0")
	}
	key, err := keystream.NewKeyFromBytes(make([]byte, keystream.MasterKeySize), keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		name                                 string
		size                                 int
		progressive                          bool
		mask, xor, enc, goDec, tj, dj, encMs float64
	}
	var rows []row
	for _, path := range jpegbits.CorpusFiles(t, "photos") {
		in, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, st, err := jpegbits.TransformBytes(in, jpegbits.Options{})
		if err != nil {
			continue // the arithmetic-coded photo
		}
		r := row{name: filepath.Base(path), size: len(in)}
		for _, sc := range st.Scans {
			r.progressive = r.progressive || sc.Kind != jpegbits.Sequential
		}
		mbps := func(d time.Duration) float64 { return float64(len(in)) / d.Seconds() / 1e6 }
		r.mask = mbps(bestOf(func() { jpegbits.Transform(io.Discard, bytes.NewReader(in), jpegbits.Options{}) }))
		r.xor = mbps(bestOf(func() {
			jpegbits.Transform(io.Discard, bytes.NewReader(in), jpegbits.Options{Keystream: jpegbits.ZeroKeystream{}})
		}))
		enc := bestOf(func() { veil.Encrypt(key, io.Discard, bytes.NewReader(in)) })
		r.enc, r.encMs = mbps(enc), float64(enc.Microseconds())/1000
		if _, err := jpeg.Decode(bytes.NewReader(in)); err == nil {
			r.goDec = mbps(bestOf(func() { jpeg.Decode(bytes.NewReader(in)) }))
		}
		if tjbench != "" {
			r.tj = tjbenchMBps(t, tjbench, path, len(in))
		}
		if djpeg != "" {
			r.dj = mbps(bestOf(func() { exec.Command(djpeg, "-outfile", os.DevNull, path).Run() }))
		}
		rows = append(rows, r)
	}
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-42s %9s %8s %8s %8s %8s %8s %8s %8s %7s %7s %7s\n", "file (MB/s of file data, one core)", "bytes", "mask", "mask+xor", "encrypt", "Go", "tjbench", "djpeg", "enc ms", "mask×Go", "mask×tj", "enc×tj")
	var xGo, xTj []float64
	encTj := map[bool][]float64{}
	for _, r := range rows {
		fmt.Fprintf(&b, "%-42s %9d %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f %8.2f %7.2f %7.2f %7.2f\n", r.name, r.size, r.mask, r.xor, r.enc, r.goDec, r.tj, r.dj, r.encMs, ratio(r.mask, r.goDec), ratio(r.mask, r.tj), ratio(r.enc, r.tj))
		if r.goDec > 0 {
			xGo = append(xGo, r.mask/r.goDec)
		}
		if r.tj > 0 {
			xTj = append(xTj, r.mask/r.tj)
			encTj[r.progressive] = append(encTj[r.progressive], r.enc/r.tj)
		}
	}
	fmt.Fprintf(&b, "median mask speed: %.2f× image/jpeg.Decode, %.2f× tjbench (goals 6× and 1.5×)\n", median(xGo), median(xTj))
	fmt.Fprintf(&b, "median full encryption speed: %.2f× tjbench on sequential photos (goal 1.5×), %.2f× on progressive ones (goal 1.2×)\n", median(encTj[false]), median(encTj[true]))
	// Printed, not logged: the benchmark log is cut short, and the
	// medians come last.
	fmt.Print(b.String())
	t.ReportMetric(median(xGo), "×image/jpeg")
	t.ReportMetric(median(xTj), "×tjbench")
	t.ReportMetric(median(encTj[false]), "enc×tj-seq")
	t.ReportMetric(median(encTj[true]), "enc×tj-prog")
}

// bestOf runs f repeatedly for about half a second and returns its fastest
// run: the least disturbed by whatever else the machine is doing.
func bestOf(f func()) time.Duration {
	best := time.Duration(1 << 62)
	for start := time.Now(); time.Since(start) < 500*time.Millisecond; {
		t0 := time.Now()
		f()
		best = min(best, time.Since(t0))
	}
	return best
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// tjbenchMBps runs libjpeg-turbo's tjbench decode-only benchmark on path
// three times and converts its best Mpixels/s into MB/s of file data: the
// best run, like bestOf's, is the one the rest of the machine disturbed
// least.
func tjbenchMBps(t testing.TB, tjbench, path string, size int) float64 {
	best := 0.0
	for range 3 {
		out, err := exec.Command(tjbench, path, "-nowrite", "-benchtime", "0.5", "-warmup", "0.2", "-quiet").CombinedOutput()
		if err != nil {
			t.Logf("tjbench %s: %v", filepath.Base(path), err)
			return 0
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		f := strings.Fields(lines[len(lines)-1])
		if len(f) < 5 {
			return 0
		}
		w, _ := strconv.Atoi(f[len(f)-5])
		h, _ := strconv.Atoi(f[len(f)-4])
		mpix, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil || mpix == 0 {
			return 0
		}
		seconds := float64(w*h) / (mpix * 1e6)
		best = max(best, float64(size)/seconds/1e6)
	}
	return best
}
