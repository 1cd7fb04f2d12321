package veil

import (
	"bytes"
	"io"
	"slices"
	"testing"
	"time"

	"jpegveil/keystream"
)

// classifyBenchFiles are photos of the shared corpus: a 12 MP phone photo,
// a small baseline photo and a progressive one.
var classifyBenchFiles = []string{
	"photos/phone-12mp-q92.jpg",
	"photos/astronaut-q75-420.jpg",
	"photos/hubble-q85-progressive.jpg",
}

// BenchmarkClassifyVsEncrypt shows, per file, the cost of encrypting it;
// of encrypting it while judging its direction in the same pass
// (Options.Classify with a Scratch: what the proxy does), with a keyring
// of one key and of two (after a rotation, the old key's keystream is
// computed over the prefix as well); and of classifying it on its own with
// a keyring of two keys (what inspect and restore do, and the proxy when a
// transform stopped before its verdict). The classifier's goal is at most
// 10 % of the encryption: the judged encryption's extra time over the
// encryption.
//
// The "ratio" rows measure that goal. Rows measured one after the other
// are seconds apart, and on a shared machine their speed drifts by more
// than the classifier costs; so each iteration of a ratio row is a round
// of four batches of about 20 ms, one per operation, back to back, and the
// row reports the median over its rounds of each operation's time as a
// percentage of the encryption's in the same round: judge1-% and judge2-%
// (extra time of the judged encryptions), alone-% (the classifier on its
// own). Each batch pays for the collections its own allocations cause.
func BenchmarkClassifyVsEncrypt(b *testing.B) {
	for _, f := range classifyBenchFiles {
		in := readCorpus(b, f)
		a, k2 := classifyKeys(b, keystream.ModeExtended)
		one, two := mustRing(b, a), mustRing(b, a, k2)
		scratch := new(Scratch) // as a proxy lends buffers from one body to the next
		ops := []struct {
			name string
			run  func(b *testing.B)
		}{
			{"encrypt", func(b *testing.B) {
				if _, err := Transform(a, io.Discard, bytes.NewReader(in), Options{}); err != nil {
					b.Fatal(err)
				}
			}},
			{"encrypt+judge-1key", judgeOp(a, one, in, scratch)},
			{"encrypt+judge-2keys", judgeOp(a, two, in, scratch)},
			{"classify-alone", func(b *testing.B) {
				if v := ClassifyBytes(two, in); v.Class != Plaintext {
					b.Fatal(v)
				}
			}},
		}
		for _, op := range ops {
			b.Run(op.name+"/"+f, func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				for b.Loop() {
					op.run(b)
				}
			})
		}
		b.Run("ratio/"+f, func(b *testing.B) {
			start := time.Now()
			ops[0].run(b)
			batch := max(1, int(20*time.Millisecond/max(time.Since(start), 1)))
			var rounds [][]float64
			for b.Loop() {
				var took []time.Duration
				for _, op := range ops {
					start := time.Now()
					for range batch {
						op.run(b)
					}
					took = append(took, time.Since(start))
				}
				rounds = append(rounds, []float64{
					100 * float64(took[1]-took[0]) / float64(took[0]),
					100 * float64(took[2]-took[0]) / float64(took[0]),
					100 * float64(took[3]) / float64(took[0]),
				})
			}
			for i, unit := range []string{"judge1-%", "judge2-%", "alone-%"} {
				col := make([]float64, len(rounds))
				for r := range rounds {
					col[r] = rounds[r][i]
				}
				slices.Sort(col)
				b.ReportMetric(col[len(col)/2], unit)
			}
			b.ReportMetric(0, "ns/op") // an iteration is a round of batches, not one operation
		})
	}
}

// judgeOp encrypts in while judging it with ring, which must find it a
// plaintext, borrowing from scratch.
func judgeOp(key *keystream.Key, ring *keystream.Keyring, in []byte, scratch *Scratch) func(b *testing.B) {
	return func(b *testing.B) {
		r := NewReader(key, bytes.NewReader(in), Options{Classify: ring, Scratch: scratch})
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		if v := r.Verdict(); v.Class != Plaintext {
			b.Fatal(v)
		}
	}
}
