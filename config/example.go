package config

import (
	_ "embed"
	"regexp"
)

// exampleConfig is config.example.yaml, kept byte-identical to the copy at
// the repository root by TestExampleCopyMatchesRoot (go:embed cannot reach
// outside the package directory).
//
//go:embed config.example.yaml
var exampleConfig []byte

// ExampleConfig returns the documented example configuration, which
// `jpegveil init` writes for the user to edit.
func ExampleConfig() []byte { return append([]byte(nil), exampleConfig...) }

var stateDirLine = regexp.MustCompile(`(?m)^#? ?state_dir:.*$`)

// WithStateDir returns the example configuration with its state_dir line
// set to dir.
func WithStateDir(example []byte, dir string) []byte {
	return stateDirLine.ReplaceAll(example, []byte("state_dir: "+yamlQuote(dir)))
}

func yamlQuote(s string) string {
	q := []byte{'"'}
	for _, r := range s {
		if r == '"' || r == '\\' {
			q = append(q, '\\')
		}
		q = append(q, string(r)...)
	}
	return string(append(q, '"'))
}
