package filestore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/internal/testenv"
)

// Environment of a child process started by the cross-process tests.
const (
	envRole = "FILESTORE_TEST_ROLE" // "create", "update" or "hold"
	envDir  = "FILESTORE_TEST_DIR"
	envName = "FILESTORE_TEST_NAME"
	envKeys = "FILESTORE_TEST_KEYS" // file with one key per line
	envOut  = "FILESTORE_TEST_OUT"  // file the child writes its results to
	envGo   = "FILESTORE_TEST_GO"   // file whose appearance starts the race
)

// payload is what each process writes: large enough that a non-atomic
// write would be caught half-done by a reader.
type payload struct {
	Owner string `json:"owner"`
	Key   string `json:"key"`
	Pad   string `json:"pad"`
}

func startChildren(t *testing.T, role string, names []string, env map[string]string) map[string][]string {
	t.Helper()
	dir := env[envDir]
	gofile := filepath.Join(t.TempDir(), "go")
	var cmds []*exec.Cmd
	outs := map[string]string{}
	for _, name := range names {
		out := filepath.Join(t.TempDir(), name+".out")
		outs[name] = out
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), envRole+"="+role, envDir+"="+dir, envName+"="+name, envOut+"="+out, envGo+"="+gofile)
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdout, cmd.Stderr = new(strings.Builder), new(strings.Builder)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	// Start the race once every child is waiting at the start line.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		ready := 0
		for _, out := range outs {
			if _, err := os.Stat(out + ".ready"); err == nil {
				ready++
			}
		}
		if ready == len(names) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("children not ready after 30s")
		}
	}
	if err := os.WriteFile(gofile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	results := map[string][]string{}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %s: %v\n%s\n%s", names[i], err, cmd.Stdout, cmd.Stderr)
		}
		b, err := os.ReadFile(outs[names[i]])
		if err != nil {
			t.Fatalf("child %s wrote no results: %v\n%s", names[i], err, cmd.Stdout)
		}
		results[names[i]] = strings.Fields(string(b))
	}
	return results
}

