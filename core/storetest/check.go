package storetest

import (
	"fmt"
	"strings"
	"testing"
)

// check is one named rule of a suite, as testing/slogtest's cases are: run
// checks it as the subtest called name, and every failure it reports ends
// with rule, a one-line statement of what the store must do, so that a
// failure says which part of the contract broke.
type check struct {
	name string
	rule string
	run  func(t ruled)
}

// runChecks runs each check as a subtest named after it. [Run] and
// [RunCookieStore] are both a table of checks run by it.
func runChecks(t *testing.T, checks []check) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(ruled{T: t, rule: c.rule}) })
	}
}

// ruled is a subtest's T that appends its check's rule to every failure
// (Error, Errorf, Fatal, Fatalf), whether the check or a helper it passes
// the T to reports it.
type ruled struct {
	*testing.T
	rule string
}

func (r ruled) with(msg string) string { return msg + "\n(rule: " + r.rule + ")" }

// sprintln formats args as Error and Fatal do, without the newline.
func sprintln(args []any) string { return strings.TrimSuffix(fmt.Sprintln(args...), "\n") }

// Error reports a failure, followed by the rule.
func (r ruled) Error(args ...any) { r.T.Helper(); r.T.Error(r.with(sprintln(args))) }

// Errorf reports a failure, followed by the rule.
func (r ruled) Errorf(format string, args ...any) {
	r.T.Helper()
	r.T.Error(r.with(fmt.Sprintf(format, args...)))
}

// Fatal reports a failure, followed by the rule, and ends the check.
func (r ruled) Fatal(args ...any) { r.T.Helper(); r.T.Fatal(r.with(sprintln(args))) }

// Fatalf reports a failure, followed by the rule, and ends the check.
func (r ruled) Fatalf(format string, args ...any) {
	r.T.Helper()
	r.T.Fatal(r.with(fmt.Sprintf(format, args...)))
}
