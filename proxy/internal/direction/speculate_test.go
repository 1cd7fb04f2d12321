package direction

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"jpegveil/internal/fakes"
	"jpegveil/internal/phonefiles"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/veil"
)

// recordingLedger fails its Adds while fail is set, and remembers when the
// first Add came.
type recordingLedger struct {
	*ledger.Memory
	fail  bool
	added int
}

func (l *recordingLedger) Add(ctx context.Context, fp ledger.Fingerprint, e ledger.Entry) error {
	if l.fail {
		return errors.New("disk full")
	}
	l.added++
	return l.Memory.Add(ctx, fp, e)
}

// speculate runs a body through a speculating prefix as the proxy does:
// the speculative options, the decision, Reader over the whole body read
// through a tee. It returns the output, the tee's copy, whether Reader
// went on with the speculative transform, and the ledger's adds before
// the first output byte was read.
func speculate(t *testing.T, d *Decider, way Way, body []byte, chunk int) (out, teed []byte, adopted bool, addsBefore int) {
	t.Helper()
	ctx := context.Background()
	p := speculating(ctx, d, way, veil.Options{StopAtError: way == Upload})
	rest := filled(t, p, &chunkReader{b: body, n: chunk})
	dec, err := d.Decide(ctx, way, p.Verdict(), "")
	if err != nil {
		t.Fatal(err)
	}
	spVR := p.vr
	var tee bytes.Buffer
	vr := p.Reader(dec, dec.Options(ctx, d, veil.Options{StopAtError: way == Upload}), io.TeeReader(p.Replay(rest), &tee))
	adopted = vr == spVR
	if l, ok := d.Ledger.(*recordingLedger); ok {
		addsBefore = l.added
	}
	first := make([]byte, 1)
	n, err := vr.Read(first)
	rest2, err2 := io.ReadAll(vr)
	if err == io.EOF {
		err = nil
	}
	if err != nil || err2 != nil {
		t.Fatalf("reading the transform: %v, %v", err, err2)
	}
	return append(first[:n], rest2...), tee.Bytes(), adopted, addsBefore
}

// speculating returns a prefix set up as crypt.decide sets one up: it
// asks d's ledger, and speculates on d's decision for a body going way,
// with the transform options opts.
func speculating(ctx context.Context, d *Decider, way Way, opts veil.Options) *Prefix {
	p := d.NewPrefix(0)
	p.AskLedger(d.Knows(ctx))
	spec := d.Speculation(way)
	p.Speculate(spec, spec.Options(ctx, d, opts))
	return p
}

// filled fills p from src and returns what Replay is to read after the
// held bytes: the rest of src, or nil when Fill read it to its end.
func filled(t *testing.T, p *Prefix, src io.Reader) io.Reader {
	t.Helper()
	eof, err := p.Fill(src)
	if err != nil {
		t.Fatal(err)
	}
	if eof {
		return nil
	}
	return src
}

