package paperkey

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tyler-smith/go-bip39/wordlists"

	"jpegveil/keystream"
)

func testMaster() []byte {
	m := make([]byte, keystream.MasterKeySize)
	for i := range m {
		m[i] = byte(i)
	}
	return m
}

func TestFieldIsPrimitive(t *testing.T) {
	seen := map[uint16]bool{}
	for i := 0; i < gfOrder; i++ {
		if seen[gfExp[i]] || gfExp[i] == 0 {
			t.Fatalf("α^%d = %#x repeats: x^11+x^2+1 is not primitive", i, gfExp[i])
		}
		seen[gfExp[i]] = true
	}
}

func TestRoundTrip(t *testing.T) {
	for _, mode := range []keystream.Mode{keystream.ModeExtended, keystream.ModeStrict} {
		for _, master := range [][]byte{testMaster(), make([]byte, 32), bytes.Repeat([]byte{0xFF}, 32)} {
			words, err := Encode(master, mode)
			if err != nil {
				t.Fatal(err)
			}
			if len(words) != Words {
				t.Fatalf("%d words", len(words))
			}
			text := Format(words, "id", mode)
			got, gotMode, err := Decode(Parse(text))
			if err != nil || !bytes.Equal(got, master) || gotMode != mode {
				t.Errorf("%s: Decode(Parse(Format)) = %x, %s, %v", mode, got, gotMode, err)
			}
			// Four-letter abbreviations and any case are accepted.
			short := make([]string, len(words))
			for i, w := range words {
				short[i] = strings.ToUpper(w[:min(4, len(w))])
			}
			if got, _, err := Decode(short); err != nil || !bytes.Equal(got, master) {
				t.Errorf("abbreviated: %v", err)
			}
			// Typed as a sentence, with commas.
			if got, _, err := Decode(Parse(strings.Join(words, ", ") + ".")); err != nil || !bytes.Equal(got, master) {
				t.Errorf("with punctuation: %v", err)
			}
		}
	}
}

// TestEveryMistypedWordIsCaught replaces each word by every other word of
// the list: the checksum catches each one and names its position.
func TestEveryMistypedWordIsCaught(t *testing.T) {
	words, err := Encode(testMaster(), keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	for pos := range words {
		bad := append([]string(nil), words...)
		for _, w := range wordlists.English {
			if w == words[pos] {
				continue
			}
			bad[pos] = w
			_, _, err := Decode(bad)
			var ce *ChecksumError
			if !errors.As(err, &ce) || !errors.Is(err, ErrChecksum) {
				t.Fatalf("word %d replaced by %q: %v", pos+1, w, err)
			}
			if ce.Position != pos+1 {
				t.Fatalf("word %d replaced by %q: blamed word %d", pos+1, w, ce.Position)
			}
		}
	}
}

func TestTwoWrongWordsAreCaught(t *testing.T) {
	words, _ := Encode(testMaster(), keystream.ModeStrict)
	for i := range words {
		for j := i + 1; j < len(words); j++ {
			swapped := append([]string(nil), words...)
			swapped[i], swapped[j] = swapped[j], swapped[i]
			if words[i] == words[j] {
				continue
			}
			if _, _, err := Decode(swapped); !errors.Is(err, ErrChecksum) {
				t.Errorf("words %d and %d swapped: %v", i+1, j+1, err)
			}
			two := append([]string(nil), words...)
			two[i], two[j] = wordlists.English[(int(index[words[i]])+1)%2048], wordlists.English[(int(index[words[j]])+7)%2048]
			if _, _, err := Decode(two); !errors.Is(err, ErrChecksum) {
				t.Errorf("words %d and %d changed: %v", i+1, j+1, err)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	words, _ := Encode(testMaster(), keystream.ModeExtended)
	typo := append([]string(nil), words...)
	typo[6] = "zzzzq"
	tests := []struct {
		words []string
		want  string
	}{
		{words[:25], "25 words, want 26"},
		{append(words, "abandon"), "27 words, want 26"},
		{typo, `word 7 "zzzzq" is not in the word list`},
	}
	for _, tt := range tests {
		if _, _, err := Decode(tt.words); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("got %v, want %q", err, tt.want)
		}
	}
	if _, err := Encode(make([]byte, 31), keystream.ModeExtended); err == nil {
		t.Errorf("short master key accepted")
	}
}

// TestGoldenPaperKey pins the format (FORMAT.md §33) to a file.
func TestGoldenPaperKey(t *testing.T) {
	key, err := keystream.NewKeyFromBytes(testMaster(), keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	words, _ := Encode(testMaster(), keystream.ModeExtended)
	got := Format(words, key.ID(), keystream.ModeExtended)
	golden := filepath.Join("testdata", "extended.paperkey")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("paper key differs from %s:\n%s", golden, got)
	}
}

func TestMade(t *testing.T) {
	dir := t.TempDir()
	if ok, err := Made(dir, "b46616adf1de0deb"); ok || err != nil {
		t.Fatalf("before: %v %v", ok, err)
	}
	for range 2 {
		if err := RecordMade(dir, "b46616adf1de0deb", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := Made(dir, "b46616adf1de0deb"); !ok || err != nil {
		t.Errorf("after: %v %v", ok, err)
	}
	if ok, _ := Made(dir, "0000000000000000"); ok {
		t.Errorf("another key counts as backed up")
	}
	b, _ := os.ReadFile(filepath.Join(dir, MadeFileName))
	if strings.Count(string(b), "\n") != 1 {
		t.Errorf("recorded twice:\n%s", b)
	}
}
