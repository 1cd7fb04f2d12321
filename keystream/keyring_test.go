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

// TestKeyringSingleKeyFile: every existing key file is a keyring of one key.
func TestKeyringSingleKeyFile(t *testing.T) {
	for _, name := range []string{"random.key", "passphrase.key"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		files, err := ParseKeyring(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		kf, err := ParseKeyFile(data)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 1 || files[0].ID != kf.ID || files[0].Mode != kf.Mode {
			t.Fatalf("%s: keyring %v, key file %v", name, files, kf)
		}
	}
}

func TestKeyringParse(t *testing.T) {
	a, _ := GenerateKey(ModeExtended)
	b, _ := GenerateKey(ModeStrict)
	c, _ := GenerateKey(ModeExtended)
	data := bytes.Join([][]byte{a.MarshalKeyFile(), b.MarshalKeyFile(), c.MarshalKeyFile()}, []byte("\n"))
	files, err := ParseKeyring(data)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := KeyringFromFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(ring.IDs(), " "), a.ID()+" "+b.ID()+" "+c.ID(); got != want {
		t.Fatalf("IDs %s, want %s", got, want)
	}
	if ring.Current().ID() != a.ID() || ring.Lookup(b.ID()).Mode() != ModeStrict || ring.Lookup("0000000000000000") != nil {
		t.Fatal("Current or Lookup wrong")
	}

	// Errors name the line in the whole file.
	bad := bytes.Replace(data, []byte("mode: strict"), []byte("mode: strikt"), 1)
	_, err = ParseKeyring(bad)
	var kfe *KeyFileError
	if !errors.As(err, &kfe) || kfe.Line <= strings.Count(string(a.MarshalKeyFile()), "\n") {
		t.Fatalf("damaged second key: %v", err)
	}
	dup := append(append([]byte{}, data...), a.MarshalKeyFile()...)
	if _, err := ParseKeyring(dup); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Fatalf("duplicate key: %v", err)
	}
	var many []byte
	for range MaxKeyringKeys + 1 {
		k, _ := GenerateKey(ModeExtended)
		many = append(many, k.MarshalKeyFile()...)
	}
	if _, err := ParseKeyring(many); err == nil {
		t.Fatal("keyring of too many keys accepted")
	}
	if _, err := NewKeyring(a, b, a); err == nil {
		t.Fatal("NewKeyring accepted a key twice")
	}
	if _, err := ParseKeyring([]byte("hello\n")); err == nil {
		t.Fatal("not a keyring accepted")
	}
}

func TestRotateKeyring(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	old, _ := GenerateKey(ModeStrict)
	if err := WriteKeyFile(path, old.MarshalKeyFile()); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	k1, _ := GenerateKey(ModeExtended)
	if err := RotateKeyring(path, k1); err != nil {
		t.Fatal(err)
	}
	k2, _ := GenerateKey(ModeExtended)
	if err := RotateKeyring(path, k2); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(after, before) {
		t.Fatal("rotation changed the bytes of the older keys")
	}
	files, err := ReadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := KeyringFromFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(ring.IDs(), " "), k2.ID()+" "+k1.ID()+" "+old.ID(); got != want {
		t.Fatalf("IDs %s, want %s", got, want)
	}
	if fi, err := os.Stat(path); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode after rotation: %v %v", fi.Mode(), err)
	}
	if err := RotateKeyring(path, k1); err == nil || !strings.Contains(err.Error(), "already in the keyring") {
		t.Fatalf("rotating to a key already there: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("rotation left files behind: %v", ents)
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := RotateKeyring(path, k2); !errors.Is(err, ErrKeyFilePermissions) {
			t.Fatalf("rotating a world-readable keyring: %v", err)
		}
	}
	if err := RotateKeyring(filepath.Join(dir, "missing"), k2); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("rotating a missing file: %v", err)
	}
}

// TestKeyringPassphrase: passphrase keys of a keyring share the passphrase.
func TestKeyringPassphrase(t *testing.T) {
	p := tinyParams()
	k, err := DeriveKey([]byte("pw"), p, ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := GenerateKey(ModeExtended)
	data := append(r.MarshalKeyFile(), MarshalPassphraseKeyFile(k, p)...)
	files, err := ParseKeyring(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := KeyringFromFiles(files, []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	ring, err := KeyringFromFiles(files, []byte("pw"))
	if err != nil || ring.Lookup(k.ID()) == nil {
		t.Fatalf("keyring %v: %v", ring, err)
	}
}

// TestKeyFileRefusesKeyring: a reader of single key files says that a
// keyring is one, rather than quietly taking its first key.
func TestKeyFileRefusesKeyring(t *testing.T) {
	a, _ := GenerateKey(ModeExtended)
	b, _ := GenerateKey(ModeExtended)
	_, err := ParseKeyFile(append(a.MarshalKeyFile(), b.MarshalKeyFile()...))
	if err == nil || !strings.Contains(err.Error(), "this is a keyring") {
		t.Fatalf("keyring read as a key file: %v", err)
	}
}