// chunkReader hands out b n bytes at a time.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// TestSpeculationIsAdoptedOnlyWhenRight: the prefix's transform is gone on
// with exactly when the decision is the one it speculated on (a plaintext
// upload, a download of the current key's ciphertext); its output is then
// byte for byte a new transform's, its ledger records are made before any
// output, and the caller's tee still sees the whole body. Every other
// decision gets a new transform, with the same output as without the
// prefix. The prefixes judge with one Scratch, as a proxy's do: each body
// reuses what the earlier ones' judging handed back.
func TestSpeculationIsAdoptedOnlyWhenRight(t *testing.T) {
	a, b := fixtureKey(t, 0), fixtureKey(t, 100)
	scratch := new(veil.Scratch)
	photo := fakes.CorpusFile(t, "photos/phone-12mp-q92.jpg")
	small := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	for _, tc := range []struct {
		name    string
		way     Way
		body    []byte
		ring    []int // 0: a, 1: b; the first is current
		known   bool  // the ledger knows the body
		adopted bool
	}{
		{"plaintext upload", Upload, photo, []int{0}, false, true},
		{"small plaintext upload", Upload, small, []int{0, 1}, false, true},
		{"our ciphertext re-uploaded", Upload, nil, []int{0}, false, false},
		{"known ciphertext re-uploaded", Upload, nil, []int{0}, true, false},
		{"download of our ciphertext", Download, nil, []int{0}, false, true},
		{"download of a known ciphertext", Download, nil, []int{0}, true, false},
		{"download of a plaintext", Download, photo, []int{0}, false, false},
		{"download under the old key", Download, nil, []int{1, 0}, false, false},
	} {
		keys := []*keystream.Key{a, b}
		r := ring(t, keys[tc.ring[0]])
		if len(tc.ring) > 1 {
			r = ring(t, keys[tc.ring[0]], keys[tc.ring[1]])
		}
		body := tc.body
		if body == nil {
			var enc bytes.Buffer
			if _, err := veil.Encrypt(a, &enc, bytes.NewReader(photo)); err != nil {
				t.Fatal(err)
			}
			body = enc.Bytes()
		}
		for _, chunk := range []int{1 << 20, 5000} {
			l := &recordingLedger{Memory: ledger.NewMemory()}
			d := &Decider{Ring: r, Ledger: l, Scratch: scratch}
			reference := &Decider{Ring: r, Ledger: ledger.NewMemory()}
			if tc.known {
				fp, _ := verdict(t, r, body).Fingerprint(a.ID())
				for _, m := range []*ledger.Memory{l.Memory, reference.Ledger.(*ledger.Memory)} {
					m.Add(context.Background(), ledger.Fingerprint(fp), ledger.Entry{KeyID: a.ID()})
				}
			}
			want := transform(t, reference, tc.way, body, veil.Options{StopAtError: tc.way == Upload})
			out, teed, adopted, addsBefore := speculate(t, d, tc.way, body, chunk)
			if adopted != tc.adopted {
				t.Errorf("%s (reads of %d): adopted %v, want %v", tc.name, chunk, adopted, tc.adopted)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("%s (reads of %d): the output is not a new transform's", tc.name, chunk)
			}
			if !bytes.Equal(teed, body) {
				t.Errorf("%s (reads of %d): the tee saw %d of %d bytes", tc.name, chunk, len(teed), len(body))
			}
			if tc.adopted && tc.way == Upload && len(tc.body) > 100 && addsBefore < 1 {
				t.Errorf("%s (reads of %d): %d ledger records before the first output byte", tc.name, chunk, addsBefore)
			}
		}
	}
}

// TestSpeculationRecordFailure: when the records the speculative transform
// queued cannot be made, the prefix does not go on with it; the new
// transform meets the ledger's failure before any of the image's data.
func TestSpeculationRecordFailure(t *testing.T) {
	a := fixtureKey(t, 0)
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	l := &recordingLedger{Memory: ledger.NewMemory()}
	d := &Decider{Ring: ring(t, a), Ledger: l}
	ctx := context.Background()
	p := NewPrefix(d.Ring, 0)
	spec := d.Speculation(Upload)
	p.Speculate(spec, spec.Options(ctx, d, veil.Options{StopAtError: true}))
	if _, err := p.Fill(bytes.NewReader(photo)); err != nil {
		t.Fatal(err)
	}
	dec, err := d.Decide(ctx, Upload, p.Verdict(), "")
	if err != nil {
		t.Fatal(err)
	}
	l.fail = true
	spVR := p.vr
	vr := p.Reader(dec, dec.Options(ctx, d, veil.Options{StopAtError: true}), p.Replay(nil))
	if vr == spVR {
		t.Fatal("went on with the speculative transform though its records failed")
	}
	out, err := io.ReadAll(vr)
	sos := bytes.Index(photo, []byte{0xFF, 0xDA})
	if scan := sos + 2 + (int(photo[sos+2])<<8 | int(photo[sos+3])); err == nil || len(out) > scan {
		t.Fatalf("read %d bytes, error %v; want the ledger's failure before the first scan", len(out), err)
	}
}

