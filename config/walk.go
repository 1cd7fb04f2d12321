package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

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
