// Command testsummary reads `go test -json` on standard input and prints
// what plain `go test` prints (package results, the output of failed
// tests, build errors), then one line counting the tests that skipped
// because the shared corpus is missing, which plain `go test` hides behind
// "ok". It exits with status 1 when a test or a build failed.
//
//	go test -json ./... | go run ./internal/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
}

func main() {
	buffered := map[string]*strings.Builder{} // output of running tests, by package and test
	failed, corpusSkips := false, 0
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	for in.Scan() {
		var e event
		if err := json.Unmarshal(in.Bytes(), &e); err != nil {
			fmt.Println(in.Text()) // not JSON: go test's own message
			continue
		}
		key := e.Package + " " + e.Test
		switch {
		case e.Action == "build-output":
			fmt.Print(e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Test == "" && e.Action == "output":
			if !strings.HasPrefix(e.Output, "=== ") && !strings.HasPrefix(e.Output, "PASS\n") {
				fmt.Print(e.Output)
			}
		case e.Test == "" && e.Action == "fail":
			failed = true
		case e.Action == "output":
			if buffered[key] == nil {
				buffered[key] = &strings.Builder{}
			}
			buffered[key].WriteString(e.Output)
		case e.Action == "fail":
			failed = true
			if b := buffered[key]; b != nil {
				fmt.Print(b.String())
			}
			delete(buffered, key)
		case e.Action == "skip":
			if b := buffered[key]; b != nil && strings.Contains(b.String(), "corpus") && strings.Contains(b.String(), "not found") {
				corpusSkips++
			}
			delete(buffered, key)
		case e.Action == "pass":
			delete(buffered, key)
		}
	}
	if corpusSkips > 0 {
		fmt.Printf("NOTE: %d tests skipped because the shared corpus (../shared/corpus) is missing; their packages still say ok.\n", corpusSkips)
	}
	if failed {
		os.Exit(1)
	}
}
