package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadConfig reads and parses the YAML config file at path. Relative paths
// in it are resolved against the file's directory.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := ParseConfig(data, filepath.Dir(abs))
	if c != nil {
		c.Source = abs
	}
	var de *DecodeError
	var ve *ValidationError
	switch {
	case errors.As(err, &de):
		de.File = path
	case errors.As(err, &ve):
		ve.File = path
	}
	return c, err
}

// ParseConfig decodes one YAML document strictly (an unknown key, a value of
// the wrong type or a second document is a *DecodeError), fills in
// defaults, validates (a *ValidationError lists every problem, with the line
// where the field is written) and reads the password file. Relative paths
// are resolved against baseDir; an empty baseDir leaves them relative to the
// working directory.
func ParseConfig(data []byte, baseDir string) (*Config, error) {
	c := &Config{
		// A bool that defaults to true is preset: after decoding, an
		// explicit false cannot be told from an absent key.
		CA: CAConfig{NameConstraints: true},
	}
	lines, err := decodeStrict(data, c)
	if err != nil {
		return nil, err
	}
	if err := checkExplicitZeros(c, lines); err != nil {
		return nil, err
	}
	c.resolvePaths(baseDir)
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				if p.Line == 0 {
					p.Line = lines.lineOf(p.Path)
				}
			}
			// In file order; problems with defaulted fields (no line) last.
			sort.SliceStable(ve.Problems, func(i, j int) bool {
				li, lj := ve.Problems[i].Line, ve.Problems[j].Line
				return li != 0 && (lj == 0 || li < lj)
			})
		}
		return nil, err
	}
	if err := c.loadSecrets(); err != nil {
		const path = "clients.auth.password_file"
		return nil, &ValidationError{Problems: []*FieldError{{Path: path, Line: lines.lineOf(path), Err: err}}}
	}
	return c, nil
}

// checkExplicitZeros refuses a limit or timeout written as 0. Defaults are
// filled in where a field is zero, so a written 0 would silently become the
// default, while whoever wrote it likely meant "none" or "unlimited".
func checkExplicitZeros(c *Config, lines *lineIndex) error {
	d := DefaultConfig() // only for the default values in the message
	fields := []struct {
		path   string
		isZero bool
		def    string
	}{
		{"upstream.dial_timeout", c.Upstream.DialTimeout.Duration == 0, d.Upstream.DialTimeout.String()},
		{"upstream.idle_timeout", c.Upstream.IdleTimeout.Duration == 0, d.Upstream.IdleTimeout.String()},
		{"upstream.response_header_timeout", c.Upstream.ResponseHeaderTimeout.Duration == 0, d.Upstream.ResponseHeaderTimeout.String()},
		{"client_timeouts.read_header", c.ClientTimeouts.ReadHeader.Duration == 0, d.ClientTimeouts.ReadHeader.String()},
		{"client_timeouts.idle", c.ClientTimeouts.Idle.Duration == 0, d.ClientTimeouts.Idle.String()},
		{"limits.hash_buffer", c.Limits.HashBuffer == 0, d.Limits.HashBuffer.String()},
		{"limits.max_sessions", c.Limits.MaxSessions == 0, strconv.Itoa(d.Limits.MaxSessions)},
		{"limits.session_ttl", c.Limits.SessionTTL.Duration == 0, d.Limits.SessionTTL.String()},
	}
	var problems []*FieldError
	for _, f := range fields {
		if line, written := lines.byPath[f.path]; written && !lines.null[f.path] && f.isZero {
			problems = append(problems, &FieldError{Path: f.path, Line: line, Err: fmt.Errorf("must be positive; leave the key out to use the default (%s)", f.def)})
		}
	}
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	return nil
}

