package main

// The QR code is decoded with github.com/makiuchi-d/gozxing, the Go port of
// ZXing, an independent decoder: a backup that only our own encoder could
// read back would prove nothing.

import (
	"image"
	_ "image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"jpegveil/keystream"
	"jpegveil/keystream/paperkey"
)

// decodeQR returns the text of the QR code in a PNG file.
func decodeQR(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	// The PNG is the generated code itself, not a photo of it: PURE_BARCODE
	// reads it by its modules, as the zxing documentation advises for
	// such images, instead of searching for finder patterns.
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return res.GetText()
}

func keyID(t *testing.T, path string) string {
	t.Helper()
	kf, err := keystream.ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return kf.ID
}

func TestKeyBackupRestoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	mustRun(t, 0, "keygen", "--mode", "strict", "-o", key)
	id := keyID(t, key)

	code, sheet, stderr := runCLI(t, "", "key", "backup", "-k", key, "--qr-dir", dir)
	if code != 0 {
		t.Fatalf("backup: %d %s", code, stderr)
	}
	if len(paperkey.Parse(sheet)) != paperkey.Words || !strings.Contains(sheet, "Key ID "+id) {
		t.Fatalf("sheet:\n%s", sheet)
	}
	png := filepath.Join(dir, "jpegveil-key-"+id+".png")
	if fi, err := os.Stat(png); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("QR file: %v", err)
	}
	if !strings.Contains(stderr, png) {
		t.Errorf("stderr does not name the QR file: %q", stderr)
	}
	if got := decodeQR(t, png); got != sheet {
		t.Errorf("QR code holds\n%q\nwant the sheet\n%q", got, sheet)
	}

	// From the printed sheet, from the QR code's text, and typed by hand:
	// abbreviated, in capitals, without numbers or comments.
	typed := strings.ToUpper(strings.Join(func() []string {
		var s []string
		for _, w := range paperkey.Parse(sheet) {
			s = append(s, w[:min(4, len(w))])
		}
		return s
	}(), " "))
	for i, input := range []string{sheet, decodeQR(t, png), typed} {
		out := filepath.Join(dir, "restored"+string(rune('a'+i)))
		code, stdout, stderr := runCLI(t, input, "key", "restore", "-o", out)
		if code != 0 || stdout != "key ID: "+id+"\n" {
			t.Fatalf("restore %d: %d %q %q", i, code, stdout, stderr)
		}
		orig, _ := os.ReadFile(key)
		got, _ := os.ReadFile(out)
		if string(got) != string(orig) {
			t.Errorf("restore %d: key file differs from the original", i)
		}
	}

	// A second backup does not overwrite the PNG.
	if code, _, stderr := runCLI(t, "", "key", "backup", "-k", key, "--qr-dir", dir); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("second backup: %d %q", code, stderr)
	}
}

