//go:build interop

package veil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"jpegveil/keystream"
)

// ffmpegMP4 makes a clip with ffmpeg, laid out as phones write them: the
// moov box after mdat (no faststart), H.264, with an audio track and a
// place of recording (the mp4 muxer writes it as a 3GPP loci box, the mov
// muxer as ©xyz, as Android does).
func ffmpegMP4(t *testing.T, dir, name string) []byte {
	t.Helper()
	p := filepath.Join(dir, name)
	out, err := exec.Command("ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15", "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", "1.5", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
		"-metadata", "location=+48.8584+002.2945/", p).CombinedOutput()
	if err != nil {
		t.Skipf("ffmpeg cannot make a clip (%v): %s", err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// location is the place of recording ffprobe reads from a clip.
func location(t *testing.T, p string) string {
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format_tags=location", "-of", "default=nw=1:nk=1", p).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", p, err)
	}
	return string(bytes.TrimSpace(out))
}

// ffprobeJSON is ffprobe's view of a file's container and streams (its
// standard output; the decoder's complaints about encrypted frames go to
// standard error and do not change the exit status).
func ffprobeJSON(t *testing.T, p string) (string, error) {
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries",
		"format=format_name,duration:stream=codec_name,width,height,nb_frames,duration", "-of", "json", p).Output()
	return string(out), err
}

// frames decodes every video frame of an MP4 to raw bytes; err when the
// decoder gives up.
func frames(p string) ([]byte, error) {
	return exec.Command("ffmpeg", "-v", "error", "-i", p, "-map", "0:v", "-f", "rawvideo", "-pix_fmt", "gray", "-").Output()
}

// embeddedMP4 cuts the MP4 that starts at the motion video item of res.
func embeddedMP4(t *testing.T, f []byte, res Result) []byte {
	t.Helper()
	for _, m := range res.Metadata {
		if m.Kind == KindMotionVideo {
			b := f[m.Offset : m.Offset+m.Length]
			i := bytes.Index(b, []byte("ftyp"))
			return b[i-4:]
		}
	}
	t.Fatal("no motion video item")
	return nil
}

// TestInteropPhone encrypts every phone layout, with a clip made by ffmpeg
// as well as the committed one, and checks that ffprobe reads the
// encrypted video's container as it reads the original's, that its frames
// do not decode to the original's, and that exiftool reports no new
// warning.
func TestInteropPhone(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (Debian package ffmpeg)")
	}
	key := testKey(t, keystream.ModeExtended)
	dir := t.TempDir()
	clip := ffmpegMP4(t, dir, "clip.mp4")
	mov := ffmpegMP4(t, dir, "clip.mov")
	files := phoneFiles(t)
	hdrMotion, _, _ := ultraHDR(clip)
	files = append(files,
		phoneFile{name: "pixel with ffmpeg clip", file: pixelMotionPhoto("Container", "Item", 16, clip)},
		phoneFile{name: "pixel with ffmpeg mov clip", file: pixelMotionPhoto("Container", "Item", 0, mov)},
		phoneFile{name: "samsung with ffmpeg clip", file: samsungMotionPhoto(clip, true)},
		phoneFile{name: "ultra HDR motion with ffmpeg clip", file: hdrMotion})
	for i, pf := range files {
		t.Run(pf.name, func(t *testing.T) {
			enc, res, err := encrypt(t, key, pf.file, Options{})
			if err != nil {
				t.Fatal(err)
			}
			base := filepath.Join(dir, string(rune('a'+i)))
			orig, ct := base+"-orig.jpg", base+"-enc.jpg"
			os.WriteFile(orig, pf.file, 0o644)
			os.WriteFile(ct, enc, 0o644)
			if _, err := os.Stat(exiftoolPath); err == nil {
				ca, cb := complaints(exiftoolInfo(t, orig)), complaints(exiftoolInfo(t, ct))
				for _, c := range cb {
					if !slices.Contains(ca, c) {
						t.Errorf("exiftool complains about the ciphertext only: %q", c)
					}
				}
			} else {
				t.Log("exiftool not installed (Debian package libimage-exiftool-perl): not checked")
			}
			if pf.noVideo {
				return
			}
			mo, me := base+"-orig.mp4", base+"-enc.mp4"
			os.WriteFile(mo, embeddedMP4(t, pf.file, res), 0o644)
			os.WriteFile(me, embeddedMP4(t, enc, res), 0o644)
			po, err := ffprobeJSON(t, mo)
			if err != nil {
				t.Fatalf("ffprobe on the original clip: %v\n%s", err, po)
			}
			pe, err := ffprobeJSON(t, me)
			if err != nil || pe != po {
				t.Fatalf("ffprobe reads the encrypted clip differently (%v):\n%s\nwant\n%s", err, pe, po)
			}
			if lo := location(t, mo); lo != "" {
				le := location(t, me)
				if le == lo {
					t.Errorf("the clip's place of recording %q is readable", lo)
				}
				t.Logf("place of recording %q → %q", lo, le)
			}
			fo, err := frames(mo)
			if err != nil || len(fo) == 0 {
				t.Fatalf("the original clip does not decode: %v", err)
			}
			fe, err := frames(me)
			if err == nil && len(fe) == len(fo) {
				same := 0
				for i := range fo {
					if d := int(fo[i]) - int(fe[i]); d > -8 && d < 8 {
						same++
					}
				}
				if same > len(fo)/4 {
					t.Errorf("%d of %d decoded samples of the encrypted clip are close to the original's", same, len(fo))
				}
			}
			t.Logf("ffprobe reads the encrypted clip; decoding it gives %d bytes (%v), the original %d", len(fe), err, len(fo))
		})
	}
}