// TestSpeculativeDownloadOfPhoneFiles: a download of a phone file of ours
// (an Ultra HDR gain map, a motion photo's video after the image) goes on
// with the speculative transform, which decrypts the items after the
// primary image as a new transform would. A download records nothing in
// the ledger, so nothing after the adoption may try to.
func TestSpeculativeDownloadOfPhoneFiles(t *testing.T) {
	a := fixtureKey(t, 0)
	r := ring(t, a)
	for _, l := range phonefiles.Layouts() {
		var enc bytes.Buffer
		if _, err := veil.Encrypt(a, &enc, bytes.NewReader(l.Build(phonefiles.NewParts(640, 480, 5000, 7)))); err != nil {
			t.Fatal(err)
		}
		body := enc.Bytes()
		want := transform(t, &Decider{Ring: r, Ledger: ledger.NewMemory()}, Download, body, veil.Options{})
		func() {
			defer func() {
				if e := recover(); e != nil {
					t.Errorf("%s: the download panicked: %v", l.Name, e)
				}
			}()
			out, teed, adopted, _ := speculate(t, &Decider{Ring: r, Ledger: ledger.NewMemory()}, Download, body, 1<<20)
			if !adopted {
				t.Errorf("%s: the speculative transform was not gone on with", l.Name)
			}
			if !bytes.Equal(out, want) || !bytes.Equal(teed, body) {
				t.Errorf("%s: the output is not a new transform's, or the tee missed bytes", l.Name)
			}
		}()
	}
}

// TestSpeculationVerdictIsTheClassifiers: the speculative transform of an
// upload encrypts, and may stop where a new encryption would (a metadata
// item it cannot encrypt); the verdict must still be the classifier's
// over the body. A ciphertext of ours whose GPS item was kept unencrypted
// (KeepGPS) and does not parse as one the proxy encrypts is recognised,
// and goes up unchanged.
func TestSpeculationVerdictIsTheClassifiers(t *testing.T) {
	a := fixtureKey(t, 0)
	r := ring(t, a)
	gps := fakes.CorpusFile(t, "conformance/pillow-Tests-images-exif_gps.jpg")
	photo := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	i := bytes.Index(gps, []byte{0xFF, 0xE1})
	app1 := gps[i : i+2+(int(gps[i+2])<<8|int(gps[i+3]))]
	plain := append(append(append([]byte{}, photo[:2]...), app1...), photo[2:]...)
	var enc bytes.Buffer
	if _, err := io.Copy(&enc, veil.NewReader(a, bytes.NewReader(plain), veil.Options{KeepGPS: true, StopAtError: true})); err != nil {
		t.Fatal(err)
	}
	cipher := enc.Bytes()
	want := verdict(t, r, cipher)
	if want.Class != veil.Ciphertext {
		t.Fatalf("the classifier alone: %v, want a ciphertext", want)
	}
	ctx := context.Background()
	for _, chunk := range []int{1 << 20, 100} {
		d := &Decider{Ring: r, Ledger: ledger.NewMemory()}
		p := speculating(ctx, d, Upload, veil.Options{StopAtError: true})
		if _, err := p.Fill(&chunkReader{b: cipher, n: chunk}); err != nil {
			t.Fatal(err)
		}
		if got := p.Verdict(); got.Class != want.Class || got.Reason != want.Reason {
			t.Errorf("reads of %d: verdict %v, the classifier alone %v", chunk, got, want)
		}
	}
}

// flakyLedger fails its failAt-th Lookup, once.
type flakyLedger struct {
	*ledger.Memory
	n, failAt int
}

func (l *flakyLedger) Lookup(ctx context.Context, fp ledger.Fingerprint) (ledger.Entry, bool, error) {
	if l.n++; l.n == l.failAt {
		return ledger.Entry{}, false, errors.New("disk I/O error")
	}
	return l.Memory.Lookup(ctx, fp)
}