// decodeStrict decodes data into c. The document is first walked as a node
// tree against the Config type: that finds unknown keys with their full
// path and records which field each line belongs to, so that the decoder's
// type errors, which only carry a line, can be given a path too. Then the
// decoder runs with KnownFields(true) as a second guard.
func decodeStrict(data []byte, c *Config) (*lineIndex, error) {
	idx := &lineIndex{byLine: map[int][][]string{}, byPath: map[string]int{}, byPos: map[[2]int]string{}, nodes: map[int][]lineNode{}, null: map[string]bool{}, unknown: map[int]bool{}}
	var problems []*FieldError

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return idx, nil // empty document: every field takes its default
	case err != nil:
		return nil, &DecodeError{Problems: []*FieldError{syntaxProblem(err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := 0
		if err == nil {
			line = extra.Line
			if len(extra.Content) > 0 {
				line = extra.Content[0].Line
			}
		}
		return nil, &DecodeError{Problems: []*FieldError{{
			Line: line,
			Err:  errors.New("more than one YAML document; the config must be a single document (remove the '---' separator)"),
		}}}
	}

	w := walker{idx: idx, budget: 100000}
	w.walk(&doc, reflect.TypeFor[Config](), nil, false)
	problems = append(problems, w.problems...)

	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &DecodeError{Problems: []*FieldError{syntaxProblem(err)}}
		}
		names := typeNames()
		for _, msg := range te.Errors {
			line, text := splitLine(msg)
			if strings.HasPrefix(text, "field ") && strings.Contains(text, " not found in type ") {
				if idx.unknown[line] {
					continue // already reported by the walker, with its path
				}
				key := strings.TrimPrefix(text[:strings.Index(text, " not found in type ")], "field ")
				problems = append(problems, &FieldError{Line: line, Err: fmt.Errorf("%w %q", ErrUnknownKey, key)})
				continue
			}
			path, ok := idx.nodePath(line, text)
			if !ok {
				path = idx.pathAt(line)
			}
			if col, rest := splitColumn(text); col > 0 {
				text = rest
				if p, ok := idx.byPos[[2]int{line, col}]; ok {
					path = p
				}
			}
			problems = append(problems, &FieldError{Line: line, Path: path, Err: errors.New(friendlyTypeError(text, names))})
		}
	}
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
		return nil, &DecodeError{Problems: problems}
	}
	return idx, nil
}

// syntaxProblem turns a YAML parser error ("yaml: line 3: did not find
// expected key") into a FieldError with its line.
func syntaxProblem(err error) *FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line, text := splitLine(msg)
	return &FieldError{Line: line, Err: fmt.Errorf("invalid YAML: %s", text)}
}

// splitLine splits "line 12: text" into 12 and "text"; 0 if there is no
// line number.
func splitLine(msg string) (int, string) { return splitNumbered(msg, "line ") }

// splitColumn splits "column 7: text" into 7 and "text"; 0 if there is no
// column.
func splitColumn(msg string) (int, string) { return splitNumbered(msg, "column ") }

func splitNumbered(msg, prefix string) (int, string) {
	rest, ok := strings.CutPrefix(msg, prefix)
	if !ok {
		return 0, msg
	}
	num, text, ok := strings.Cut(rest, ": ")
	if !ok {
		return 0, msg
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, msg
	}
	return n, text
}

// friendlyTypeError rewrites "cannot unmarshal !!str `abc` into int" so
// that Go type names ("config.LimitsConfig") become what the YAML should
// have been ("a mapping").
func friendlyTypeError(text string, names map[string]string) string {
	const marker = " into "
	i := strings.LastIndex(text, marker)
	if !strings.HasPrefix(text, "cannot unmarshal ") || i < 0 {
		return text
	}
	got := strings.TrimPrefix(text[:i], "cannot unmarshal ")
	want, ok := names[text[i+len(marker):]]
	if !ok {
		return text
	}
	return fmt.Sprintf("expected %s, got %s", want, describeTag(got))
}

// describeTag turns "!!str `abc`" into "string `abc`".
func describeTag(got string) string {
	tag, value, _ := strings.Cut(got, " ")
	names := map[string]string{"!!str": "string", "!!int": "number", "!!float": "number", "!!bool": "boolean", "!!map": "a mapping", "!!seq": "a list", "!!null": "null", "!!timestamp": "timestamp"}
	if n, ok := names[tag]; ok {
		tag = n
	}
	if value == "" {
		return tag
	}
	return tag + " " + value
}

// typeNames maps the Go type names that appear in YAML type errors to a
// description of the YAML expected, for every type reachable from Config.
func typeNames() map[string]string {
	names := map[string]string{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		if _, seen := names[t.String()]; seen {
			return
		}
		switch t.Kind() {
		case reflect.Struct:
			names[t.String()] = "a mapping"
			for i := 0; i < t.NumField(); i++ {
				visit(t.Field(i).Type)
			}
		case reflect.Map:
			names[t.String()] = "a mapping"
			visit(t.Elem())
		case reflect.Slice:
			names[t.String()] = "a list"
			visit(t.Elem())
		case reflect.Pointer:
			names[t.String()] = "a mapping"
			visit(t.Elem())
		case reflect.String:
			names[t.String()] = "a string"
		case reflect.Bool:
			names[t.String()] = "true or false"
		case reflect.Int, reflect.Int64, reflect.Int32:
			names[t.String()] = "an integer"
		}
	}
	visit(reflect.TypeFor[Config]())
	return names
}
