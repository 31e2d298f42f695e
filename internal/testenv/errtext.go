package testenv

import (
	"errors"
	"strings"
	"testing"
)

// ErrorNamesPackage fails the test unless err is an error of package pkg
// as the module words them: its text begins with "pkg: " and names pkg
// nowhere else, says "cloakroom: " at most once, and errors.Is finds each
// of wants in it. what names the call, for the failure message.
func ErrorNamesPackage(tb testing.TB, pkg, what string, err error, wants ...error) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("%s: no error", what)
	}
	for _, want := range wants {
		if !errors.Is(err, want) {
			tb.Fatalf("%s: error %v, want one wrapping %v", what, err, want)
		}
	}
	msg := err.Error()
	if n := strings.Count(msg, pkg+":"); n != 1 || !strings.HasPrefix(msg, pkg+": ") {
		tb.Errorf("%s: %q names the package %d times, want once at the front", what, msg, n)
	}
	if strings.Count(msg, "cloakroom: ") > 1 {
		tb.Errorf("%s: %q repeats \"cloakroom: \"", what, msg)
	}
}

// ErrorNamesAtMost fails the test when err's text names pkg ("pkg:") more
// than max times, or says "cloakroom: " more than once: for an error that
// passes through a package (max 0) or is wrapped by it (max 1).
func ErrorNamesAtMost(tb testing.TB, what string, err error, pkg string, max int) {
	tb.Helper()
	msg := err.Error()
	if n := strings.Count(msg, pkg+":"); n > max {
		tb.Errorf("%s: %q names %s %d times, want at most %d", what, msg, pkg, n, max)
	}
	if strings.Count(msg, "cloakroom: ") > 1 {
		tb.Errorf("%s: %q repeats \"cloakroom: \"", what, msg)
	}
}
