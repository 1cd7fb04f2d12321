//go:build interop

package jpegbits

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
)

// BenchmarkInteropDecoders measures, in one run and on the same files, the
// mask computation and the mask+XOR transform against Go's image/jpeg.Decode,
// libjpeg-turbo's in-process decoder (tjbench -nowrite) and djpeg (which
// includes process start-up). It reports MB/s of file data and the median
// ratios; speed goals are read from its output, not asserted. It measures
// once whatever b.N is: run it with -benchtime 1x.
func BenchmarkInteropDecoders(t *testing.B) {
	tjbench, _ := exec.LookPath("tjbench")
	djpeg, _ := exec.LookPath("djpeg")
	type row struct {
		name                            string
		size                            int
		mask, xor, goDec, tj, dj, encMs float64
	}
	var rows []row
	for _, path := range corpusFiles(t, "photos") {
		in, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := TransformBytes(in, Options{}); err != nil {
			continue // the arithmetic-coded photo
		}
		r := row{name: filepath.Base(path), size: len(in)}
		mbps := func(d time.Duration) float64 { return float64(len(in)) / d.Seconds() / 1e6 }
		r.mask = mbps(bestOf(func() { Transform(io.Discard, bytes.NewReader(in), Options{}) }))
		xor := bestOf(func() { Transform(io.Discard, bytes.NewReader(in), Options{Keystream: zeroKeystream{}}) })
		r.xor, r.encMs = mbps(xor), float64(xor.Microseconds())/1000
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
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-42s %9s %8s %8s %8s %8s %8s %8s %7s %7s\n", "file (MB/s of file data, one core)", "bytes", "mask", "mask+xor", "Go", "tjbench", "djpeg", "xor ms", "×Go", "×tj")
	var xGo, xTj []float64
	for _, r := range rows {
		ratio := func(a, b float64) float64 {
			if b == 0 {
				return 0
			}
			return a / b
		}
		fmt.Fprintf(&b, "%-42s %9d %8.1f %8.1f %8.1f %8.1f %8.1f %8.2f %7.2f %7.2f\n", r.name, r.size, r.mask, r.xor, r.goDec, r.tj, r.dj, r.encMs, ratio(r.mask, r.goDec), ratio(r.mask, r.tj))
		if r.goDec > 0 {
			xGo = append(xGo, r.mask/r.goDec)
		}
		if r.tj > 0 {
			xTj = append(xTj, r.mask/r.tj)
		}
	}
	fmt.Fprintf(&b, "median mask speed: %.2f× image/jpeg.Decode, %.2f× tjbench (goals 6× and 1.5×)\n", median(xGo), median(xTj))
	t.Log(b.String())
	t.ReportMetric(median(xGo), "×image/jpeg")
	t.ReportMetric(median(xTj), "×tjbench")
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

// tjbenchMBps runs libjpeg-turbo's tjbench decode-only benchmark on path and
// converts its Mpixels/s into MB/s of file data.
func tjbenchMBps(t testing.TB, tjbench, path string, size int) float64 {
	out, err := exec.Command(tjbench, path, "-nowrite", "-benchtime", "1", "-warmup", "0.3", "-quiet").CombinedOutput()
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
	return float64(size) / seconds / 1e6
}
