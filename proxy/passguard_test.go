package proxy

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

func TestPassGuard(t *testing.T) {
	const jpeg = "\xFF\xD8\xFF\xE0 a photo"
	for _, tc := range []struct {
		name, body string
		refused    bool
	}{
		{"text", "just some text\r\n\r\nand more", false},
		{"empty", "", false},
		{"short", "ab", false},
		{"a JPEG", jpeg, true},
		{"a JPEG in a form", "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n" + jpeg + "\r\n--b--\r\n", true},
		{"LF-only lines", "--b\nContent-Disposition: form-data; name=x\n\n" + jpeg, true},
		{"JPEG bytes inside text", "text " + jpeg, false},
		{"0xFF at the end", "text\r\n\r\n\xFF", false},
		{"0xFF 0xD8 at the end", "text\r\n\r\n\xFF\xD8", false},
	} {
		for _, one := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tc.body)
			if one {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(&passGuard{r: r})
			var re *refuseError
			if tc.refused {
				if !errors.As(err, &re) || strings.Contains(string(got), "\xFF\xD8\xFF") {
					t.Errorf("%s (one byte at a time: %v): %q, %v; want refused before the JPEG", tc.name, one, got, err)
				}
				continue
			}
			if err != nil || string(got) != tc.body {
				t.Errorf("%s (one byte at a time: %v): %q, %v; want the body", tc.name, one, got, err)
			}
		}
	}
}

// TestPassGuardReads: however the body arrives (one byte at a time, in
// halves, with its last bytes and io.EOF together, in reads longer than
// the guard's own), the guard passes it whole or refuses it, as the whole
// body decides: a JPEG at its start or after an empty line, with nothing
// from that JPEG released.
func TestPassGuardReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 1))
	pieces := []string{"\r\n", "\n", "\r", "\xFF", "\xD8", "\xFF\xD8", "x", "text ", "\n\r\n", "\n\n"}
	for i := range 300 {
		var body []byte
		size := rng.IntN(100)
		if i%10 == 0 {
			size = 3*guardRead + rng.IntN(guardRead) // across the guard's reads
		}
		for len(body) < size {
			if rng.IntN(4) == 0 {
				body = append(body, pieces[rng.IntN(len(pieces))]...)
			} else {
				body = append(body, byte(rng.IntN(256)))
			}
		}
		if rng.IntN(3) == 0 {
			at := rng.IntN(len(body) + 1)
			body = append(body[:at:at], append([]byte("\n\r\n\xFF\xD8\xFF"), body[at:]...)...)
		}
		want := bytes.HasPrefix(body, jpegStart) || jpegAfterEmptyLine(body)
		readers := map[string]func(io.Reader) io.Reader{
			"whole":    func(r io.Reader) io.Reader { return r },
			"one byte": iotest.OneByteReader,
			"halves":   iotest.HalfReader,
			"data+EOF": iotest.DataErrReader,
		}
		for name, wrap := range readers {
			got, err := io.ReadAll(&passGuard{r: wrap(bytes.NewReader(body))})
			var re *refuseError
			if want {
				if !errors.As(err, &re) {
					t.Fatalf("body %d (%s): %v; want refused", i, name, err)
				}
				if at := refusedAt(body); len(got) > at {
					t.Fatalf("body %d (%s): released %d bytes, past the JPEG at %d", i, name, len(got), at)
				}
				continue
			}
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("body %d (%s): %d of %d bytes, %v; want the body", i, name, len(got), len(body), err)
			}
		}
	}
}

// refusedAt returns where the first JPEG a passGuard refuses starts in
// body: at the start, or after an empty line.
func refusedAt(body []byte) int {
	for at := 0; at+len(jpegStart) <= len(body); at++ {
		if !bytes.HasPrefix(body[at:], jpegStart) {
			continue
		}
		if at == 0 || bytes.HasSuffix(body[:at], []byte("\n\n")) || bytes.HasSuffix(body[:at], []byte("\n\r\n")) {
			return at
		}
	}
	return len(body)
}