func TestKeyRestoreCatchesOneMistypedWord(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	mustRun(t, 0, "keygen", "-o", key)
	_, sheet, _ := runCLI(t, "", "key", "backup", "-k", key, "--qr-dir", dir)
	words := paperkey.Parse(sheet)
	// Word 9 replaced by another word of the list.
	wrong := "abandon"
	if words[8] == wrong {
		wrong = "zoo"
	}
	bad := strings.Replace(sheet, " 9. "+words[8]+" ", " 9. "+wrong+" ", 1)
	if bad == sheet {
		t.Fatal("test did not change the sheet")
	}
	code, _, stderr := runCLI(t, bad, "key", "restore", "-o", filepath.Join(dir, "out"))
	if code != 1 || !strings.Contains(stderr, "the words do not match their check words: word 9 is probably wrong") {
		t.Errorf("restore: %d %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Errorf("a key file was written")
	}
}

func TestKeyBackupOfPassphraseKey(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	a := func(stdin string) *app {
		var out, errb strings.Builder
		return &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, weakArgon2: true}
	}
	if code := run([]string{"keygen", "--passphrase", "-o", key}, a("correct horse\n")); code != 0 {
		t.Fatal("keygen --passphrase failed")
	}
	id := keyID(t, key)
	code, sheet, stderr := runCLI(t, "", "key", "backup", "-k", key, "--qr-dir", dir)
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, s := range []string{"derived from a passphrase", "remember it", "salt: ", "argon2id-memory-kib: ", "id: " + id} {
		if !strings.Contains(sheet, s) {
			t.Errorf("passphrase backup lacks %q:\n%s", s, sheet)
		}
	}
	if got := decodeQR(t, filepath.Join(dir, "jpegveil-key-"+id+".png")); got != sheet {
		t.Errorf("QR code differs from the sheet")
	}
	out := filepath.Join(dir, "restored")
	if code, stdout, stderr := runCLI(t, sheet, "key", "restore", "-o", out); code != 0 || stdout != "key ID: "+id+"\n" {
		t.Fatalf("restore: %d %q %q", code, stdout, stderr)
	}
	kf, err := keystream.ReadKeyFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := kf.Key([]byte("correct horse")); err != nil || k.ID() != id {
		t.Errorf("restored passphrase key: %v", err)
	}
}

func TestKeyBackupRecordedInStateDir(t *testing.T) {
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	cfg := filepath.Join(dir, "config.yaml")
	if code, _, stderr := runCLI(t, "", "init", "--config", cfg, "--state-dir", stateDir); code != 0 {
		t.Fatal(stderr)
	}
	key := filepath.Join(stateDir, "key")
	if _, err := os.Stat(key); err != nil {
		mustRun(t, 0, "keygen", "-o", key)
	}
	id := keyID(t, key)
	if ok, _ := paperkey.Made(stateDir, id); ok {
		t.Fatal("backup recorded before one was made")
	}
	if code, _, stderr := runCLI(t, "", "key", "backup", "--config", cfg, "--qr-dir", dir); code != 0 {
		t.Fatal(stderr)
	}
	if ok, err := paperkey.Made(stateDir, id); !ok || err != nil {
		t.Errorf("backup not recorded: %v", err)
	}
}

// TestKeyBackupOfKeyring: every key of a rotated keyring is backed up, the
// current one first, and each sheet restores its own key.
func TestKeyBackupOfKeyring(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	mustRun(t, 0, "keygen", "-o", key)
	mustRun(t, 0, "key", "rotate", "-k", key)
	files, err := keystream.ReadKeyring(key)
	if err != nil || len(files) != 2 {
		t.Fatalf("keyring: %d keys, %v", len(files), err)
	}
	code, out, stderr := runCLI(t, "", "key", "backup", "-k", key, "--qr-dir", dir)
	if code != 0 {
		t.Fatalf("backup of a keyring: %d %s", code, stderr)
	}
	const head = "# jpegveil paper key v1"
	sheets := strings.SplitAfterN(out, "\n\n", -1)
	if len(sheets) != 2 || !strings.HasPrefix(sheets[0], head) || !strings.HasPrefix(sheets[1], head) {
		t.Fatalf("want two sheets, got:\n%s", out)
	}
	for i, f := range files {
		if !strings.Contains(sheets[i], "Key ID "+f.ID) {
			t.Errorf("sheet %d is not of key %s:\n%s", i, f.ID, sheets[i])
		}
		if got := decodeQR(t, filepath.Join(dir, "jpegveil-key-"+f.ID+".png")); got != strings.TrimSuffix(sheets[i], "\n") && got != sheets[i] {
			t.Errorf("QR code of key %s differs from its sheet", f.ID)
		}
		restored := filepath.Join(dir, "restored-"+f.ID)
		if code, stdout, stderr := runCLI(t, sheets[i], "key", "restore", "-o", restored); code != 0 || stdout != "key ID: "+f.ID+"\n" {
			t.Errorf("restore of key %s: %d %q %q", f.ID, code, stdout, stderr)
		}
	}
}
