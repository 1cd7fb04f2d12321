package proxy

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

// form is a multipart body with boundary "b".
func form(parts ...string) string {
	var s strings.Builder
	for _, p := range parts {
		s.WriteString("--b\r\n" + p + "\r\n")
	}
	s.WriteString("--b--\r\n")
	return s.String()
}

func part(name, filename, ctype, content string) string {
	h := `Content-Disposition: form-data; name="` + name + `"`
	if filename != "" {
		h += `; filename="` + filename + `"`
	}
	if ctype != "" {
		h += "\r\nContent-Type: " + ctype
	}
	return h + "\r\n\r\n" + content
}

func TestFindPart(t *testing.T) {
	for _, tc := range []struct {
		name, body, field string
		found             bool
		content           string
	}{
		{"first part", form(part("file", "a.jpg", "image/jpeg", "JPEG")), "file", true, "JPEG"},
		{"after fields", form(part("deviceId", "", "", "x"), part("file", "a.jpg", "", "JPEG")), "file", true, "JPEG"},
		{"preamble", "ignored\r\n" + form(part("file", "", "", "JPEG")), "file", true, "JPEG"},
		{"boundary-like content", form(part("note", "", "", "--bb\r\n--b-"), part("file", "", "", "JPEG")), "file", true, "JPEG"},
		{"content holds boundary prefix", form(part("file", "", "", "AB\r\n--c--\r\nCD")), "file", true, "AB\r\n--c--\r\nCD"},
		{"no such field", form(part("other", "", "", "x")), "file", false, ""},
		{"empty form", "--b--\r\n", "file", false, ""},
		{"not a form", "just bytes", "file", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tc.body))
			head, err := findPart(br, "b", tc.field)
			if !tc.found {
				if !errors.Is(err, errNoField) {
					t.Fatalf("err %v, want errNoField", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tc.body, string(head)) {
				t.Fatalf("head %q is not the start of the body", head)
			}
			pr := &partReader{br: br, delim: []byte("\r\n--b")}
			got, err := io.ReadAll(pr)
			if err != nil || string(got) != tc.content {
				t.Fatalf("part content %q, %v; want %q", got, err, tc.content)
			}
			rest, _ := io.ReadAll(br)
			if string(head)+string(got)+string(rest) != tc.body {
				t.Fatal("head, part and rest do not add up to the body")
			}
		})
	}
}

func TestPartReaderTruncatedForm(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("JPEG bytes without a closing boundary"))
	_, err := io.ReadAll(&partReader{br: br, delim: []byte("\r\n--b")})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestCheckOtherParts(t *testing.T) {
	const jpeg = "\xFF\xD8\xFF\xE0rest of a photo"
	for _, tc := range []struct {
		name, rest string
		block      bool
		want       string // a substring of the reason, "" for none
	}{
		{"closing only", "\r\n--b--\r\n", true, ""},
		{"a text field", "\r\n" + form(part("deviceId", "", "", "x")), true, ""},
		{"second photo part", "\r\n" + form(part("file", "", "", "x")), true, `second "file" part`},
		{"a file", "\r\n" + form(part("sidecar", "a.xmp", "", "x")), true, `another file ("sidecar")`},
		{"a file under pass", "\r\n" + form(part("sidecar", "a.xmp", "", "x")), false, ""},
		{"an image field", "\r\n" + form(part("thumb", "", "image/jpeg", "x")), true, `another file ("thumb")`},
		{"malformed header", "\r\n--b\r\nno colon here\r\n\r\nx\r\n--b--\r\n", true, "malformed"},
		{"bare JPEG", "\r\n" + form(part("x", "", "", jpeg)), false, "a JPEG outside"},
		{"JPEG after odd framing", "\r\n--b--x\r\n\r\n" + jpeg, false, "a JPEG outside"},
		{"JPEG after LF-only lines", "\n--b\nContent-Disposition: form-data; name=x\n\n" + jpeg, false, "a JPEG outside"},
		{"JPEG bytes inside a text", "\r\n" + form(part("x", "", "", "ab"+jpeg)), false, ""},
		{"quoted-printable", "\r\n" + form("Content-Disposition: form-data; name=\"x\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=FF=D8"), false, "transfer-encoded"},
	} {
		got := checkOtherParts([]byte(tc.rest), "b", "file", tc.block, false)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: checkOtherParts = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestPartReaderDelimiters: the photo's part ends only at a real
// delimiter, as a server reads the form: "\r\n--b" followed by "--",
// padding and a line end, not by other bytes.
func TestPartReaderDelimiters(t *testing.T) {
	for _, tc := range []struct{ body, content string }{
		{"AB\r\n--b\r\nrest", "AB"},
		{"AB\r\n--b--\r\n", "AB"},
		{"AB\r\n--b  \t\r\nrest", "AB"},
		{"AB\r\n--bX\r\n--b\r\n", "AB\r\n--bX"},
		{"AB\r\n--b-\r\n--b--", "AB\r\n--b-"},
		{"AB\r\n--b", "AB"},
	} {
		br := bufio.NewReaderSize(strings.NewReader(tc.body), 16)
		got, err := io.ReadAll(&partReader{br: br, delim: []byte("\r\n--b")})
		if err != nil || string(got) != tc.content {
			t.Errorf("%q: content %q, %v; want %q", tc.body, got, err, tc.content)
		}
	}
}