// TestSpeculationLedgerFailureIsNotAVerdict: a ledger lookup that fails
// while the speculative transform of a download asks about the primary
// image is the ledger's failure, not the classifier's: the download of
// our ciphertext fails or decrypts, and never goes on as a ciphertext
// the classifier was unsure of.
func TestSpeculationLedgerFailureIsNotAVerdict(t *testing.T) {
	a := fixtureKey(t, 0)
	r := ring(t, a)
	photo, cipher := photoAndCipher(t, a)
	ctx := context.Background()
	for failAt := 1; failAt <= 4; failAt++ {
		d := &Decider{Ring: r, Ledger: &flakyLedger{Memory: ledger.NewMemory(), failAt: failAt}}
		p := speculating(ctx, d, Download, veil.Options{})
		rest := filled(t, p, bytes.NewReader(cipher))
		v := p.Verdict()
		dec, err := d.Decide(ctx, Download, v, "")
		if err != nil {
			continue // the ledger's failure, reported
		}
		out, err := io.ReadAll(p.Reader(dec, dec.Options(ctx, d, veil.Options{}), p.Replay(rest)))
		if err == nil && !bytes.Equal(out, photo) {
			t.Errorf("lookup %d failed: verdict %v, the download went on without an error and is not the photo (the ciphertext: %v)", failAt, v, bytes.Equal(out, cipher))
		}
	}
}

// TestInterruptedSpeculationVerdict: when the speculative transform is
// interrupted (here its ledger lookup fails), the prefix's own classifier
// is given each held byte once, however the body is cut into writes, and
// reaches exactly the standalone verdict.
func TestInterruptedSpeculationVerdict(t *testing.T) {
	a := fixtureKey(t, 0)
	r := ring(t, a)
	photo := fakes.CorpusFile(t, "photos/phone-12mp-q92.jpg")
	want, err := veil.Classify(r, bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, write := range []int{1 << 20, 40000, 3000} {
		d := &Decider{Ring: r, Ledger: &flakyLedger{Memory: ledger.NewMemory(), failAt: 2}}
		p := NewPrefix(r, 0)
		p.AskLedger(func([]veil.KeyFingerprint) bool { return false })
		spec := d.Speculation(Upload)
		p.Speculate(spec, spec.Options(ctx, d, veil.Options{StopAtError: true}))
		for i := 0; i < len(photo) && !p.Decided(); i += write {
			p.Write(photo[i:min(len(photo), i+write)])
		}
		if !p.vr.Interrupted() {
			t.Fatalf("writes of %d: the speculative transform was not interrupted", write)
		}
		if got := p.Verdict(); got.String() != want.String() || got.Pairs != want.Pairs || got.ScanBytes != want.ScanBytes {
			t.Errorf("writes of %d: verdict %v (%d pairs, %d scan bytes), alone %v (%d, %d)", write, got, got.Pairs, got.ScanBytes, want, want.Pairs, want.ScanBytes)
		}
	}
}

// TestPrefixJudgesAWriteThatReachesTheLimit: a body handed to the prefix
// in writes as large as the limit (a resumable or chunked upload's chunk
// of 8 MiB or more, as Stream.Commit writes it) is judged like one read
// in small pieces: the write that fills the prefix still holds the start
// of the first scan, and the verdict is the classifier's, not "the first
// scan starts after the first 8 MiB". A ciphertext of ours re-uploaded in
// such a chunk must not be encrypted a second time.
func TestPrefixJudgesAWriteThatReachesTheLimit(t *testing.T) {
	a := fixtureKey(t, 0)
	r := ring(t, a)
	photo, cipher := photoAndCipher(t, a)
	tail := make([]byte, MaxHeld) // data after the image, such as a motion photo's video
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"plaintext", append(append([]byte(nil), photo...), tail...)},
		{"our ciphertext", append(append([]byte(nil), cipher...), tail...)},
	} {
		want, err := veil.Classify(r, bytes.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		for _, write := range []int{32 << 10, MaxHeld, len(tc.body)} {
			d := &Decider{Ring: r, Ledger: ledger.NewMemory()}
			p := speculating(ctx, d, Upload, veil.Options{StopAtError: true})
			for i := 0; i < len(tc.body) && !p.Decided(); i += write {
				p.Write(tc.body[i:min(len(tc.body), i+write)])
			}
			got := p.Verdict()
			if got.Class != want.Class || got.Reason != want.Reason {
				t.Errorf("%s, writes of %d: verdict %v, the classifier alone %v", tc.name, write, got, want)
			}
			if dec, err := d.Decide(ctx, Upload, got, ""); err == nil && want.Class == veil.Ciphertext && dec.Transform {
				t.Errorf("%s, writes of %d: decided %v, the ciphertext would be encrypted again", tc.name, write, dec)
			}
		}
	}
}
