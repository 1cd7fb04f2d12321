package main

import (
	"runtime/debug"
	"strings"
)

// version describes the running binary: the module version (a tag, or
// "(devel)" for a build from a checkout) and the commit it was built from,
// as the Go toolchain recorded them.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build information)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var commit, modified, when string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		case "vcs.time":
			when = s.Value
		}
	}
	var b strings.Builder
	b.WriteString(v)
	if commit != "" {
		b.WriteString(" commit " + commit + modified)
	}
	if when != "" {
		b.WriteString(" (" + when + ")")
	}
	b.WriteString(" " + info.GoVersion)
	return b.String()
}
