package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownKey is wrapped by the FieldError of a key the schema does not
// have.
var ErrUnknownKey = errors.New("unknown key")

// FieldError is one problem with one configuration field.
type FieldError struct {
	// Path names the field, e.g. "rules[2].field" or
	// `upstream.resolve["photos.example.org:443"]`; empty for the document.
	Path string
	// Line is the 1-based line in the YAML source, or 0 if unknown (a
	// defaulted field, or a Config built in Go).
	Line int
	Err  error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *FieldError) Unwrap() error { return e.Err }

// DecodeError reports YAML that does not fit the schema: a syntax error,
// an unknown key, a value of the wrong type, several documents.
type DecodeError struct {
	File     string // the config file, if loaded from one
	Problems []*FieldError
}

func (e *DecodeError) Error() string {
	return formatProblems(e.File, "cannot decode config", e.Problems)
}

// Unwrap returns the problems, so errors.Is and errors.As see each of them.
func (e *DecodeError) Unwrap() []error { return unwrapProblems(e.Problems) }

// ValidationError reports every rule a decoded configuration breaks.
type ValidationError struct {
	File     string // the config file, if loaded from one
	Problems []*FieldError
}

func (e *ValidationError) Error() string { return formatProblems(e.File, "invalid config", e.Problems) }

// Unwrap returns the problems, so errors.Is and errors.As see each of them.
func (e *ValidationError) Unwrap() []error { return unwrapProblems(e.Problems) }

func formatProblems(file, what string, problems []*FieldError) string {
	var b strings.Builder
	if file != "" {
		fmt.Fprintf(&b, "%s %s", what, file)
	} else {
		b.WriteString(what)
	}
	switch len(problems) {
	case 0:
		b.WriteString(": no details")
	case 1:
		b.WriteString(": ")
		b.WriteString(problems[0].Error())
	default:
		fmt.Fprintf(&b, ": %d problems:", len(problems))
		for _, p := range problems {
			b.WriteString("\n\t")
			b.WriteString(p.Error())
		}
	}
	return b.String()
}

func unwrapProblems(problems []*FieldError) []error {
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return errs
}