func writeKeys(t *testing.T, keys []string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, []byte(strings.Join(keys, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCrossProcessCreate starts two processes that race to Create the same
// keys in one directory; half the keys already hold an expired session, so
// both the link(2) path and the replace-under-lock path are raced. Exactly
// one process must win each key, and every file must be the winner's
// complete content.
func TestCrossProcessCreate(t *testing.T) {
	testenv.Short(t, "child processes (a few seconds)")
	ctx := context.Background()
	dir := t.TempDir()
	st := newStore(t, dir)
	const n = 300
	keys := make([]string, n)
	for i := range keys {
		keys[i], _ = core.NewKey()
		if i%2 == 1 {
			if err := st.Save(ctx, core.Record{Key: keys[i], Data: []byte(`{"stale":1}`), Expiry: time.Now().Add(-time.Minute)}, core.Create); err != nil {
				t.Fatal(err)
			}
		}
	}
	names := []string{"A", "B"}
	res := startChildren(t, "create", names, map[string]string{envDir: dir, envKeys: writeKeys(t, keys)})
	winner := map[string]string{}
	for _, name := range names {
		for _, k := range res[name] {
			if w, dup := winner[k]; dup {
				t.Errorf("key %s created by both %s and %s", k, w, name)
			}
			winner[k] = name
		}
	}
	for _, k := range keys {
		w, ok := winner[k]
		if !ok {
			t.Errorf("key %s created by no process", k)
			continue
		}
		rec, err := st.Load(ctx, k)
		if err != nil {
			t.Errorf("Load(%s): %v", k, err)
			continue
		}
		var p payload
		if err := json.Unmarshal(rec.Data, &p); err != nil || p.Owner != w || p.Key != k {
			t.Errorf("key %s won by %s holds %.60q (%v)", k, w, rec.Data, err)
		}
	}
	t.Logf("wins: A %d, B %d of %d keys", len(res["A"]), len(res["B"]), n)
	assertNoTemp(t, dir)
}

// TestCrossProcessUpdateDelete: a child process keeps updating sessions
// while this process deletes them; a deleted session must stay deleted (the
// check-then-rename of Update is locked against Delete across processes).
func TestCrossProcessUpdateDelete(t *testing.T) {
	testenv.Short(t, "child processes (a few seconds)")
	ctx := context.Background()
	dir := t.TempDir()
	st := newStore(t, dir)
	const n = 200
	keys := make([]string, n)
	for i := range keys {
		keys[i], _ = core.NewKey()
		if err := st.Save(ctx, core.Record{Key: keys[i], Data: []byte(`{"n":0}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan map[string][]string)
	go func() {
		done <- startChildren(t, "update", []string{"U1", "U2"}, map[string]string{envDir: dir, envKeys: writeKeys(t, keys)})
	}()
	// Wait until the children are updating, then delete every key.
	for deadline := time.Now().Add(10 * time.Second); ; {
		rec, err := st.Load(ctx, keys[n-1])
		if err == nil && strings.Contains(string(rec.Data), "owner") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("children never started updating")
		}
		time.Sleep(time.Millisecond)
	}
	for _, k := range keys {
		if err := st.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	for _, k := range keys {
		if rec, err := st.Load(ctx, k); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("key %s resurrected after Delete: %.60q, %v", k, rec.Data, err)
		}
	}
}

// TestCrossProcessLockWait: while another process holds the directory
// lock, an Update with a 50ms context gives up with DeadlineExceeded instead
// of waiting; once that process dies, its lock is gone.
func TestCrossProcessLockWait(t *testing.T) {
	testenv.Short(t, "child processes (a few seconds)")
	dir := t.TempDir()
	st := newStore(t, dir)
	key, _, _ := sessionFile(t, st, `{"n":0}`, time.Now().Add(time.Hour))
	out := filepath.Join(t.TempDir(), "hold.out")
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envRole+"=hold", envDir+"="+dir, envOut+"="+out)
	cmd.Stdout, cmd.Stderr = new(strings.Builder), new(strings.Builder)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(out + ".ready"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child not holding the lock after 30s\n%s\n%s", cmd.Stdout, cmd.Stderr)
		}
	}
	update := func(timeout time.Duration) (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		err := st.Save(ctx, core.Record{Key: key, Data: []byte(`{"n":1}`), Expiry: time.Now().Add(time.Hour)}, core.Update)
		return time.Since(start), err
	}
	if took, err := update(50 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) || took > 5*time.Second {
		t.Errorf("Update while another process holds the lock = %v after %v; want DeadlineExceeded soon after 50ms", err, took)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if _, err := update(10 * time.Second); err != nil {
		t.Errorf("Update after the holder died: %v", err)
	}
}

// TestChildProcess is the body of the child processes; run alone it does
// nothing.
func TestChildProcess(t *testing.T) {
	role := os.Getenv(envRole)
	if role == "" {
		return
	}
	ctx := context.Background()
	st, err := filestore.New(os.Getenv(envDir))
	if err != nil {
		t.Fatal(err)
	}
	if role == "hold" {
		// Hold the directory lock until killed (or for 30 seconds).
		if _, err := filestore.HoldLock(st); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(os.Getenv(envOut)+".ready", nil, 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Second)
		return
	}
	kb, err := os.ReadFile(os.Getenv(envKeys))
	if err != nil {
		t.Fatal(err)
	}
	keys := strings.Fields(string(kb))
	name := os.Getenv(envName)
	if err := os.WriteFile(os.Getenv(envOut)+".ready", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Microsecond) {
		if _, err := os.Stat(os.Getenv(envGo)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never told to start")
		}
	}
	out, err := os.Create(os.Getenv(envOut))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	defer w.Flush()
	pad := strings.Repeat(name, 8<<10)
	switch role {
	case "create":
		// Both processes take the keys in the same order at the same speed,
		// so most keys are contended at the same instant.
		var lost []string
		for _, k := range keys {
			data, _ := json.Marshal(payload{Owner: name, Key: k, Pad: pad})
			err := st.Save(ctx, core.Record{Key: k, Data: data, Expiry: time.Now().Add(time.Hour)}, core.Create)
			switch {
			case err == nil:
				fmt.Fprintln(w, k)
			case errors.Is(err, core.ErrKeyExists):
				lost = append(lost, k)
			default:
				t.Errorf("%s: Create(%s): %v", name, k, err)
			}
		}
		// The loser reads the winner's file: it must be complete.
		for _, k := range lost {
			rec, err := st.Load(ctx, k)
			var p payload
			if err != nil || json.Unmarshal(rec.Data, &p) != nil || p.Key != k || p.Owner == name {
				t.Errorf("%s: lost %s but read %.60q, %v", name, k, rec.Data, err)
			}
		}
	case "update":
		alive := append([]string(nil), keys...)
		for len(alive) > 0 {
			var next []string
			for _, k := range alive {
				data, _ := json.Marshal(payload{Owner: name, Key: k})
				err := st.Save(ctx, core.Record{Key: k, Data: data, Expiry: time.Now().Add(time.Hour)}, core.Update)
				switch {
				case err == nil:
					next = append(next, k)
				case errors.Is(err, core.ErrSessionDeleted):
					fmt.Fprintln(w, k)
				default:
					t.Errorf("%s: Update(%s): %v", name, k, err)
				}
			}
			alive = next
		}
	}
}
