package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/keystream"
)

// TestEncryptedFileThroughProxy: a file `jpegveil encrypt` wrote, uploaded
// through a proxy with the same key (whose ledger never saw it), is stored
// exactly as the command wrote it, not decrypted, and downloads through
// the proxy as the original photo.
func TestEncryptedFileThroughProxy(t *testing.T) {
	photo := fakes.CorpusFile(t, "photos/chelsea-q90-422.jpg")
	dir := t.TempDir()
	keyFile, in, out := filepath.Join(dir, "key"), filepath.Join(dir, "in.jpg"), filepath.Join(dir, "out.jpg")
	key, err := keystream.GenerateKey(keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	if err := keystream.WriteKeyFile(keyFile, key.MarshalKeyFile()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, photo, 0o600); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	if code := run([]string{"encrypt", "-k", keyFile, in, "-o", out}, &app{stdout: io.Discard, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}); code != 0 {
		t.Fatalf("encrypt: exit %d: %s", code, errb.String())
	}
	enc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	svc := fakes.NewPhotos(t)
	p := proxytest.StartWith(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), proxytest.Options{Keys: []*keystream.Key{key}})
	resp, id := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "POST", "https://photos.test/upload", bytes.NewReader(enc)))
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %s %s", resp.Status, id)
	}
	svc.Mu.Lock()
	stored := svc.Objects[string(id)]
	svc.Mu.Unlock()
	if !bytes.Equal(stored, enc) {
		t.Fatalf("the encrypted file was not stored as the command wrote it (stored the plaintext: %v)", bytes.Equal(stored, photo))
	}
	if _, got := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", "https://photos.test/objects/"+string(id), nil)); !bytes.Equal(got, photo) {
		t.Fatal("the encrypted file does not download as the original photo")
	}
}
