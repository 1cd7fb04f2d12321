package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func loadOrCreate(t *testing.T, dir string, opts CAOptions) (*CA, bool) {
	t.Helper()
	ca, created, err := LoadOrCreateCA(dir, opts)
	if err != nil {
		t.Fatalf("LoadOrCreateCA: %v", err)
	}
	return ca, created
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func TestLoadOrCreateCARoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "ca")
	opts := CAOptions{PermittedDomains: testDomains()}
	ca, created := loadOrCreate(t, dir, opts)
	if !created {
		t.Fatal("created = false for an empty directory")
	}
	certPath, keyPath := filepath.Join(dir, CertFileName), filepath.Join(dir, KeyFileName)
	if runtime.GOOS != "windows" {
		for _, tt := range []struct {
			path string
			want fs.FileMode
		}{{dir, 0o700}, {certPath, 0o644}, {keyPath, 0o600}} {
			if got := mode(t, tt.path); got != tt.want {
				t.Errorf("%s has mode %04o, want %04o", tt.path, got, tt.want)
			}
		}
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatal("key file is not a PKCS#8 PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil || !k.(*ecdsa.PrivateKey).Equal(ca.key) {
		t.Fatalf("key file does not hold the CA key: %v", err)
	}
	if certPEM, _ := os.ReadFile(certPath); !bytes.Equal(certPEM, ca.CertPEM()) {
		t.Fatal("cert file does not hold the CA certificate")
	}

	loaded, created := loadOrCreate(t, dir, opts)
	if created {
		t.Fatal("created = true when loading")
	}
	if loaded.Fingerprint() != ca.Fingerprint() {
		t.Fatal("loaded a different CA")
	}
	// The loaded CA issues leaves that verify against the original root.
	leaf, err := loaded.NewIssuer(IssuerOptions{}).Certificate("photos.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyLeaf(ca, leaf.Leaf, "photos.example.com", time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRefusesInsecureKey(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
	dir := t.TempDir()
	loadOrCreate(t, dir, CAOptions{})
	keyPath := filepath.Join(dir, KeyFileName)
	tests := []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o640, false},
		{0o604, false},
		{0o644, false},
		{0o660, false},
		{0o610, false},
		{0o601, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%04o", tt.mode), func(t *testing.T) {
			if err := os.Chmod(keyPath, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadOrCreateCA(dir, CAOptions{})
			if tt.ok {
				if err != nil {
					t.Fatalf("mode %04o refused: %v", tt.mode, err)
				}
				return
			}
			var ike *InsecureKeyFileError
			if !errors.As(err, &ike) || ike.Path != keyPath || ike.Mode.Perm() != tt.mode {
				t.Fatalf("err = %v, want *InsecureKeyFileError", err)
			}
			if !strings.Contains(err.Error(), "chmod 600") {
				t.Errorf("error does not say how to fix it: %v", err)
			}
		})
	}
}

