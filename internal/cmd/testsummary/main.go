// Command testsummary reads the output of `go test -json` on standard input
// and prints what go test prints without -json and -v (the ok and FAIL lines
// of each package, the output of failed tests, build errors), then one line
// naming every skipped test grouped by reason, and a closing line
//
//	N passed, N failed, N skipped
//
// counting tests and subtests: a test that runs subtests is counted only
// when it fails or skips by itself (not as well as a subtest). It exits 1 when anything failed. It uses only
// the standard library.
//
// scripts/test.sh runs several go test commands into one testsummary. It
// frames each with two lines, so that a command that fails without failing
// a test (a flag error, a module error on stderr) still counts as a failure,
// and prints how long each took:
//
//	#testsummary step: <what the command does>
//	#testsummary exit: <its exit status>
//
// Any other line that is not a test2json event is printed as it is.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json), build events included.
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

const (
	stepPrefix = "#testsummary step: "
	exitPrefix = "#testsummary exit: "
)

type testKey struct{ pkg, test string }

type summary struct {
	out io.Writer

	passed, failed, skipped int
	skips                   map[string][]string // reason: "pkg Test" names
	failures                []string            // what failed, for the closing lines

	// Output kept until a top-level test or a package ends: printed if it
	// failed, dropped if not.
	testOut  map[testKey]*strings.Builder // by package and top-level test
	pkgOut   map[string]*strings.Builder  // package-level output
	lastMsg  map[testKey]string           // last t.Log/t.Skip message of each test
	done     map[testKey]bool             // tests with a final event
	pkgFail  map[string]bool              // packages with a failed test
	parent   map[testKey]bool             // tests that ran subtests
	failedIn map[testKey]bool             // tests with a failed subtest

	step         string
	stepStart    time.Time
	stepFailures int // failures counted since the step began
}

func newSummary(out io.Writer) *summary {
	return &summary{
		out:      out,
		skips:    map[string][]string{},
		testOut:  map[testKey]*strings.Builder{},
		pkgOut:   map[string]*strings.Builder{},
		lastMsg:  map[testKey]string{},
		done:     map[testKey]bool{},
		pkgFail:  map[string]bool{},
		parent:   map[testKey]bool{},
		failedIn: map[testKey]bool{},
	}
}

// logLine matches the lines t.Log, t.Error and t.Skip write: "    file.go:12: message".
var logLine = regexp.MustCompile(`^\s+[^\s:]+\.go:\d+: (.*)$`)

func topLevel(test string) string {
	top, _, _ := strings.Cut(test, "/")
	return top
}

func short(pkg string) string {
	return strings.TrimPrefix(pkg, "github.com/cloakroom/cloakroom/")
}

func (s *summary) line(text string) {
	switch {
	case strings.HasPrefix(text, stepPrefix):
		s.step = strings.TrimPrefix(text, stepPrefix)
		s.stepStart = time.Now()
		s.stepFailures = 0
		fmt.Fprintf(s.out, "== %s\n", s.step)
		return
	case strings.HasPrefix(text, exitPrefix):
		if code := strings.TrimSpace(strings.TrimPrefix(text, exitPrefix)); code != "0" && s.stepFailures == 0 {
			// The command failed without a failed test or package to show
			// for it: its own error is above, on stderr.
			s.fail(fmt.Sprintf("%s (exit status %s)", s.step, code))
			fmt.Fprintf(s.out, "FAIL\t%s: exit status %s\n", s.step, code)
		}
		if !s.stepStart.IsZero() {
			fmt.Fprintf(s.out, "-- took %s\n", time.Since(s.stepStart).Round(time.Second))
		}
		return
	}
	var e event
	if !strings.HasPrefix(text, "{") || json.Unmarshal([]byte(text), &e) != nil || e.Action == "" {
		fmt.Fprintln(s.out, text)
		return
	}
	s.event(e)
}

func (s *summary) fail(what string) {
	s.failed++
	s.stepFailures++
	s.failures = append(s.failures, what)
}

func (s *summary) event(e event) {
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.out, e.Output)
		return
	case "build-fail":
		return // the package's fail event follows
	}
	if e.Package == "" {
		return
	}
	if e.Test == "" {
		s.packageEvent(e)
		return
	}
	k := testKey{e.Package, e.Test}
	top := testKey{e.Package, topLevel(e.Test)}
	up, hasParent := testKey{}, false
	if i := strings.LastIndex(e.Test, "/"); i >= 0 {
		up, hasParent = testKey{e.Package, e.Test[:i]}, true
		s.parent[up] = true
	}
	switch e.Action {
	case "output":
		b := s.testOut[top]
		if b == nil {
			b = &strings.Builder{}
			s.testOut[top] = b
		}
		if !strings.HasPrefix(e.Output, "=== ") { // RUN, PAUSE, CONT, NAME
			b.WriteString(e.Output)
		}
		if m := logLine.FindStringSubmatch(strings.TrimRight(e.Output, "\n")); m != nil {
			s.lastMsg[k] = m[1]
		}
	case "pass":
		if !s.parent[k] {
			s.passed++
		}
		s.end(k, top, false)
	case "skip":
		if !s.parent[k] {
			s.skipped++
		}
		reason := s.lastMsg[k]
		if reason == "" {
			reason = "no reason given"
		}
		s.skips[reason] = append(s.skips[reason], short(e.Package)+" "+e.Test)
		s.end(k, top, false)
	case "fail":
		if hasParent {
			s.failedIn[up] = true
		}
		if !s.failedIn[k] { // else counted in its subtest
			s.fail(short(e.Package) + " " + e.Test)
		}
		s.pkgFail[e.Package] = true
		s.end(k, top, true)
	}
}

