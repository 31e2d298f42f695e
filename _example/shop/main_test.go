package main

import (
	"bytes"
	"errors"
	"flag"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/internal/testenv"
)

func TestFlags(t *testing.T) {
	noEnv := func(string) string { return "" }
	o, err := parseFlags(nil, noEnv, &bytes.Buffer{})
	if err != nil || o.addr != "127.0.0.1:8080" || o.framework != "gin" || o.kind != "gorm" || o.driver != "sqlite" || o.dsn != "" {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	env := map[string]string{"SHOP_FRAMEWORK": "echo", "SHOP_STORE": "memcached", "SHOP_ADDR": "127.0.0.1:1", "SHOP_SERVERS": "10.0.0.1:11211,10.0.0.2:11211"}
	o, err = parseFlags([]string{"-addr", "127.0.0.1:2"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil || o.framework != "echo" || o.kind != "memcached" || o.addr != "127.0.0.1:2" || o.servers != env["SHOP_SERVERS"] {
		t.Fatalf("env and flags: %+v %v", o, err)
	}
	for _, args := range [][]string{
		{"-framework", "chi"}, {"-store", "couchdb"}, {"-distribution", "consistent"}, {"-driver", "oracle"}, {"-bcrypt-cost", "99"}, {"extra"}, {"-nope"},
		{"-store", "gorm", "-driver", "postgres"}, // no -dsn
	} {
		var stderr bytes.Buffer
		if _, err := parseFlags(args, noEnv, &stderr); err == nil || errors.Is(err, flag.ErrHelp) {
			t.Errorf("%q accepted", args)
		} else if !strings.Contains(err.Error()+stderr.String(), strings.TrimPrefix(args[len(args)-1], "-")) {
			t.Errorf("%q: unclear message %q", args, err.Error()+stderr.String())
		}
	}
	// The old spelling says what the new one is.
	if _, err := parseFlags([]string{"-store", "sqlite"}, noEnv, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "-store gorm -driver sqlite") {
		t.Errorf("-store sqlite: %v", err)
	}
	if _, err := parseFlags(nil, func(k string) string { return map[string]string{"SHOP_BCRYPT_COST": "x"}[k] }, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "SHOP_BCRYPT_COST") {
		t.Errorf("a bad SHOP_BCRYPT_COST: %v", err)
	}
	// The SQLite file's default is outside the working tree, and the help
	// says where.
	var help bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, noEnv, &help); !errors.Is(err, flag.ErrHelp) || !strings.Contains(help.String(), defaultSQLitePath()) {
		t.Errorf("-h does not name the default SQLite file %s:\n%s", defaultSQLitePath(), help.String())
	}
	if p, _ := filepath.Abs(defaultSQLitePath()); strings.HasPrefix(p, mustAbs(t, "..")) {
		t.Errorf("the default SQLite file %s is in the working tree", p)
	}
}

func mustAbs(t *testing.T, p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// flagRE finds a flag and its value name in flag.PrintDefaults' output.
var flagRE = regexp.MustCompile(`(?m)^  -([a-z-]+)(?: ([a-z]+))?`)

// usageFlags lists the flags, with their value names, in a -h output.
func usageFlags(usage string) map[string]string {
	out := map[string]string{}
	for _, m := range flagRE.FindAllStringSubmatch(usage, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// The shop's store flags are the cloakroom command's: the same names, with
// the same value names. The command is run, so the test sees the flags it
// really has.
func TestStoreFlagsMatchCloakroomCommand(t *testing.T) {
	testenv.Short(t, "builds the cloakroom command")
	// Without cgo the command builds in seconds (no SQLite C code); -h
	// opens nothing.
	run := exec.Command("go", "run", ".", "stats", "-h")
	run.Dir = filepath.Join("..", "..", "cmd", "cloakroom") // a module of its own
	run.Env = append(run.Environ(), "CGO_ENABLED=0")
	out, _ := run.CombinedOutput()
	cmd := usageFlags(string(out))
	if len(cmd) == 0 {
		t.Fatalf("no flags in cloakroom stats -h:\n%s", out)
	}
	var help bytes.Buffer
	_, _ = parseFlags([]string{"-h"}, func(string) string { return "" }, &help)
	shop := usageFlags(help.String())
	storeFlagNames := []string{"store", "driver", "dsn", "table", "dir", "prefix", "max-file-bytes", "fanout", "servers", "distribution",
		"redis", "redis-master", "redis-cluster", "redis-db", "redis-user", "redis-tls", "redis-ca"}
	for _, name := range storeFlagNames {
		c, inCmd := cmd[name]
		s, inShop := shop[name]
		if !inCmd || !inShop || c != s {
			t.Errorf("-%s: cloakroom command %t %q, shop %t %q: want the same flag in both", name, inCmd, c, inShop, s)
		}
	}
	// Every flag of the command's stats is a store flag of the shop's, and
	// every flag of the shop is a store flag or its own.
	for name := range cmd {
		if !slices.Contains(storeFlagNames, name) {
			t.Errorf("the cloakroom command's -%s is not among the shop's store flags", name)
		}
	}
	for name := range shop {
		if !slices.Contains(storeFlagNames, name) && !slices.Contains([]string{"addr", "framework", "cookie-secret", "bcrypt-cost"}, name) {
			t.Errorf("the shop's -%s is neither a store flag nor listed as the shop's own", name)
		}
	}
}
