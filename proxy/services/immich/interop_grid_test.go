//go:build interop

package immich_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"jpegveil/imagemetrics"
	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/proxy/internal/preview"
)

// gridPhotos makes n distinct photos from the corpus: windows of several
// photos at shifting offsets, a few of them phone-sized, encoded anew.
func gridPhotos(t *testing.T, n int) [][]byte {
	t.Helper()
	type source struct {
		img  image.Image
		w, h int
	}
	var sources []source
	for _, name := range []string{"phone-12mp-q92.jpg", "hubble-q85-progressive.jpg", "retina-q92-optimized.jpg", "coffee-q80-420.jpg", "motorcycle-q80-restart8.jpg", "rocket-original.jpg"} {
		img, err := preview.Decode(fakes.CorpusFile(t, "photos/"+name))
		if err != nil {
			t.Fatal(err)
		}
		w, h := 480, 360
		if name == "phone-12mp-q92.jpg" {
			w, h = 2000, 1500
		}
		sources = append(sources, source{img, w, h})
	}
	var out [][]byte
	for i := 0; i < n; i++ {
		s := sources[i%len(sources)]
		b := s.img.Bounds()
		x0 := (i * 37) % (b.Dx() - s.w + 1)
		y0 := (i * 23) % (b.Dy() - s.h + 1)
		sub := s.img.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(x0, y0, x0+s.w, y0+s.h))
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, sub, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
	return out
}

type gridRun struct {
	shot          string
	loadMS, fcpMS float64
	fetched       int64
	psnr          []float64
}

// openGrid shows the fake's grid page in headless Chromium, through the
// proxy at proxyAddr or (empty) straight to the fake, and measures it.
func openGrid(t *testing.T, chromium string, f *fakes.Immich, proxyAddr, name string, photos [][]byte) gridRun {
	t.Helper()
	shot := filepath.Join(os.TempDir(), "jpegveil-grid-"+name+".png")
	os.Remove(shot)
	rows := (len(photos) + fakes.GridColumns - 1) / fakes.GridColumns
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--ignore-certificate-errors", "--hide-scrollbars",
		"--force-device-scale-factor=1",
		"--window-size=" + strconv.Itoa(fakes.GridColumns*fakes.GridTile) + "," + strconv.Itoa(rows*fakes.GridTile),
		"--screenshot=" + shot}
	if proxyAddr != "" {
		args = append(args, "--proxy-server=http://"+proxyAddr)
	} else {
		args = append(args, "--host-resolver-rules=MAP immich.test:443 "+f.Srv.Listener.Addr().String())
	}
	f.Mu.Lock()
	before := f.ServedOriginal + f.ServedRendition
	f.Metrics = nil
	f.Mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, chromium, append(args, "https://immich.test/grid.html")...).CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f.Mu.Lock()
	run := gridRun{shot: shot, fetched: f.ServedOriginal + f.ServedRendition - before}
	var m struct {
		LoadMS   float64 `json:"load_ms"`
		FCPMS    float64 `json:"fcp_ms"`
		Complete bool
	}
	err := json.Unmarshal(f.Metrics, &m)
	f.Mu.Unlock()
	if err != nil || !m.Complete {
		t.Fatalf("%s: the page reported %+v (%v): not every tile loaded", name, m, err)
	}
	run.loadMS, run.fcpMS = m.LoadMS, m.FCPMS
	fh, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	for i, photo := range photos {
		src, _ := preview.Decode(photo)
		want := preview.Scale(src, preview.Side(250))
		x, y := (i%fakes.GridColumns)*fakes.GridTile, (i/fakes.GridColumns)*fakes.GridTile
		tile := img.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(x, y, x+want.Bounds().Dx(), y+want.Bounds().Dy()))
		psnr, err := imagemetrics.PSNRRGB(imagemetrics.FromImage(want), imagemetrics.FromImage(tile))
		if err != nil {
			t.Fatal(err)
		}
		run.psnr = append(run.psnr, psnr)
	}
	return run
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// TestInteropImmichGridInChromium opens a grid of 50 thumbnails of
// photos uploaded through the proxy in headless Chromium: through the
// proxy every tile is the photo (PSNR per tile against the same resize),
// straight from the service every tile is noise. It reports the bytes
// the service sent and the paint timings: previews rendered from the
// originals (cold, then warm from the proxy's cache) and previews rendered
// at upload.
func TestInteropImmichGridInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	photos := gridPhotos(t, 50)
	var total int
	for _, p := range photos {
		total += len(p)
	}
	t.Logf("50 photos, %d bytes of originals", total)

	check := func(name string, r gridRun, ours bool) {
		lo, hi := minMax(r.psnr)
		t.Logf("%-22s service sent %8d bytes, first paint %6.0f ms, all tiles %6.0f ms, tile PSNR %.1f..%.1f dB, %s",
			name, r.fetched, r.fcpMS, r.loadMS, lo, hi, r.shot)
		if ours && lo < 30 {
			t.Errorf("%s: a tile has PSNR %.1f dB against the photo, want >= 30", name, lo)
		}
		if !ours && hi > 15 {
			t.Errorf("%s: a tile has PSNR %.1f dB against the photo: not noise", name, hi)
		}
	}

	// Previews rendered from the originals: nothing rendered at upload.
	f := fakes.NewImmich(t)
	p := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f.Srv.Listener.Addr().String(), f.CA, []string{"immich.test"}, immichAPIRules, "previews: {upload_sizes: []}\n"), nil)
	for _, photo := range photos {
		if code, _, _ := immichUpload(t, p.Client, photo, "", false, false); code != 201 {
			t.Fatalf("upload: %d", code)
		}
	}
	addr := p.URL.Host
	check("from originals, cold", openGrid(t, chromium, f, addr, "cold", photos), true)
	check("from originals, warm", openGrid(t, chromium, f, addr, "warm", photos), true)
	check("without the proxy", openGrid(t, chromium, f, "", "direct", photos), false)

	// Previews rendered at upload.
	f2 := fakes.NewImmich(t)
	p2 := proxytest.Start(t, proxytest.ServicesConfigYAML(t.TempDir(), f2.Srv.Listener.Addr().String(), f2.CA, []string{"immich.test"}, immichAPIRules, ""), nil)
	start := time.Now()
	for _, photo := range photos {
		immichUpload(t, p2.Client, photo, "", false, false)
	}
	uploaded := time.Since(start)
	p2.Server.WaitPreviews()
	t.Logf("50 uploads took %v; their previews were rendered %v after the last", uploaded.Round(time.Millisecond), (time.Since(start) - uploaded).Round(time.Millisecond))
	check("rendered at upload", openGrid(t, chromium, f2, p2.URL.Host, "at-upload", photos), true)
}