// end records a test's final event; a top-level test's output is printed
// when it failed and dropped otherwise.
func (s *summary) end(k, top testKey, failed bool) {
	s.done[k] = true
	delete(s.lastMsg, k)
	if k != top {
		return
	}
	if failed {
		if b := s.testOut[top]; b != nil {
			fmt.Fprint(s.out, b.String())
		}
	}
	delete(s.testOut, top)
}

func (s *summary) packageEvent(e event) {
	switch e.Action {
	case "output":
		b := s.pkgOut[e.Package]
		if b == nil {
			b = &strings.Builder{}
			s.pkgOut[e.Package] = b
		}
		b.WriteString(e.Output)
	case "pass", "skip":
		// Only the closing "ok" or "?" line, as go test prints it.
		for _, l := range strings.SplitAfter(s.pkgOut[e.Package].String(), "\n") {
			if strings.HasPrefix(l, "ok  ") || strings.HasPrefix(l, "?   ") {
				fmt.Fprint(s.out, l)
			}
		}
		s.forget(e.Package)
	case "fail":
		// Tests that never ended (a panic, a timeout) show their output.
		var names []testKey
		for k := range s.testOut {
			if k.pkg == e.Package && !s.done[k] {
				names = append(names, k)
			}
		}
		sort.Slice(names, func(i, j int) bool { return names[i].test < names[j].test })
		for _, k := range names {
			fmt.Fprint(s.out, s.testOut[k].String())
		}
		for _, l := range strings.SplitAfter(s.pkgOut[e.Package].String(), "\n") {
			if l != "" && l != "PASS\n" && !strings.HasPrefix(l, "=== ") {
				fmt.Fprint(s.out, l)
			}
		}
		if !s.pkgFail[e.Package] {
			s.fail(short(e.Package) + " (the package itself: build failure, crash or timeout)")
		}
		s.forget(e.Package)
	}
}

func (s *summary) forget(pkg string) {
	delete(s.pkgOut, pkg)
	delete(s.pkgFail, pkg)
	for k := range s.testOut {
		if k.pkg == pkg {
			delete(s.testOut, k)
		}
	}
	for k := range s.done {
		if k.pkg == pkg {
			delete(s.done, k)
		}
	}
	for _, m := range []map[testKey]bool{s.parent, s.failedIn} {
		for k := range m {
			if k.pkg == pkg {
				delete(m, k)
			}
		}
	}
	for k := range s.lastMsg {
		if k.pkg == pkg {
			delete(s.lastMsg, k)
		}
	}
}

// finish prints the skip line, the failures if any, and the closing line.
func (s *summary) finish() {
	fmt.Fprintln(s.out)
	if len(s.skips) == 0 {
		fmt.Fprintln(s.out, "skipped: nothing")
	} else {
		reasons := make([]string, 0, len(s.skips))
		for r := range s.skips {
			reasons = append(reasons, r)
		}
		sort.Slice(reasons, func(i, j int) bool {
			if a, b := len(s.skips[reasons[i]]), len(s.skips[reasons[j]]); a != b {
				return a > b
			}
			return reasons[i] < reasons[j]
		})
		parts := make([]string, len(reasons))
		for i, r := range reasons {
			parts[i] = fmt.Sprintf("%q: %d (%s)", r, len(s.skips[r]), names(s.skips[r]))
		}
		fmt.Fprintf(s.out, "skipped: %s\n", strings.Join(parts, "; "))
	}
	if len(s.failures) > 0 {
		fmt.Fprintf(s.out, "failed: %s\n", strings.Join(s.failures, ", "))
	}
	fmt.Fprintf(s.out, "%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
}

// names lists up to three tests and counts the rest.
func names(tests []string) string {
	sort.Strings(tests)
	if len(tests) <= 3 {
		return strings.Join(tests, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(tests[:3], ", "), len(tests)-3)
}

func run(in io.Reader, out io.Writer) int {
	s := newSummary(out)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	for sc.Scan() {
		s.line(sc.Text())
	}
	if err := sc.Err(); err != nil {
		s.fail("reading go test's output: " + err.Error())
	}
	s.finish()
	if s.failed > 0 {
		return 1
	}
	return 0
}

func main() {
	os.Exit(run(os.Stdin, os.Stdout))
}
