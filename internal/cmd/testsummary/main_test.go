package main

import (
	"os"
	"strings"
	"testing"
)

// testdata/sample.jsonl is `go test -json` over a module with a package that
// does not build, one without tests, and one whose tests pass, log, skip
// (a test and a subtest) and fail (a subtest), framed as scripts/test.sh
// frames its steps, then a step that fails without running a test.
func TestSample(t *testing.T) {
	in, err := os.Open("testdata/sample.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out strings.Builder
	code := run(in, &out)
	got := out.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if last := lines[len(lines)-1]; last != "2 passed, 3 failed, 2 skipped" {
		t.Errorf("closing line %q, want %q\n%s", last, "2 passed, 3 failed, 2 skipped", got)
	}
	for _, want := range []string{
		"== sample\n",
		"undefined: undefined\n",                      // build error
		"FAIL\texample.com/tsx/bf [build failed]\n",   // its package line
		"?   \texample.com/tsx/nt\t[no test files]\n", // a package without tests
		"x_test.go:9: boom\n--- FAIL: TestC/s2",       // a failed subtest's output
		"--- FAIL: TestC (",                           // and its parent's line
		"FAIL\texample.com/tsx\t",                     // the failed package's line
		"FAIL\ta command that fails on its own: exit status 2\n-- took 0s\n",
		`skipped: "LOUD SKIP: no server": 2 (example.com/tsx TestB, example.com/tsx TestC/s1)` + "\n",
		"failed: example.com/tsx/bf (the package itself: build failure, crash or timeout), example.com/tsx TestC/s2, a command that fails on its own (exit status 2)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"hello", "=== RUN", "--- PASS", "\nPASS\n"} { // passing tests stay quiet
		if strings.Contains(got, unwanted) {
			t.Errorf("output has %q:\n%s", unwanted, got)
		}
	}
}

func TestNothingSkipped(t *testing.T) {
	var out strings.Builder
	in := strings.NewReader(`{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0}
{"Action":"output","Package":"p","Output":"PASS\n"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.01s\n"}
{"Action":"pass","Package":"p","Elapsed":0.01}
`)
	if code := run(in, &out); code != 0 {
		t.Errorf("exit code %d", code)
	}
	if want := "ok  \tp\t0.01s\n\nskipped: nothing\n1 passed, 0 failed, 0 skipped\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
