package keystream

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// tinyParams makes Argon2id fast enough for unit tests.
func tinyParams() Argon2Params {
	return Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, Salt: bytes.Repeat([]byte{0x5a}, 16)}
}

func TestKeyFileRoundTripRandom(t *testing.T) {
	for _, mode := range []Mode{ModeExtended, ModeStrict} {
		k, err := GenerateKey(mode)
		if err != nil {
			t.Fatal(err)
		}
		kf, err := ParseKeyFile(k.MarshalKeyFile())
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if kf.NeedsPassphrase() || kf.Mode != mode || kf.ID != k.ID() || !bytes.Equal(kf.Master, k.secret.master[:]) {
			t.Fatalf("%s: parsed %v, want %v", mode, kf, k)
		}
		got, err := kf.Key(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID() != k.ID() || got.secret.master != k.secret.master || got.Mode() != mode {
			t.Fatalf("%s: round trip gave %v, want %v", mode, got, k)
		}
	}
}

func TestKeyFileRoundTripPassphrase(t *testing.T) {
	pass := []byte("tr0ub4dor&3")
	for _, mode := range []Mode{ModeExtended, ModeStrict} {
		p := tinyParams()
		k, err := DeriveKey(pass, p, mode)
		if err != nil {
			t.Fatal(err)
		}
		data := MarshalPassphraseKeyFile(k, p)
		if bytes.Contains(data, []byte(b64.EncodeToString(k.secret.master[:]))) {
			t.Fatal("passphrase key file contains the key")
		}
		kf, err := ParseKeyFile(data)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if !kf.NeedsPassphrase() || kf.Master != nil || kf.Mode != mode || kf.ID != k.ID() {
			t.Fatalf("%s: parsed %v", mode, kf)
		}
		if a := kf.Argon2; a.Time != p.Time || a.MemoryKiB != p.MemoryKiB || a.Threads != p.Threads || !bytes.Equal(a.Salt, p.Salt) {
			t.Fatalf("%s: parsed params %+v, want %+v", mode, *a, p)
		}
		got, err := kf.Key(pass)
		if err != nil {
			t.Fatal(err)
		}
		if got.secret.master != k.secret.master || got.Mode() != mode {
			t.Fatalf("%s: derived a different key", mode)
		}
		for _, wrong := range []string{"tr0ub4dor&4", "tr0ub4dor&3 ", "Tr0ub4dor&3"} {
			if _, err := kf.Key([]byte(wrong)); !errors.Is(err, ErrWrongPassphrase) {
				t.Errorf("%s: passphrase %q: err = %v, want ErrWrongPassphrase", mode, wrong, err)
			}
		}
		if _, err := kf.Key(nil); err == nil || errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("%s: empty passphrase: err = %v, want an empty-passphrase error", mode, err)
		}
	}
}

// TestKeyFileModeEdit: changing the mode line by hand must not yield a key
// that decrypts with the wrong rule.
func TestKeyFileModeEdit(t *testing.T) {
	k := mustKey(t, vecMaster, ModeExtended)
	edited := bytes.Replace(k.MarshalKeyFile(), []byte("mode: extended"), []byte("mode: strict"), 1)
	if _, err := ParseKeyFile(edited); err == nil || !strings.Contains(err.Error(), "id does not match") {
		t.Errorf("random key file with edited mode: err = %v", err)
	}

	pass := []byte("pass")
	pk, err := DeriveKey(pass, tinyParams(), ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	edited = bytes.Replace(MarshalPassphraseKeyFile(pk, tinyParams()), []byte("mode: extended"), []byte("mode: strict"), 1)
	kf, err := ParseKeyFile(edited)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kf.Key(pass); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("passphrase key file with edited mode: err = %v, want ErrWrongPassphrase", err)
	}
}

