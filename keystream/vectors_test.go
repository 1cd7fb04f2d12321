package keystream

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata instead of checking them")

// The fixed inputs of the golden vectors. They are written into
// testdata/vectors.json too, so that the file stands alone for other
// implementations.
var (
	vecMaster = func() []byte {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}()
	vecLabel    = "image"
	vecSegments = [][]byte{
		{0xff, 0xdb, 0x00, 0x05, 0x00, 0x01, 0x02},
		{0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00},
	}
	vecSkeletons = [][]byte{
		func() []byte { // 32 bytes: 00 01 … 1f
			b := make([]byte, 32)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(),
		func() []byte { // 80 bytes, crossing a ChaCha20 block boundary
			b := make([]byte, 80)
			for i := range b {
				b[i] = byte(i*29) & 0xfe
			}
			return b
		}(),
		{0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02},
	}
	vecPassphrase = "correct horse battery staple"
	vecParams     = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, Salt: []byte("jpegveil-salt-16")}
)

type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }
func (h *hexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	*h = v
	return err
}

type vectorFile struct {
	Comment    string           `json:"comment"`
	Master     hexBytes         `json:"master"`
	Label      string           `json:"label"`
	Segments   []hexBytes       `json:"segments"`
	Skeletons  []hexBytes       `json:"skeletons"`
	Modes      []modeVectors    `json:"modes"`
	Passphrase passphraseVector `json:"passphrase"`
}

type modeVectors struct {
	Mode         Mode       `json:"mode"`
	KeyID        string     `json:"key_id"`
	KeystreamKey hexBytes   `json:"keystream_key"`
	NonceKey     hexBytes   `json:"nonce_key"`
	LedgerKey    hexBytes   `json:"ledger_key"`
	KeyIDKey     hexBytes   `json:"key_id_key"`
	Nonces       []hexBytes `json:"nonces"`
	Keystreams   []hexBytes `json:"keystreams"`
}

type passphraseVector struct {
	Passphrase string   `json:"passphrase"`
	Time       uint32   `json:"argon2id_time"`
	MemoryKiB  uint32   `json:"argon2id_memory_kib"`
	Threads    uint8    `json:"argon2id_threads"`
	Salt       hexBytes `json:"salt"`
	Master     hexBytes `json:"master"`
	KeyIDs     []string `json:"key_ids"` // extended, then strict
}

// computeVectors runs the package on the fixed inputs.
func computeVectors(t *testing.T) vectorFile {
	v := vectorFile{
		Comment: "jpegveil keystream golden vectors; see FORMAT.md part II. All byte strings are hex.",
		Master:  vecMaster,
		Label:   vecLabel,
	}
	for _, s := range vecSegments {
		v.Segments = append(v.Segments, s)
	}
	for _, s := range vecSkeletons {
		v.Skeletons = append(v.Skeletons, s)
	}
	for _, mode := range []Mode{ModeExtended, ModeStrict} {
		k, err := NewKeyFromBytes(vecMaster, mode)
		if err != nil {
			t.Fatal(err)
		}
		mv := modeVectors{
			Mode:         mode,
			KeyID:        k.ID(),
			KeystreamKey: bytes.Clone(k.secret.sub.keystream[:]),
			NonceKey:     bytes.Clone(k.secret.sub.nonce[:]),
			LedgerKey:    k.LedgerKey(),
			KeyIDKey:     bytes.Clone(k.secret.sub.keyID[:]),
		}
		c := k.NewChain(vecLabel)
		for _, s := range vecSegments {
			c.AbsorbSegment(s)
		}
		for _, sk := range vecSkeletons {
			ks := make([]byte, len(sk))
			c.ChunkKeystream(sk, ks)
			mv.Nonces = append(mv.Nonces, bytes.Clone(c.digest[:nonceSize]))
			mv.Keystreams = append(mv.Keystreams, ks)
		}
		v.Modes = append(v.Modes, mv)
	}
	var pks []*Key
	for _, mode := range []Mode{ModeExtended, ModeStrict} {
		pk, err := DeriveKey([]byte(vecPassphrase), vecParams, mode)
		if err != nil {
			t.Fatal(err)
		}
		pks = append(pks, pk)
	}
	if pks[0].secret.master != pks[1].secret.master {
		t.Error("the mode must not change the Argon2id output")
	}
	v.Passphrase = passphraseVector{
		Passphrase: vecPassphrase,
		Time:       vecParams.Time,
		MemoryKiB:  vecParams.MemoryKiB,
		Threads:    vecParams.Threads,
		Salt:       vecParams.Salt,
		Master:     bytes.Clone(pks[0].secret.master[:]),
		KeyIDs:     []string{pks[0].ID(), pks[1].ID()},
	}
	return v
}

// checkGolden compares got with testdata/name, or rewrites the file under
// -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed: THE KEY OR CIPHER FORMAT CHANGED, existing photos would no longer decrypt.\n"+
			"If this is intended, bump the format version and run go test -update.\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestGoldenVectors(t *testing.T) {
	got, err := json.MarshalIndent(computeVectors(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "vectors.json", append(got, '\n'))
}

// TestGoldenKeyFiles pins the exact bytes the marshalers write, and checks
// that the golden files parse back into the vector keys.
func TestGoldenKeyFiles(t *testing.T) {
	k, err := NewKeyFromBytes(vecMaster, ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "random.key", k.MarshalKeyFile())

	pk, err := DeriveKey([]byte(vecPassphrase), vecParams, ModeStrict)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "passphrase.key", MarshalPassphraseKeyFile(pk, vecParams))

	for _, tc := range []struct {
		file string
		pass string
		id   string
	}{
		{"random.key", "", k.ID()},
		{"passphrase.key", vecPassphrase, pk.ID()},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		kf, err := ParseKeyFile(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		got, err := kf.Key([]byte(tc.pass))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if got.ID() != tc.id {
			t.Errorf("%s: key ID %s, want %s", tc.file, got.ID(), tc.id)
		}
	}
}

// TestFormatDocMatchesVectors keeps FORMAT.md honest: every vector
// value and both golden key files must appear in it. Whitespace is removed
// first because the document wraps long hex strings.
func TestFormatDocMatchesVectors(t *testing.T) {
	doc, err := os.ReadFile("../FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	squeezed := string(bytes.Join(bytes.Fields(doc), nil))
	v := computeVectors(t)
	want := []string{v.Passphrase.Master.hex(), v.Passphrase.Salt.hex()}
	want = append(want, v.Passphrase.KeyIDs...)
	for _, s := range append(v.Segments, v.Skeletons...) {
		want = append(want, s.hex())
	}
	for _, m := range v.Modes {
		want = append(want, m.KeyID, m.KeystreamKey.hex(), m.NonceKey.hex(), m.LedgerKey.hex(), m.KeyIDKey.hex())
		for i := range m.Nonces {
			want = append(want, m.Nonces[i].hex(), m.Keystreams[i].hex())
		}
	}
	for _, s := range want {
		if !strings.Contains(squeezed, s) {
			t.Errorf("FORMAT.md lacks the vector value %s", s)
		}
	}
	for _, name := range []string{"random.key", "passphrase.key"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(doc, data) {
			t.Errorf("FORMAT.md does not show testdata/%s verbatim", name)
		}
	}
}

func (h hexBytes) hex() string { return hex.EncodeToString(h) }
