package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"jpegveil/internal/fakes"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// restoreExport builds an export folder that mixes our ciphertexts under
// the two keys of a rotated keyring, plaintext photos, another key's
// ciphertexts and damaged files. It returns the keyring file, a ledger of
// our ciphertexts, the export folder and, by file, the row it must land in
// and the bytes restore must write ("" for none).
func restoreExport(t *testing.T) (keyFile, ledgerFile, export string, want map[string]restoreWant) {
	dir := t.TempDir()
	keyFile = filepath.Join(dir, "key")
	mustRun(t, 0, "keygen", "-o", keyFile)
	mustRun(t, 0, "key", "rotate", "-k", keyFile)
	ring := readRing(t, keyFile)
	current, older := ring.Keys()[0], ring.Keys()[1]
	stranger, err := keystream.GenerateKey(keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	ledgerFile = filepath.Join(dir, "ledger.db")
	led, err := ledger.OpenBolt(ledgerFile, ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	encrypt := func(key *keystream.Key, photo []byte, record bool) []byte {
		var out bytes.Buffer
		res, err := veil.Encrypt(key, &out, bytes.NewReader(photo))
		if err != nil {
			t.Fatal(err)
		}
		if record {
			if err := led.Add(context.Background(), ledger.Fingerprint(res.Out), ledger.Entry{KeyID: key.ID(), Added: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		return out.Bytes()
	}
	coffee := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	astronaut := fakes.CorpusFile(t, "photos/astronaut-q85-progressive.jpg")
	motorcycle := fakes.CorpusFile(t, "photos/motorcycle-q80-restart8.jpg")
	hubble := fakes.CorpusFile(t, "photos/hubble-q85-progressive.jpg")
	chelsea := fakes.CorpusFile(t, "photos/chelsea-q90-422.jpg")
	cut := encrypt(current, hubble, true)
	files2 := map[string]struct {
		data []byte
		want restoreWant
	}{
		"Takeout/Photos/2024/coffee.jpg":      {encrypt(current, coffee, true), restoreWant{"decrypted", coffee}},
		"Takeout/Photos/2023/astronaut.jpg":   {encrypt(older, astronaut, true), restoreWant{"decrypted", astronaut}},
		"Takeout/Photos/2020/motorcycle.jpg":  {motorcycle, restoreWant{"not ours", motorcycle}},
		"Takeout/Photos/2020/motorcycle.json": {[]byte(`{"title":"motorcycle.jpg"}`), restoreWant{"not ours", []byte(`{"title":"motorcycle.jpg"}`)}},
		"Takeout/Shared/chelsea.jpg":          {encrypt(stranger, chelsea, false), restoreWant{"not ours", nil}},
		"Takeout/Photos/2024/hubble-cut.jpg":  {cut[:len(cut)*2/3], restoreWant{"damaged", nil}},
		"Takeout/Photos/2024/garbage.jpg":     {append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 3}, bytes.Repeat([]byte{7}, 64)...), restoreWant{"damaged", nil}},
	}
	export = filepath.Join(dir, "export")
	want = map[string]restoreWant{}
	for name, f := range files2 {
		p := filepath.Join(export, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		w := f.want
		if w.row == "not ours" && w.data == nil {
			w.data = f.data // copied unchanged
		}
		want[filepath.FromSlash(name)] = w
	}
	return keyFile, ledgerFile, export, want
}

type restoreWant struct {
	row  string
	data []byte // what OUT holds for the file; nil: nothing
}

// TestRestoreDrill: every file of a mixed export lands in its row of the
// table, by the classifier and by the ledger, and decrypted files are
// exactly the photos.
func TestRestoreDrill(t *testing.T) {
	keyFile, ledgerFile, export, want := restoreExport(t)
	for _, withLedger := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "library")
		args := []string{"restore", "-k", keyFile, export, out}
		if withLedger {
			args = append(args, "--ledger", ledgerFile)
		}
		code, stdout, stderr := runCLI(t, "", args...)
		if code != 1 {
			t.Errorf("ledger %v: exit status %d, want 1 (damaged files): %s", withLedger, code, stderr)
		}
		line := regexp.MustCompile(`(?m)^(decrypted|not ours|damaged|not written) +(.+?): `)
		got := map[string]string{}
		for _, m := range line.FindAllStringSubmatch(stdout, -1) {
			got[m[2]] = m[1]
		}
		for name, w := range want {
			if got[name] != w.row {
				t.Errorf("ledger %v: %s in row %q, want %q\n%s", withLedger, name, got[name], w.row, stdout)
			}
			b, err := os.ReadFile(filepath.Join(out, name))
			switch {
			case w.row == "damaged" && err == nil:
				t.Errorf("ledger %v: damaged %s was written", withLedger, name)
			case w.row != "damaged" && !bytes.Equal(b, w.data):
				t.Errorf("ledger %v: %s in the library is not what it should be (%v)", withLedger, name, err)
			}
		}
		for _, row := range []string{"decrypted   2", "not ours    3", "damaged     2"} {
			if !strings.Contains(stdout, "\n"+row+"\n") {
				t.Errorf("ledger %v: table lacks %q:\n%s", withLedger, row, stdout)
			}
		}
	}
}
