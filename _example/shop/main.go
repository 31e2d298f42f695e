// Command shop is cloakroom's example app: a small tea shop with a
// catalogue, a cart, a three-step checkout kept in the session, preferences
// (a dark theme), a visit counter, flash messages, sign-in with bcrypt
// passwords (the session key is cycled and the anonymous cart kept),
// sign-out (the session is flushed), a password change that signs the user
// out everywhere else, and CSRF tokens kept in the session.
//
//	cd _example                                # the example is a module of its own
//	go run ./shop                              # Gin on :8080, SQLite file
//	go run ./shop -framework echo -store memory -addr 127.0.0.1:9000
//
// Every flag can also be set through the environment (SHOP_ADDR,
// SHOP_FRAMEWORK, SHOP_STORE, SHOP_DB, SHOP_MEMCACHED, SHOP_DIR,
// SHOP_COOKIE_SECRET).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
)

type options struct {
	addr, framework, store, db, memcached, dir, cookieSecret string
	bcryptCost                                               int
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var o options
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", env("SHOP_ADDR", ":8080"), "listen `address` (SHOP_ADDR)")
	fs.StringVar(&o.framework, "framework", env("SHOP_FRAMEWORK", "gin"), "web framework: gin or echo (SHOP_FRAMEWORK)")
	fs.StringVar(&o.store, "store", env("SHOP_STORE", "sqlite"), "session store: "+strings.Join(storeKinds, ", ")+" (SHOP_STORE)")
	fs.StringVar(&o.db, "db", env("SHOP_DB", "shop-sessions.db"), "SQLite `file` for the sqlite and cached stores (SHOP_DB)")
	fs.StringVar(&o.memcached, "memcached", env("SHOP_MEMCACHED", "127.0.0.1:11211"), "memcached `address` for the memcached and cached stores (SHOP_MEMCACHED)")
	fs.StringVar(&o.dir, "dir", env("SHOP_DIR", ""), "`directory` for the file store (SHOP_DIR; default: a private directory made for this run and removed at exit)")
	fs.StringVar(&o.cookieSecret, "cookie-secret", env("SHOP_COOKIE_SECRET", ""), "`secret` of at least 32 bytes for the cookie store (SHOP_COOKIE_SECRET)")
	fs.IntVar(&o.bcryptCost, "bcrypt-cost", bcrypt.DefaultCost, "bcrypt cost for the demo passwords")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.framework != "gin" && o.framework != "echo":
		return o, fmt.Errorf("-framework %q: want gin or echo", o.framework)
	case !slices.Contains(storeKinds, o.store):
		return o, fmt.Errorf("-store %q: want one of %s", o.store, strings.Join(storeKinds, ", "))
	case o.bcryptCost < bcrypt.MinCost || o.bcryptCost > bcrypt.MaxCost:
		return o, fmt.Errorf("-bcrypt-cost %d: want %d to %d", o.bcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	return o, nil
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	o, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "shop: %v\nRun 'shop -h' for the flags.\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, o, log); err != nil {
		log.Error("shop stopped", "error", err)
		os.Exit(1)
	}
}

func serve(ctx context.Context, o options, log *slog.Logger) error {
	m, closeStore, err := openManager(ctx, o)
	if err != nil {
		return fmt.Errorf("opening the %s store: %w", o.store, err)
	}
	defer closeStore()
	warnIfStoreDown(ctx, m, o.store, log)
	u, err := newUsers(o.bcryptCost)
	if err != nil {
		return err
	}
	app, err := newApp(m, u, o.bcryptCost, o.store, o.framework, log)
	if err != nil {
		return err
	}
	h := ginHandler(app)
	if o.framework == "echo" {
		h = echoHandler(app)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Info("shop listening", "url", "http://"+ln.Addr().String(), "framework", o.framework, "store", o.store)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	log.Info("shop shutting down")
	return srv.Shutdown(shutdown)
}
