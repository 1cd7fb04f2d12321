package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDirectoryAppliesSingleFilePolicy runs each file once on its own and
// once inside a directory: directory mode must write exactly the files
// single-file mode writes, refuse exactly the ones it refuses, and name
// every file with what it did. A decodable photo whose SOI is followed by a
// junk byte was once copied unchanged (in plaintext) by directory mode.
func TestDirectoryAppliesSingleFilePolicy(t *testing.T) {
	photo, err := os.ReadFile("testdata/fixtures/photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	junkAfterSOI := append([]byte{0xFF, 0xD8, 0x00}, photo[2:]...)
	tests := []struct {
		name    string
		data    []byte
		written bool   // single-file mode writes an output
		line    string // directory mode's line for the file
	}{
		{"photo.jpg", photo, true, "encrypted: "},
		{"junk-after-soi.jpg", junkAfterSOI, false, "jpegveil: "},
		{"soi-only.jpg", []byte{0xFF, 0xD8}, false, "jpegveil: "},
		{"truncated.jpg", photo[:len(photo)/2], false, "jpegveil: "},
	}
	tmp := t.TempDir()
	key := filepath.Join(tmp, "key")
	mustRun(t, 0, "keygen", "-o", key)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			album := filepath.Join(dir, "album")
			if err := os.Mkdir(album, 0o755); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(album, tt.name)
			if err := os.WriteFile(src, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}

			single := filepath.Join(dir, "single.jpg")
			code, _, _ := runCLI(t, "", "encrypt", "-k", key, src, "-o", single)
			if _, err := os.Stat(single); (err == nil) != tt.written || (code == 0) != tt.written {
				t.Fatalf("single-file mode: exit %d, output exists %v; want written=%v", code, err == nil, tt.written)
			}

			out := filepath.Join(dir, "enc")
			code, _, stderr := runCLI(t, "", "encrypt", "-k", key, album, "-o", out)
			got := filepath.Join(out, tt.name)
			_, err := os.Stat(got)
			if (err == nil) != tt.written || (code == 0) != tt.written {
				t.Errorf("directory mode: exit %d, output exists %v; single-file mode wrote=%v\n%s", code, err == nil, tt.written, stderr)
			}
			if tt.written {
				want, _ := os.ReadFile(single)
				if b, _ := os.ReadFile(got); string(b) != string(want) {
					t.Errorf("directory mode wrote other bytes than single-file mode")
				}
			}
			if !hasLinePrefix(stderr, tt.line+src) {
				t.Errorf("directory mode does not say what it did with %s (want a line starting %q):\n%s", src, tt.line+src, stderr)
			}
		})
	}
}

func hasLinePrefix(s, prefix string) bool {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}
