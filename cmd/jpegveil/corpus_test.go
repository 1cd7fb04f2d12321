package main

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jpegveil/keystream"
	"jpegveil/veil"
)

// corpusDir is the shared test corpus (photos, conformance, edge),
// relative to this package.
const corpusDir = "../../../shared/corpus"

// TestCorpusDirectoryRoundTrip encrypts the whole corpus in directory mode
// with --allow-partial, decrypts the result the same way, and checks every
// file: the ciphertext has the input's size and decrypting restores the
// input byte for byte, for valid, unsupported and broken files alike.
func TestCorpusDirectoryRoundTrip(t *testing.T) {
	if _, err := os.Stat(filepath.Join(corpusDir, "photos")); err != nil {
		t.Skipf("shared corpus not found at %s: %v", corpusDir, err)
	}
	tmp := t.TempDir()
	key := filepath.Join(tmp, "key")
	enc := filepath.Join(tmp, "enc")
	dec := filepath.Join(tmp, "dec")
	mustRun(t, 0, "keygen", "-o", key)
	encOut := mustRun(t, 0, "encrypt", "-k", key, corpusDir, "-o", enc, "--allow-partial")
	decOut := mustRun(t, 0, "decrypt", "-k", key, enc, "-o", dec, "--allow-partial", "--force-direction")
	t.Logf("encrypt: %s", lastLine(encOut))
	t.Logf("decrypt: %s", lastLine(decOut))

	var files, changed int
	err := filepath.WalkDir(corpusDir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(corpusDir, path)
		in, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		ct, err := os.ReadFile(filepath.Join(enc, rel))
		if err != nil {
			return err
		}
		pt, err := os.ReadFile(filepath.Join(dec, rel))
		if err != nil {
			return err
		}
		files++
		if len(ct) != len(in) {
			t.Errorf("%s: encrypted size %d, input %d", rel, len(ct), len(in))
		}
		if !bytes.Equal(pt, in) {
			t.Errorf("%s: decrypt(encrypt(f)) differs from f", rel)
		}
		if !bytes.Equal(ct, in) {
			changed++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files round-trip, %d of them changed by encryption", files, changed)
	if files < 100 || changed < 50 {
		t.Errorf("only %d files, %d changed: is the corpus complete?", files, changed)
	}
}

// TestCorpusEdgeStrict runs the edge folder without --allow-partial: the
// files the parser fully handles are written exactly as with
// --allow-partial, every other JPEG is listed as a failure and not written,
// and the exit status is 1.
func TestCorpusEdgeStrict(t *testing.T) {
	edge := filepath.Join(corpusDir, "edge")
	if _, err := os.Stat(edge); err != nil {
		t.Skipf("shared corpus not found at %s: %v", corpusDir, err)
	}
	tmp := t.TempDir()
	key := filepath.Join(tmp, "key")
	mustRun(t, 0, "keygen", "-o", key)
	stderr := mustRun(t, 1, "encrypt", "-k", key, edge, "-o", filepath.Join(tmp, "strict"))
	mustRun(t, 0, "encrypt", "-k", key, edge, "-o", filepath.Join(tmp, "partial"), "--allow-partial")
	entries, err := os.ReadDir(edge)
	if err != nil {
		t.Fatal(err)
	}
	var written, failed int
	for _, e := range entries {
		strict, err := os.ReadFile(filepath.Join(tmp, "strict", e.Name()))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			failed++
			if !strings.Contains(stderr, "jpegveil: "+filepath.Join(edge, e.Name())+": ") {
				t.Errorf("%s was not written and not listed", e.Name())
			}
		case err != nil:
			t.Fatal(err)
		default:
			written++
			partial, err := os.ReadFile(filepath.Join(tmp, "partial", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(strict, partial) {
				t.Errorf("%s: output differs with and without --allow-partial", e.Name())
			}
		}
	}
	t.Logf("edge: %d written, %d refused; %s", written, failed, lastLine(stderr))
	if failed == 0 {
		t.Error("no edge file was refused")
	}
}

// mustRun runs a command line in-process, checks its exit status, and
// returns its stderr.
// corpusWithKey returns a conformance file of the shared corpus (its path
// and bytes), a temporary directory and a fresh key file in it; it skips the
// test when the corpus is missing.
func corpusWithKey(t *testing.T, name string) (src string, in []byte, tmp, key string) {
	t.Helper()
	src = filepath.Join(corpusDir, "conformance", name)
	in, err := os.ReadFile(src)
	if err != nil {
		t.Skipf("shared corpus not found: %v", err)
	}
	tmp = t.TempDir()
	key = filepath.Join(tmp, "key")
	mustRun(t, 0, "keygen", "-o", key)
	return src, in, tmp, key
}

func mustRun(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, _, stderr := runCLI(t, "", args...)
	if code != want {
		t.Fatalf("jpegveil %s: exit status %d, want %d\n%s", strings.Join(args, " "), code, want, stderr)
	}
	return stderr
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// TestMetadataProblemRefused: pillow's exif_gps.jpg has a GPS latitude that
// cannot be encrypted (a single RATIONAL of 4294967295). encrypt refuses the
// file without --allow-partial, writes it with a warning with that flag, and
// accepts it with --keep-gps; decrypting with the same flags restores it.
func TestMetadataProblemRefused(t *testing.T) {
	src, in, tmp, key := corpusWithKey(t, "pillow-Tests-images-exif_gps.jpg")
	out := filepath.Join(tmp, "out.jpg")
	stderr := mustRun(t, 1, "encrypt", "-k", key, src, "-o", out)
	if !strings.Contains(stderr, "metadata cannot be protected: gps at byte 24: GPSLatitude") {
		t.Errorf("stderr: %s", stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Error("written although refused")
	}
	stderr = mustRun(t, 0, "encrypt", "-k", key, src, "-o", out, "--allow-partial")
	if !strings.Contains(stderr, "warning: metadata cannot be protected") || !strings.Contains(stderr, "not (fully) encrypted") {
		t.Errorf("stderr: %s", stderr)
	}
	dec := filepath.Join(tmp, "dec.jpg")
	mustRun(t, 0, "decrypt", "-k", key, out, "-o", dec, "--allow-partial", "--force-direction")
	if b, _ := os.ReadFile(dec); !bytes.Equal(b, in) {
		t.Error("--allow-partial output does not decrypt exactly")
	}
	keep := filepath.Join(tmp, "keep.jpg")
	mustRun(t, 0, "encrypt", "-k", key, src, "-o", keep, "--keep-gps")
	mustRun(t, 0, "decrypt", "-k", key, keep, "-o", filepath.Join(tmp, "keepdec.jpg"), "--keep-gps", "--force-direction")
	if b, _ := os.ReadFile(filepath.Join(tmp, "keepdec.jpg")); !bytes.Equal(b, in) {
		t.Error("--keep-gps does not round-trip")
	}
}

// TestKeepSwitchesCLI: --keep-thumbnail and --keep-mpf leave their part of
// the MPO file byte for byte, and decrypting with the same flags restores
// it.
func TestKeepSwitchesCLI(t *testing.T) {
	src, in, tmp, key := corpusWithKey(t, "pillow-Tests-images-sugarshack.mpo")
	// The thumbnail at 694 (5316 bytes), the MPF image from 60008.
	thumb := func(b []byte) []byte { return b[694 : 694+5316] }
	mpf := func(b []byte) []byte { return b[60008:] }
	for _, c := range []struct {
		flag               string
		keepThumb, keepMPF bool
	}{{"", false, false}, {"--keep-thumbnail", true, false}, {"--keep-mpf", false, true}} {
		out, dec := filepath.Join(tmp, "out"+c.flag+".jpg"), filepath.Join(tmp, "dec"+c.flag+".jpg")
		args := []string{"encrypt", "-k", key, src, "-o", out}
		dargs := []string{"decrypt", "-k", key, out, "-o", dec, "--force-direction"}
		if c.flag != "" {
			args, dargs = append(args, c.flag), append(dargs, c.flag)
		}
		mustRun(t, 0, args...)
		mustRun(t, 0, dargs...)
		enc, _ := os.ReadFile(out)
		if bytes.Equal(thumb(enc), thumb(in)) != c.keepThumb || bytes.Equal(mpf(enc), mpf(in)) != c.keepMPF {
			t.Errorf("%q: thumbnail kept %v, MPF kept %v", c.flag, bytes.Equal(thumb(enc), thumb(in)), bytes.Equal(mpf(enc), mpf(in)))
		}
		if b, _ := os.ReadFile(dec); !bytes.Equal(b, in) {
			t.Errorf("%q: does not round-trip", c.flag)
		}
	}
}

// TestCLIOutputIsTheTransforms checks the one-pass direction judging of
// encrypt and decrypt (openTransform) against veil.Transform over the
// corpus photos: encrypting with a key alone and with keyrings whose
// current key is another, of the same masking mode or not, writes exactly
// that key's transform; decrypting with the keyrings gives the photos back
// both from the current key's ciphertexts (the judged transform goes on)
// and from the older key's (a new transform reads the bytes judged
// again).
func TestCLIOutputIsTheTransforms(t *testing.T) {
	photos := filepath.Join(corpusDir, "photos")
	if _, err := os.Stat(photos); err != nil {
		t.Skipf("shared corpus not found at %s: %v", corpusDir, err)
	}
	tmp := t.TempDir()
	dir := func(name string) string { return filepath.Join(tmp, name) }
	// a.key; ab.key and as.key, a.key rotated to a new extended and a new
	// strict key.
	a := dir("a.key")
	mustRun(t, 0, "keygen", "-o", a)
	b, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct{ name, mode string }{{"ab.key", "extended"}, {"as.key", "strict"}} {
		if err := os.WriteFile(dir(k.name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		mustRun(t, 0, "key", "rotate", "-k", dir(k.name), "--mode", k.mode)
	}
	ab, as := dir("ab.key"), dir("as.key")
	ringA, ringAB, ringAS := readRing(t, a), readRing(t, ab), readRing(t, as)

	// The photos the library transforms whole (not the arithmetic-coded
	// one).
	entries, err := os.ReadDir(photos)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{}
	if err := os.Mkdir(dir("in"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		in, err := os.ReadFile(filepath.Join(photos, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := veil.Transform(ringA.Current(), io.Discard, bytes.NewReader(in), veil.Options{}); err != nil {
			continue
		}
		inputs[e.Name()] = in
		if err := os.WriteFile(filepath.Join(dir("in"), e.Name()), in, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(inputs) < 10 {
		t.Fatalf("only %d photos: is the corpus complete?", len(inputs))
	}
	mustRun(t, 0, "encrypt", "-k", a, dir("in"), "-o", dir("encA"))
	mustRun(t, 0, "encrypt", "-k", ab, dir("in"), "-o", dir("encB"))
	mustRun(t, 0, "decrypt", "-k", ab, dir("encA"), "-o", dir("decA"))
	mustRun(t, 0, "decrypt", "-k", ab, dir("encB"), "-o", dir("decB"))
	mustRun(t, 0, "encrypt", "-k", as, dir("in"), "-o", dir("encS"))
	mustRun(t, 0, "decrypt", "-k", as, dir("encA"), "-o", dir("decAS"))
	mustRun(t, 0, "decrypt", "-k", as, dir("encS"), "-o", dir("decS"))

	for name, in := range inputs {
		for _, c := range []struct {
			out  string
			want []byte
		}{
			{"encA", transformed(t, ringA.Current(), in)},
			{"encB", transformed(t, ringAB.Current(), in)},
			{"encS", transformed(t, ringAS.Current(), in)},
			{"decA", in},
			{"decB", in},
			{"decAS", in},
			{"decS", in},
		} {
			got, err := os.ReadFile(filepath.Join(dir(c.out), name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("%s/%s differs from the library's transform", c.out, name)
			}
		}
	}
}

// readRing reads the keyring file at path (no passphrase).
func readRing(t *testing.T, path string) *keystream.Keyring {
	t.Helper()
	files, err := keystream.ReadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keystream.KeyringFromFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func transformed(t *testing.T, key *keystream.Key, in []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := veil.Transform(key, &out, bytes.NewReader(in), veil.Options{}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
