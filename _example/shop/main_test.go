package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	noEnv := func(string) string { return "" }
	o, err := parseFlags(nil, noEnv, &bytes.Buffer{})
	if err != nil || o.addr != ":8080" || o.framework != "gin" || o.store != "sqlite" {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	env := map[string]string{"SHOP_FRAMEWORK": "echo", "SHOP_STORE": "memory", "SHOP_ADDR": "127.0.0.1:1"}
	o, err = parseFlags([]string{"-addr", "127.0.0.1:2"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil || o.framework != "echo" || o.store != "memory" || o.addr != "127.0.0.1:2" {
		t.Fatalf("env and flags: %+v %v", o, err)
	}
	for _, args := range [][]string{{"-framework", "chi"}, {"-store", "redis"}, {"-bcrypt-cost", "99"}, {"extra"}, {"-nope"}} {
		var stderr bytes.Buffer
		if _, err := parseFlags(args, noEnv, &stderr); err == nil || errors.Is(err, flag.ErrHelp) {
			t.Errorf("%q accepted", args)
		} else if !strings.Contains(err.Error()+stderr.String(), strings.TrimPrefix(args[0], "-")) {
			t.Errorf("%q: unclear message %q", args, err.Error()+stderr.String())
		}
	}
}