func TestLoadRefusesMismatchedKey(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	loadOrCreate(t, a, CAOptions{})
	loadOrCreate(t, b, CAOptions{})
	otherKey, err := os.ReadFile(filepath.Join(b, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a, KeyFileName), otherKey, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = LoadOrCreateCA(a, CAOptions{})
	var kme *KeyMismatchError
	if !errors.As(err, &kme) || kme.KeyFile != filepath.Join(a, KeyFileName) {
		t.Fatalf("err = %v, want *KeyMismatchError", err)
	}
}

func TestLoadRefusesExpiredCA(t *testing.T) {
	dir := t.TempDir()
	start := t0()
	loadOrCreate(t, dir, CAOptions{Now: func() time.Time { return start }, Validity: 30 * 24 * time.Hour})
	later := func() time.Time { return start.Add(31 * 24 * time.Hour) }
	ca, created, err := LoadOrCreateCA(dir, CAOptions{Now: later})
	var cee *CAExpiredError
	if ca != nil || created || !errors.As(err, &cee) {
		t.Fatalf("LoadOrCreateCA = %v, %v, %v; want *CAExpiredError", ca, created, err)
	}
	msg := err.Error()
	for _, want := range []string{"expired", "delete", filepath.Join(dir, CertFileName), filepath.Join(dir, KeyFileName)} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	// The files are left alone: regenerating is the user's decision.
	if _, err := os.Stat(filepath.Join(dir, KeyFileName)); err != nil {
		t.Error("expired CA key was removed")
	}
}

func TestLoadRefusesIncompleteCA(t *testing.T) {
	for _, remove := range []string{CertFileName, KeyFileName} {
		t.Run(remove, func(t *testing.T) {
			dir := t.TempDir()
			loadOrCreate(t, dir, CAOptions{})
			if err := os.Remove(filepath.Join(dir, remove)); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadOrCreateCA(dir, CAOptions{})
			var ice *IncompleteCAError
			if !errors.As(err, &ice) || ice.Missing != filepath.Join(dir, remove) {
				t.Fatalf("err = %v, want *IncompleteCAError", err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory has %d files, want the remaining one untouched", len(entries))
			}
		})
	}
}

func TestLoadChecksConstraints(t *testing.T) {
	dir := t.TempDir()
	loadOrCreate(t, dir, CAOptions{PermittedDomains: []string{"example.com"}})
	tests := []struct {
		domains []string
		missing []string
	}{
		{[]string{"example.com"}, nil},
		{[]string{"photos.example.com"}, nil}, // covered by example.com
		{nil, nil},                            // nothing requested
		{[]string{"example.com", "googleapis.com", "icloud-content.com"}, []string{"googleapis.com", "icloud-content.com"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.domains, ","), func(t *testing.T) {
			_, _, err := LoadOrCreateCA(dir, CAOptions{PermittedDomains: tt.domains})
			if tt.missing == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var cme *ConstraintsMismatchError
			if !errors.As(err, &cme) || strings.Join(cme.Missing, ",") != strings.Join(tt.missing, ",") {
				t.Fatalf("err = %v, want *ConstraintsMismatchError missing %v", err, tt.missing)
			}
		})
	}
}

func TestLoadRefusesMalformedFiles(t *testing.T) {
	leafCA := mustCA(t, CAOptions{})
	leaf, err := leafCA.NewIssuer(IssuerOptions{}).Certificate("photos.example.com")
	if err != nil {
		t.Fatal(err)
	}
	leafKeyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	ecKeyDER, err := x509.MarshalECPrivateKey(leafCA.key)
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }

	tests := []struct {
		name       string
		cert, key  []byte // nil keeps the generated file
		brokenFile string
	}{
		{"cert not PEM", []byte("hello"), nil, CertFileName},
		{"cert wrong block", pemOf("PRIVATE KEY", leafKeyDER), nil, CertFileName},
		{"cert garbage DER", pemOf("CERTIFICATE", []byte{0x30, 0x03, 0x02, 0x01, 0x01}), nil, CertFileName},
		{"key not PEM", nil, []byte("hello"), KeyFileName},
		{"key SEC1 not PKCS#8", nil, pemOf("EC PRIVATE KEY", ecKeyDER), KeyFileName},
		{"key garbage", nil, pemOf("PRIVATE KEY", []byte{1, 2, 3}), KeyFileName},
		{"leaf instead of CA", pemOf("CERTIFICATE", leaf.Leaf.Raw), pemOf("PRIVATE KEY", leafKeyDER), CertFileName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			loadOrCreate(t, dir, CAOptions{})
			if tt.cert != nil {
				if err := os.WriteFile(filepath.Join(dir, CertFileName), tt.cert, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.key != nil {
				if err := os.WriteFile(filepath.Join(dir, KeyFileName), tt.key, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := LoadOrCreateCA(dir, CAOptions{})
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != filepath.Join(dir, tt.brokenFile) {
				t.Fatalf("err = %v, want *FileError for %s", err, tt.brokenFile)
			}
		})
	}
}

func TestWriteNewFileNeverClobbers(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFileName)
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := writeNewFile(path, []byte("new"), 0o600)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "precious" {
		t.Fatalf("existing file overwritten or removed: %q", got)
	}
}
