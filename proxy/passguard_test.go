package proxy

import (
	"errors"
	"io"
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
