package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The rule is checked in child processes, where a skip or a failure can be
// observed from outside.
func TestMissing(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Env(t, "TESTENV_UNSET_VARIABLE")
		return
	}
	for _, tc := range []struct {
		ci       string
		wantFail bool
		wantText string
	}{
		{"true", true, "required under CI=true: TESTENV_UNSET_VARIABLE is not set"},
		{"", false, "LOUD SKIP: TESTENV_UNSET_VARIABLE is not set"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+tc.ci, "TESTENV_UNSET_VARIABLE=")
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.wantFail || !strings.Contains(string(out), tc.wantText) {
			t.Errorf("CI=%q: failed=%v, output:\n%s\nwant failed=%v and %q", tc.ci, failed, out, tc.wantFail, tc.wantText)
		}
	}
}

// Under -short, Short skips with "-short: needs ..." and Env skips before
// looking at the variable, even under CI=true.
func TestShort(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Env(t, "CLOAKROOM_POSTGRES_DSN")
		t.Fatal("Env returned under -short")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestShort$", "-test.v", "-test.short")
	cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI=true", "CLOAKROOM_POSTGRES_DSN=")
	out, err := cmd.CombinedOutput()
	if want := "-short: needs PostgreSQL (CLOAKROOM_POSTGRES_DSN)"; err != nil || !strings.Contains(string(out), want) || !strings.Contains(string(out), "--- SKIP") {
		t.Errorf("err %v, output:\n%s\nwant a skip saying %q", err, out, want)
	}
}
