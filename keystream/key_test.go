package keystream

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		in   string
		want Mode
		ok   bool
	}{
		{"extended", ModeExtended, true},
		{"strict", ModeStrict, true},
		{"", "", false},
		{"Extended", "", false},
		{"STRICT", "", false},
		{" strict", "", false},
		{"strict\n", "", false},
		{"paper", "", false},
	}
	for _, tc := range tests {
		got, err := ParseMode(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestNewKeyFromBytes(t *testing.T) {
	tests := []struct {
		name   string
		master []byte
		mode   Mode
		ok     bool
	}{
		{"extended", vecMaster, ModeExtended, true},
		{"strict", vecMaster, ModeStrict, true},
		{"short", vecMaster[:31], ModeExtended, false},
		{"long", append(bytes.Clone(vecMaster), 0), ModeExtended, false},
		{"nil", nil, ModeExtended, false},
		{"empty mode", vecMaster, "", false},
		{"bad mode", vecMaster, "Strict", false},
	}
	for _, tc := range tests {
		k, err := NewKeyFromBytes(tc.master, tc.mode)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
			continue
		}
		if tc.ok && k.Mode() != tc.mode {
			t.Errorf("%s: Mode() = %q", tc.name, k.Mode())
		}
	}
}

func TestNewKeyFromBytesCopies(t *testing.T) {
	master := bytes.Clone(vecMaster)
	k := mustKey(t, master, ModeExtended)
	id := k.ID()
	master[0] ^= 1
	if k.ID() != id || mustKey(t, vecMaster, ModeExtended).ID() != id {
		t.Fatal("Key aliases the caller's master slice")
	}
}

func TestKeyID(t *testing.T) {
	ext := mustKey(t, vecMaster, ModeExtended)
	str := mustKey(t, vecMaster, ModeStrict)
	for _, k := range []*Key{ext, str} {
		if !validKeyID(k.ID()) {
			t.Errorf("ID %q is not 16 lower-case hex digits", k.ID())
		}
		if want := hex.EncodeToString(k.secret.sub.keyID[:8]); k.ID() != want {
			t.Errorf("ID %q, want %q", k.ID(), want)
		}
	}
	if ext.ID() == str.ID() {
		t.Error("the mode does not change the key ID")
	}
	if bytes.Equal(ext.LedgerKey(), str.LedgerKey()) {
		t.Error("the mode does not change the ledger key")
	}
}

func TestSubkeysDistinct(t *testing.T) {
	k := mustKey(t, vecMaster, ModeExtended)
	keys := [][]byte{k.secret.master[:], k.secret.sub.keystream[:], k.secret.sub.nonce[:], k.secret.sub.ledger[:], k.secret.sub.keyID[:]}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if bytes.Equal(keys[i], keys[j]) {
				t.Errorf("keys %d and %d are equal", i, j)
			}
		}
	}
}

func TestLedgerKeyIsCopy(t *testing.T) {
	k := mustKey(t, vecMaster, ModeExtended)
	l := k.LedgerKey()
	if len(l) != 32 {
		t.Fatalf("LedgerKey is %d bytes", len(l))
	}
	l[0] ^= 0xff
	if bytes.Equal(l, k.LedgerKey()) {
		t.Fatal("LedgerKey returns the key's own storage")
	}
}

func TestGenerateKey(t *testing.T) {
	a, err := GenerateKey(ModeStrict)
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateKey(ModeStrict)
	if err != nil {
		t.Fatal(err)
	}
	if a.secret.master == b.secret.master || a.ID() == b.ID() {
		t.Error("two generated keys are equal")
	}
	if a.Mode() != ModeStrict {
		t.Errorf("mode %q", a.Mode())
	}
	if _, err := GenerateKey("bogus"); err == nil {
		t.Error("GenerateKey accepted an invalid mode")
	}
}

func TestZeroKeyPanics(t *testing.T) {
	for name, f := range map[string]func(k *Key){
		"ID":             func(k *Key) { k.ID() },
		"Mode":           func(k *Key) { k.Mode() },
		"LedgerKey":      func(k *Key) { k.LedgerKey() },
		"MarshalKeyFile": func(k *Key) { k.MarshalKeyFile() },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("zero Key did not panic")
				}
			}()
			f(new(Key))
		})
	}
}

// TestKeyRedacted prints keys, chains and key files every way fmt allows
// and checks that no secret appears, in any encoding.
func TestKeyRedacted(t *testing.T) {
	k := mustKey(t, vecMaster, ModeExtended)
	kf, err := ParseKeyFile(k.MarshalKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, s := range [][]byte{k.secret.master[:], k.secret.sub.keystream[:], k.secret.sub.nonce[:], k.secret.sub.ledger[:]} {
		secrets = append(secrets,
			hex.EncodeToString(s[:8]),
			strings.ToUpper(hex.EncodeToString(s[:8])),
			base64.StdEncoding.EncodeToString(s)[:12],
			fmt.Sprint(s[:8])[1:12], // decimal, as %v prints a byte slice
			fmt.Sprintf("%q", s[:8]),
		)
	}
	allVerbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"}
	// fmt calls no methods through unexported fields, and for verbs it
	// considers wrong for a pointer (%s, %q…) it prints the pointee raw.
	// Keeping the secrets behind a pointer covers the usual verbs there.
	valueVerbs := []string{"%v", "%+v", "%#v"}
	tests := []struct {
		name  string
		v     any
		verbs []string
		id    bool // output must show the key ID
	}{
		{"*Key", k, allVerbs, true},
		{"Key", *k, allVerbs, true},
		{"[]*Key", []*Key{k}, allVerbs, true},
		{"exported Key field", struct{ K Key }{*k}, allVerbs, true},
		{"exported *Key field", struct{ K *Key }{k}, allVerbs, true},
		{"unexported *Key field", struct{ k *Key }{k}, valueVerbs, false},
		{"unexported Key field", struct{ k Key }{*k}, valueVerbs, false},
		{"*KeyFile", kf, allVerbs, true},
		{"KeyFile", *kf, allVerbs, true},
		{"*Chain", k.NewChain("image"), allVerbs, false},
		{"Chain", *k.NewChain("image"), allVerbs, false},
		{"unexported *Chain field", struct{ c *Chain }{k.NewChain("image")}, valueVerbs, false},
	}
	for _, tc := range tests {
		for _, verb := range tc.verbs {
			out := fmt.Sprintf(verb, tc.v)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("fmt %s of %s leaks a secret: %s", verb, tc.name, out)
				}
			}
			if tc.id && !strings.Contains(out, k.ID()) {
				t.Errorf("fmt %s of %s does not show the key ID: %s", verb, tc.name, out)
			}
		}
	}
	if got, want := k.String(), "keystream.Key{id="+k.ID()+", mode=extended}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := fmt.Sprintf("%v", new(Key)); got != "keystream.Key{invalid}" {
		t.Errorf("zero Key prints %q", got)
	}
	var nilKey *Key
	if got := fmt.Sprintf("%v", nilKey); got != "<nil>" {
		t.Errorf("nil *Key prints %q", got)
	}
}