func TestParseKeyFileAccepts(t *testing.T) {
	k := mustKey(t, vecMaster, ModeExtended)
	base := string(k.MarshalKeyFile())
	tests := []struct{ name, data string }{
		{"canonical", base},
		{"no final newline", strings.TrimSuffix(base, "\n")},
		{"CRLF", strings.ReplaceAll(base, "\n", "\r\n")},
		{"no comments", "jpegveil-key v1\nmode: extended\nkey: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nid: " + k.ID() + "\n"},
		{"other order, blank lines", "jpegveil-key v1\n\nid: " + k.ID() + "\n# c\nkey: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\nmode: extended\n"},
	}
	for _, tc := range tests {
		kf, err := ParseKeyFile([]byte(tc.data))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if kf.ID != k.ID() {
			t.Errorf("%s: ID %s", tc.name, kf.ID)
		}
	}
}

func TestParseKeyFileRejects(t *testing.T) {
	k := mustKey(t, vecMaster, ModeExtended)
	random := string(k.MarshalKeyFile())
	pk, err := DeriveKey([]byte("x"), tinyParams(), ModeStrict)
	if err != nil {
		t.Fatal(err)
	}
	pass := string(MarshalPassphraseKeyFile(pk, tinyParams()))
	const keyB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	r := func(old, new string) string { return strings.Replace(random, old, new, 1) }
	p := func(old, new string) string { return strings.Replace(pass, old, new, 1) }

	tests := []struct {
		name string
		data string
		line int    // expected KeyFileError.Line; -1 to skip the check
		want string // substring of the error
	}{
		{"empty", "", 1, "not a jpegveil key file"},
		{"wrong header", r("jpegveil-key v1", "age-encryption.org/v1"), 1, "not a jpegveil key file"},
		{"future version", r("v1", "v2"), 1, "unsupported key file version"},
		{"header with space", r("v1", "v1 "), 1, "unsupported key file version"},
		{"header not first", "\n" + random, 1, "not a jpegveil key file"},
		{"unknown field", r("id:", "comment: hi\nid:"), 6, `unknown field "comment"`},
		{"upper-case field", r("mode:", "Mode:"), 4, `unknown field "Mode"`},
		{"no space after colon", r("mode: ", "mode:"), 4, `expected "name: value"`},
		{"bare line", r("id:", "hello\nid:"), 6, `expected "name: value"`},
		{"duplicate field", r("id:", "mode: extended\nid:"), 6, `duplicate field "mode" (first on line 4)`},
		{"duplicate key", r("id:", "key: "+keyB64+"\nid:"), 6, `duplicate field "key"`},
		{"missing id", r("id: "+k.ID()+"\n", ""), 0, `missing field "id"`},
		{"missing mode", r("mode: extended\n", ""), 0, `missing field "mode"`},
		{"missing key and kdf", r("key: "+keyB64+"\n", ""), 0, `missing field "key" or "kdf"`},
		{"empty value", r("mode: extended", "mode: "), 4, "value empty"},
		{"trailing space", r("mode: extended", "mode: extended "), 4, "surrounding spaces"},
		{"double space", r("mode: extended", "mode:  extended"), 4, "surrounding spaces"},
		{"tab", r("mode: extended", "mode: extended\t"), 4, "control character"},
		{"NUL", r("mode: extended", "mode: ext\x00ended"), 4, "control character"},
		{"lone CR", r("mode: extended", "mode: ext\rended"), 4, "control character"},
		{"bad UTF-8", r("# jpegveil", "# \xff"), 0, "UTF-8"},
		{"too large", random + "#" + strings.Repeat("x", 20000) + "\n", 0, "larger than"},
		{"unknown mode", r("mode: extended", "mode: paper"), 4, `mode "paper"`},
		{"mode case", r("mode: extended", "mode: Extended"), 4, "mode"},
		{"short key", r(keyB64, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="), 5, "key must be 32 bytes"},
		{"unpadded key", r(keyB64, strings.TrimSuffix(keyB64, "=")), 5, "key must be 32 bytes"},
		{"url base64 key", r(keyB64, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-="), 5, "key must be 32 bytes"},
		{"non-canonical key", r(keyB64, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9="), 5, "key must be 32 bytes"},
		{"upper-case id", r(k.ID(), strings.ToUpper(k.ID())), 6, "16 lower-case hex"},
		{"short id", r(k.ID(), k.ID()[:15]), 6, "16 lower-case hex"},
		{"wrong id", r(k.ID(), "0000000000000000"), 6, "id does not match"},
		{"key and kdf", r("id:", "kdf: argon2id\nid:"), 6, `both "key" and "kdf"`},
		{"salt in random file", r("id:", "salt: AAAAAAAAAAAAAAAAAAAAAA==\nid:"), 6, `field "salt" does not belong in a random key file`},

		{"key in passphrase file", p("salt:", "key: "+keyB64+"\nsalt:"), -1, `both "key" and "kdf"`},
		{"missing salt", p("salt: WlpaWlpaWlpaWlpaWlpaWg==\n", ""), 0, `missing field "salt" in a passphrase key file`},
		{"missing time", p("argon2id-time: 1\n", ""), 0, `missing field "argon2id-time"`},
		{"unknown kdf", p("kdf: argon2id", "kdf: scrypt"), 6, `unsupported kdf "scrypt"`},
		{"argon2i", p("kdf: argon2id", "kdf: argon2i"), 6, "unsupported kdf"},
		{"time 0", p("argon2id-time: 1", "argon2id-time: 0"), 0, "time 0 out of range"},
		{"time 101", p("argon2id-time: 1", "argon2id-time: 101"), 0, "time 101 out of range"},
		{"time leading zero", p("argon2id-time: 1", "argon2id-time: 01"), 7, "canonical decimal"},
		{"time plus", p("argon2id-time: 1", "argon2id-time: +1"), 7, "canonical decimal"},
		{"time negative", p("argon2id-time: 1", "argon2id-time: -1"), 7, "canonical decimal"},
		{"time hex", p("argon2id-time: 1", "argon2id-time: 0x1"), 7, "canonical decimal"},
		{"time overflow", p("argon2id-time: 1", "argon2id-time: 4294967296"), 7, "canonical decimal"},
		{"memory 5 GiB", p("argon2id-memory-kib: 64", "argon2id-memory-kib: 5242880"), 0, "memory 5242880 KiB out of range"},
		{"memory max+1", p("argon2id-memory-kib: 64", "argon2id-memory-kib: 4194305"), 0, "out of range"},
		{"memory below 8 per lane", p("argon2id-memory-kib: 64\nargon2id-threads: 1", "argon2id-memory-kib: 64\nargon2id-threads: 9"), 0, "memory 64 KiB out of range 72.."},
		{"threads 0", p("argon2id-threads: 1", "argon2id-threads: 0"), 0, "threads must be at least 1"},
		{"threads 256", p("argon2id-threads: 1", "argon2id-threads: 256"), 9, "at most 255"},
		{"short salt", p("WlpaWlpaWlpaWlpaWlpaWg==", "WlpaWlpaWlpaWlpaWlpa"), 0, "salt is 15 bytes"},
		{"long salt", p("WlpaWlpaWlpaWlpaWlpaWg==", b64.EncodeToString(make([]byte, 65))), 0, "salt is 65 bytes"},
		{"salt not base64", p("WlpaWlpaWlpaWlpaWlpaWg==", "not base64!"), 10, "salt must be standard padded base64"},
		{"passphrase id upper", p(pk.ID(), strings.ToUpper(pk.ID())), 11, "16 lower-case hex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kf, err := ParseKeyFile([]byte(tc.data))
			if err == nil {
				t.Fatalf("accepted: %v", kf)
			}
			var kfe *KeyFileError
			if !errors.As(err, &kfe) {
				t.Fatalf("error %T %v is not a *KeyFileError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if tc.line >= 0 && kfe.Line != tc.line {
				t.Errorf("error %q on line %d, want %d", err, kfe.Line, tc.line)
			}
			if strings.Contains(err.Error(), keyB64[:12]) {
				t.Errorf("error quotes the key: %q", err)
			}
		})
	}
}

func TestWriteReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	k := mustKey(t, vecMaster, ModeStrict)
	path := filepath.Join(dir, "key")
	if err := WriteKeyFile(path, k.MarshalKeyFile()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file created with mode %04o, want 0600", fi.Mode().Perm())
	}
	kf, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if kf.ID != k.ID() {
		t.Errorf("read ID %s, want %s", kf.ID, k.ID())
	}

	// Never overwrite, and leave the original alone.
	other := mustKey(t, bytes.Repeat([]byte{1}, 32), ModeStrict)
	err = WriteKeyFile(path, other.MarshalKeyFile())
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("overwrite: err = %v, want fs.ErrExist", err)
	}
	if kf, err := ReadKeyFile(path); err != nil || kf.ID != k.ID() {
		t.Errorf("after refused overwrite: %v, %v", kf, err)
	}
	// Not even through a dangling symlink (O_EXCL does not follow it).
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "target"), link); err == nil {
		if err := WriteKeyFile(link, k.MarshalKeyFile()); !errors.Is(err, fs.ErrExist) {
			t.Errorf("dangling symlink: err = %v, want fs.ErrExist", err)
		}
	}
}

func TestReadKeyFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	k := mustKey(t, vecMaster, ModeExtended)
	tests := []struct {
		perm fs.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o700, true},
		{0o644, false},
		{0o640, false},
		{0o604, false},
		{0o620, false},
		{0o602, false},
		{0o660, false},
		{0o666, false},
	}
	for _, tc := range tests {
		path := filepath.Join(t.TempDir(), "my key")
		if err := os.WriteFile(path, k.MarshalKeyFile(), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.perm); err != nil {
			t.Fatal(err)
		}
		_, err := ReadKeyFile(path)
		if tc.ok {
			if err != nil {
				t.Errorf("%04o: %v", tc.perm, err)
			}
			continue
		}
		if !errors.Is(err, ErrKeyFilePermissions) {
			t.Errorf("%04o: err = %v, want ErrKeyFilePermissions", tc.perm, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "chmod 600 '"+path+"'") || !strings.Contains(msg, path) {
			t.Errorf("%04o: error does not tell how to fix it: %q", tc.perm, msg)
		}
	}
}

func TestReadKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := filepath.Join(dir, "missing")
	bad := write("bad", []byte("jpegveil-key v1\nfoo: bar\n"))
	big := write("big", bytes.Repeat([]byte("#"), maxKeyFileSize+10))

	tests := []struct {
		name, path string
		is         error
		line       int
	}{
		{"missing", missing, fs.ErrNotExist, 0},
		{"directory", dir, nil, 0},
		{"syntax", bad, nil, 2},
		{"too large", big, nil, 0},
	}
	for _, tc := range tests {
		_, err := ReadKeyFile(tc.path)
		var kfe *KeyFileError
		if !errors.As(err, &kfe) {
			t.Errorf("%s: error %v is not a *KeyFileError", tc.name, err)
			continue
		}
		if kfe.Path != tc.path || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: error %q does not name the file", tc.name, err)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: error %v is not %v", tc.name, err, tc.is)
		}
		if kfe.Line != tc.line {
			t.Errorf("%s: line %d, want %d", tc.name, kfe.Line, tc.line)
		}
	}
}

func TestKeyFileKeyMisuse(t *testing.T) {
	tests := []struct {
		name string
		kf   KeyFile
	}{
		{"empty", KeyFile{}},
		{"both", KeyFile{Mode: ModeExtended, Master: vecMaster, Argon2: &Argon2Params{}}},
		{"bad master", KeyFile{Mode: ModeExtended, Master: vecMaster[:5]}},
		{"wrong id", KeyFile{Mode: ModeExtended, Master: vecMaster, ID: "0000000000000000"}},
		{"bad params", KeyFile{Mode: ModeExtended, Argon2: &Argon2Params{Time: 1}}},
	}
	for _, tc := range tests {
		if _, err := tc.kf.Key([]byte("x")); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestMarshalPassphraseKeyFileBadParams(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for invalid parameters")
		}
	}()
	MarshalPassphraseKeyFile(mustKey(t, vecMaster, ModeExtended), Argon2Params{})
}
