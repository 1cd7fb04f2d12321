package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress prints messages for a directory run and, when stderr is a
// terminal, keeps a progress bar on the last line:
//
//	[=========>          ] 120/400 files, 350/800 MB
type progress struct {
	w          io.Writer
	bar        bool // draw the bar (stderr is a terminal)
	files      int
	totalFiles int
	bytes      int64
	totalBytes int64
	lastDraw   time.Time
	drawn      bool
}

const barWidth = 30

func newProgress(w io.Writer, bar bool, totalFiles int, totalBytes int64) *progress {
	p := &progress{w: w, bar: bar, totalFiles: totalFiles, totalBytes: totalBytes}
	p.draw()
	return p
}

// logf prints one message line above the bar.
func (p *progress) logf(format string, args ...any) {
	p.clear()
	fmt.Fprintf(p.w, format+"\n", args...)
	if p.drawn {
		p.draw()
	}
}

// add counts one more file of n bytes as done.
func (p *progress) add(n int64) {
	p.files++
	p.bytes += n
	if p.files == p.totalFiles || time.Since(p.lastDraw) >= 100*time.Millisecond {
		p.draw()
	}
}

// finish removes the bar.
func (p *progress) finish() {
	p.clear()
	p.drawn = false
}

func (p *progress) draw() {
	if !p.bar {
		return
	}
	frac := 1.0
	if p.totalBytes > 0 {
		frac = float64(p.bytes) / float64(p.totalBytes)
	} else if p.totalFiles > 0 {
		frac = float64(p.files) / float64(p.totalFiles)
	}
	n := min(int(frac*barWidth), barWidth)
	bar := strings.Repeat("=", n)
	if n < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-n-1)
	}
	fmt.Fprintf(p.w, "\r[%s] %d/%d files, %s/%s MB\x1b[K", bar, p.files, p.totalFiles, mb(p.bytes), mb(p.totalBytes))
	p.drawn = true
	p.lastDraw = time.Now()
}

func (p *progress) clear() {
	if p.bar && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

func mb(n int64) string {
	if n < 10_000_000 {
		return fmt.Sprintf("%.1f", float64(n)/1e6)
	}
	return fmt.Sprintf("%d", (n+500_000)/1_000_000)
}
