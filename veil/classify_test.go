package veil

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"jpegveil/keystream"
)

// classifyKeys returns two fixed keys A and B of a mode.
func classifyKeys(t testing.TB, mode keystream.Mode) (a, b *keystream.Key) {
	t.Helper()
	ma, mb := make([]byte, 32), make([]byte, 32)
	for i := range ma {
		ma[i], mb[i] = byte(i), byte(0xA0+i)
	}
	a, err := keystream.NewKeyFromBytes(ma, mode)
	if err != nil {
		t.Fatal(err)
	}
	b, err = keystream.NewKeyFromBytes(mb, mode)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func mustRing(t testing.TB, keys ...*keystream.Key) *keystream.Keyring {
	t.Helper()
	r, err := keystream.NewKeyring(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// classifyTally counts verdicts per group for the closing table.
type classifyTally struct {
	total, unsure, wrong map[string]int
}

func newTally() *classifyTally {
	return &classifyTally{map[string]int{}, map[string]int{}, map[string]int{}}
}

// check records verdict v for an input whose truth is want (Plaintext,
// or Ciphertext under key; Unsure for "ours under no key of the ring").
// It reports a wrong answer, and an unsure one when mustDecide is set.
func (ct *classifyTally) check(t *testing.T, group, name string, v Verdict, want Class, key *keystream.Key, mustDecide bool) {
	t.Helper()
	ct.total[group]++
	switch {
	case v.Class == Unsure:
		ct.unsure[group]++
		if mustDecide {
			t.Errorf("%s %s: unsure (%v), want %v", group, name, v, want)
		}
	case want == Unsure && v.Class == Ciphertext:
		ct.wrong[group]++
		t.Errorf("%s %s: another key's ciphertext judged %v", group, name, v)
	case want == Unsure:
		// Another key's ciphertext called plaintext is a wrong answer too:
		// the proxy would encrypt it a second time.
		ct.wrong[group]++
		t.Errorf("%s %s: another key's ciphertext judged %v", group, name, v)
	case v.Class != want || want == Ciphertext && v.Key.ID() != key.ID():
		ct.wrong[group]++
		t.Errorf("%s %s: judged %v, want %v", group, name, v, want)
	}
}

func (ct *classifyTally) log(t *testing.T) {
	var groups []string
	for g := range ct.total {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var b strings.Builder
	fmt.Fprintf(&b, "%-36s %6s %7s %6s %6s\n", "group", "files", "unsure", "rate", "wrong")
	for _, g := range groups {
		fmt.Fprintf(&b, "%-36s %6d %7d %5.1f%% %6d\n", g, ct.total[g], ct.unsure[g], 100*float64(ct.unsure[g])/float64(ct.total[g]), ct.wrong[g])
	}
	t.Logf("classification table:\n%s", b.String())
}

// TestClassifyCorpus is the classification table over the shared corpus:
// every file that encrypts without error, its ciphertext under key A
// judged with a keyring holding A (as an older key behind B, so the
// classifier must pick it), and the same ciphertext judged with a keyring
// of B alone, in both masking modes. Natural photographs and their
// ciphertexts are never unsure; nothing is ever judged wrong.
func TestClassifyCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("shared corpus not found (%v)", err)
	}
	ct := newTally()
	for _, mode := range []keystream.Mode{keystream.ModeExtended, keystream.ModeStrict} {
		a, b := classifyKeys(t, mode)
		ringA, ringBA, ringB := mustRing(t, a), mustRing(t, b, a), mustRing(t, b)
		for _, dir := range []string{"photos", "conformance", "edge"} {
			files, err := filepath.Glob(filepath.Join(corpusDir, dir, "*"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				in, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				enc, _, err := encrypt(t, a, in, Options{})
				if err != nil {
					continue // files that do not parse are not photos the proxy stores
				}
				name := filepath.Base(f)
				natural := dir == "photos"
				g := dir + "/" + string(mode)
				ct.check(t, g+" plaintext", name, ClassifyBytes(ringA, in), Plaintext, nil, natural)
				ct.check(t, g+" plaintext (ring B,A)", name, ClassifyBytes(ringBA, in), Plaintext, nil, natural)
				ct.check(t, g+" ciphertext A (ring B,A)", name, ClassifyBytes(ringBA, enc), Ciphertext, a, natural)
				ct.check(t, g+" ciphertext A (ring B)", name, ClassifyBytes(ringB, enc), Unsure, nil, false)
			}
		}
	}
	ct.log(t)
}

// TestClassifySynthetic judges 1,000 generated images (flat, gradients,
// noise, text, tiny, smooth), their ciphertexts and another key's view of
// those: no wrong answer. Flat and noisy images may be unsure.
func TestClassifySynthetic(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 120
	}
	ct := newTally()
	for i := range n {
		kind, in := syntheticJPEG(i)
		mode := keystream.ModeExtended
		if i%2 == 1 {
			mode = keystream.ModeStrict
		}
		a, b := classifyKeys(t, mode)
		enc, _, err := encrypt(t, a, in, Options{})
		if err != nil {
			t.Fatalf("synthetic %d (%s): %v", i, kind, err)
		}
		name := fmt.Sprintf("#%d", i)
		ct.check(t, kind+" plaintext", name, ClassifyBytes(mustRing(t, a), in), Plaintext, nil, false)
		ct.check(t, kind+" ciphertext A", name, ClassifyBytes(mustRing(t, b, a), enc), Ciphertext, a, false)
		ct.check(t, kind+" ciphertext A (ring B)", name, ClassifyBytes(mustRing(t, b), enc), Unsure, nil, false)
	}
	ct.log(t)
}

// TestClassifyWriteSizes checks that the verdict does not depend on how the
// input is cut into writes, and that the classifier reads no further than
// its bound.
func TestClassifyWriteSizes(t *testing.T) {
	a, b := classifyKeys(t, keystream.ModeExtended)
	ring := mustRing(t, b, a)
	inputs := [][]byte{readCorpus(t, "photos/phone-12mp-q92.jpg"), readCorpus(t, "photos/hubble-q85-progressive.jpg")}
	for i := range 6 {
		_, d := syntheticJPEG(i)
		inputs = append(inputs, d)
	}
	for i, in := range inputs {
		enc, _, err := encrypt(t, a, in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, data := range [][]byte{in, enc} {
			want := ClassifyBytes(ring, data)
			for _, size := range []int{1, 7, 4096, 100000} {
				c := NewClassifier(ring)
				read := 0
				for read < len(data) && !c.Done() {
					n := min(size, len(data)-read)
					c.Write(data[read : read+n])
					read += n
				}
				got := c.Close()
				if size <= 4096 && c.Done() && read < len(data) {
					// Done came before the end: within the bound the
					// package doc promises to a streaming caller.
					if limit := ecsStart(data) + MaxClassifyScanBytes + ClassifyLookahead; read > limit {
						t.Errorf("input %d: done after %d bytes, bound %d", i, read, limit)
					}
				}
				if got.String() != want.String() || got.Pairs != want.Pairs {
					t.Errorf("input %d, writes of %d: %v, whole: %v", i, size, got, want)
				}
				if size == 1 && read > len(data) {
					t.Errorf("read past the end")
				}
			}
		}
	}
}

// FuzzClassify feeds arbitrary bytes to the classifier: it must never
// panic, and cutting the input into writes must not change the verdict.
func FuzzClassify(f *testing.F) {
	for _, name := range []string{"photo.jpg", "progressive.jpg", "arith.jpg"} {
		b, err := os.ReadFile(filepath.Join("../cmd/jpegveil/testdata/fixtures", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(4096))
	}
	_, tiny := syntheticJPEG(4)
	f.Add(tiny, uint16(3))
	a, b := classifyKeys(f, keystream.ModeExtended)
	s, _ := classifyKeys(f, keystream.ModeStrict)
	ring, err := keystream.NewKeyring(b, a, s)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, size uint16) {
		want := ClassifyBytes(ring, data)
		c := NewClassifier(ring)
		step := int(size%8192) + 1
		for i := 0; i < len(data) && !c.Done(); i += step {
			c.Write(data[i:min(len(data), i+step)])
		}
		if got := c.Close(); got.String() != want.String() {
			t.Fatalf("writes of %d: %v, whole: %v", step, got, want)
		}
		// A Reader judging while it transforms (Options.Classify)
		// reaches the same verdict and hands out the transform's output.
		got, out, err := judgeWithReader(t, a, ring, data, step, nil)
		if got.String() != want.String() || err != nil {
			t.Fatalf("judged while transforming, writes of %d: %v (%v), alone: %v", step, got, err, want)
		}
		if !bytes.Equal(out, transformBytes(t, a, data)) {
			t.Fatalf("judged while transforming, writes of %d: output differs from the transform's", step)
		}
	})
}

// ecsStart is the file offset of the first scan's entropy-coded data.
func ecsStart(b []byte) int {
	for i := 2; i+4 <= len(b); {
		l := int(b[i+2])<<8 | int(b[i+3])
		if b[i+1] == 0xDA {
			return i + 2 + l
		}
		i += 2 + l
	}
	return len(b)
}
