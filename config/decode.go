package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
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

// lineIndex records which config paths each source line holds.
type lineIndex struct {
	byLine  map[int][][]string // line -> paths (as segments) written on it
	byPath  map[string]int     // path -> first line
	byPos   map[[2]int]string  // line, column of a node -> its (deepest) path
	nodes   map[int][]lineNode // line -> the value nodes on it
	null    map[string]bool    // paths written with a null value ("key:" alone)
	unknown map[int]bool       // lines with an unknown key
}

func (x *lineIndex) record(line int, path []string) {
	if line <= 0 {
		return
	}
	p := joinPath(path)
	if _, ok := x.byPath[p]; !ok {
		x.byPath[p] = line
	}
	x.byLine[line] = append(x.byLine[line], path)
}

// lineNode is a value node and the path it is decoded into.
type lineNode struct {
	path  string
	kind  yaml.Kind
	value string
}

// nodePath returns the path of the one node on line that a decoder message
// "cannot unmarshal !!str `abc` into int" is about, found by its kind and
// (as the decoder abbreviates it) value. ok is false if that is ambiguous.
func (x *lineIndex) nodePath(line int, text string) (path string, ok bool) {
	rest, found := strings.CutPrefix(text, "cannot unmarshal ")
	i := strings.LastIndex(rest, " into ")
	if !found || i < 0 {
		return "", false
	}
	tag, value, _ := strings.Cut(rest[:i], " ")
	var match []string
	for _, n := range x.nodes[line] {
		switch tag {
		case "!!seq":
			if n.kind != yaml.SequenceNode {
				continue
			}
		case "!!map":
			if n.kind != yaml.MappingNode {
				continue
			}
		default:
			shown := n.value
			if len(shown) > 10 {
				shown = shown[:7] + "..."
			}
			if n.kind != yaml.ScalarNode || "`"+shown+"`" != value {
				continue
			}
		}
		if !slices.Contains(match, n.path) {
			match = append(match, n.path)
		}
	}
	if len(match) != 1 {
		return "", false
	}
	return match[0], true
}

// pathAt returns the path a line holds. Paths that merely contain another
// path on the line are dropped ("- name: x" holds rules[0] and
// rules[0].name: the line is about rules[0].name); of the rest, the longest
// common prefix is taken (a flow mapping such as
// "log: {level: x, format: y}" gives "log").
func (x *lineIndex) pathAt(line int) string {
	var deepest [][]string
	for i, p := range x.byLine[line] {
		contains := false
		for j, q := range x.byLine[line] {
			if i != j && len(q) > len(p) && hasPrefix(q, p) {
				contains = true
				break
			}
		}
		if !contains {
			deepest = append(deepest, p)
		}
	}
	if len(deepest) == 0 {
		return ""
	}
	prefix := deepest[0]
	for _, p := range deepest[1:] {
		n := 0
		for n < len(prefix) && n < len(p) && prefix[n] == p[n] {
			n++
		}
		prefix = prefix[:n]
	}
	return joinPath(prefix)
}

func hasPrefix(p, prefix []string) bool {
	if len(prefix) > len(p) {
		return false
	}
	for i := range prefix {
		if p[i] != prefix[i] {
			return false
		}
	}
	return true
}

// lineOf returns the line where path, or its nearest written ancestor, is.
func (x *lineIndex) lineOf(path string) int {
	if x == nil {
		return 0
	}
	for path != "" {
		if l, ok := x.byPath[path]; ok {
			return l
		}
		path = parentPath(path)
	}
	return 0
}

// parentPath strips the last segment: rules[2].hosts[0] -> rules[2].hosts
// -> rules[2] -> rules; upstream.resolve["a.b:443"] -> upstream.resolve.
func parentPath(p string) string {
	if strings.HasSuffix(p, `"]`) {
		if i := strings.LastIndex(p, `["`); i >= 0 {
			return p[:i]
		}
	}
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// joinPath joins segments: names with ".", indexes ("[2]") appended.
func joinPath(segs []string) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// walker checks a YAML node tree against a Go type.
type walker struct {
	idx      *lineIndex
	problems []*FieldError
	budget   int // nodes left to visit; bounds alias expansion
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path []string, viaAlias bool) {
	if n == nil || w.budget <= 0 {
		return
	}
	w.budget--
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			w.walk(c, t, path, viaAlias)
		}
		return
	case yaml.AliasNode:
		w.walk(n.Alias, t, path, true)
		return
	}
	if !viaAlias {
		w.idx.record(n.Line, path)
		w.idx.byPos[[2]int{n.Line, n.Column}] = joinPath(path)
		w.idx.nodes[n.Line] = append(w.idx.nodes[n.Line], lineNode{joinPath(path), n.Kind, n.Value})
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			w.idx.null[joinPath(path)] = true
		}
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		return // a scalar type that checks itself
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(n, t.Elem(), path, viaAlias)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the type error
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!!merge") {
				w.walk(v, t, path, true) // merge key: the merged mapping's keys belong here
				if v.Kind == yaml.SequenceNode {
					for _, m := range v.Content {
						w.walk(m, t, path, true)
					}
				}
				continue
			}
			p := appendPath(path, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				if !w.idx.unknown[k.Line] || !viaAlias {
					w.problems = append(w.problems, &FieldError{Path: joinPath(path), Line: k.Line, Err: fmt.Errorf("%w %q%s", ErrUnknownKey, k.Value, suggest(k.Value, fields))})
				}
				w.idx.unknown[k.Line] = true
				continue
			}
			if !viaAlias {
				w.idx.record(k.Line, p)
			}
			w.walk(v, f, p, viaAlias)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			w.walk(c, t.Elem(), appendPath(path, "["+strconv.Itoa(i)+"]"), viaAlias)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := appendPath(path, "["+strconv.Quote(k.Value)+"]")
			if !viaAlias {
				w.idx.record(k.Line, p)
			}
			w.walk(v, t.Elem(), p, viaAlias)
		}
	}
}

// appendPath returns path+seg without aliasing path's backing array.
func appendPath(path []string, seg string) []string {
	p := make([]string, len(path), len(path)+1)
	copy(p, path)
	return append(p, seg)
}

// yamlFields maps the YAML keys of struct t to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

// suggest returns ` (did you mean "x"?)` for a key close to a known one.
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestDist := "", 3
	for name := range fields {
		d := editDistance(strings.ToLower(key), name)
		if d < bestDist || (d == bestDist && best != "" && name < best) {
			best, bestDist = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
