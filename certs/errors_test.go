package certs

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestErrorMessages(t *testing.T) {
	cause := errors.New("boom")
	tests := []struct {
		err  error
		want []string // substrings the message must contain
	}{
		{&InvalidHostError{Host: "a b", Reason: "invalid character"}, []string{`"a b"`, "invalid character"}},
		{&InvalidDomainError{Domain: "*.x", Reason: "wildcard"}, []string{`"*.x"`, "wildcard"}},
		{&NotPermittedError{Host: "evil.com", Permitted: []string{"a.com", "b.com"}}, []string{`"evil.com"`, "a.com, b.com"}},
		{&NotPermittedError{Host: "::1"}, []string{`"::1"`}},
		{&CAExpiredError{NotAfter: t0()}, []string{"expired", "2026-03-14T15:09:26Z"}},
		{&CAExpiredError{NotAfter: t0(), CertFile: "d/ca.pem", KeyFile: "d/ca-key.pem"}, []string{"delete d/ca.pem and d/ca-key.pem", "install the new certificate"}},
		{&InsecureKeyFileError{Path: "d/ca-key.pem", Mode: 0o644}, []string{"0644", "chmod 600 d/ca-key.pem"}},
		{&KeyMismatchError{}, []string{"does not match"}},
		{&KeyMismatchError{CertFile: "c", KeyFile: "k"}, []string{"k does not match the certificate c"}},
		{&IncompleteCAError{Present: "c", Missing: "k"}, []string{"found c but not k", "delete c"}},
		{&ConstraintsMismatchError{CertFile: "c", KeyFile: "k", Missing: []string{"x.com"}, Permitted: []string{"y.com"}}, []string{"does not permit x.com", "y.com", "delete c and k"}},
		{&FileError{Path: "p", Err: cause}, []string{"p: boom"}},
		{&InvalidProfileNameError{Name: "n", Reason: "r"}, []string{`"n"`, "r"}},
		{&issuePanicError{host: "h"}, []string{"h", "panicked"}},
	}
	for _, tt := range tests {
		msg := tt.err.Error()
		if !strings.HasPrefix(msg, "certs: ") {
			t.Errorf("%T message %q lacks the package prefix", tt.err, msg)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%T message %q does not contain %q", tt.err, msg, w)
			}
		}
	}
	if !errors.Is(&FileError{Path: "p", Err: fs.ErrNotExist}, fs.ErrNotExist) {
		t.Error("FileError does not unwrap")
	}
}

func TestDomainWithin(t *testing.T) {
	tests := []struct {
		name, constraint string
		want             bool
	}{
		{"example.com", "example.com", true},
		{"a.example.com", "example.com", true},
		{"a.example.com", "Example.COM.", true},
		{"badexample.com", "example.com", false},
		{"example.com", ".example.com", false}, // Go's "subdomains only" form
		{"a.example.com", ".example.com", true},
		{"anything.net", "", true}, // an empty constraint matches everything
		{"com", "example.com", false},
	}
	for _, tt := range tests {
		if got := domainWithin(tt.name, tt.constraint); got != tt.want {
			t.Errorf("domainWithin(%q, %q) = %v, want %v", tt.name, tt.constraint, got, tt.want)
		}
	}
}
