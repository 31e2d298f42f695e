// Command shop is cloakroom's example app: a small tea shop with a
// catalogue, a cart, a three-step checkout kept in the session, preferences
// (a dark theme, kept in a cookie of its own), a visit counter, flash
// messages, sign-in with bcrypt passwords (the session key is cycled and the
// anonymous cart kept), sign-out (the session is flushed), a password change
// that signs the user out everywhere else, and CSRF tokens kept in the
// session.
//
//	cd _example                                # the example is a module of its own
//	go run ./shop                              # Gin on 127.0.0.1:8080, SQLite in the user cache dir
//	go run ./shop -framework echo -store memory -addr 127.0.0.1:9000
//	go run ./shop -store cached -servers 127.0.0.1:11211
//	go run ./shop -store gorm -driver postgres -dsn 'host=127.0.0.1 user=shop dbname=shop'
//
// The store flags (-store, -driver, -dsn, -table, -dir, -prefix,
// -max-file-bytes, -fanout, -servers) are spelled as the cloakroom command's, so
// the flags that run the shop also run "cloakroom stats" and
// "cloakroom clearsessions" on its sessions.
//
// Every flag can also be set through the environment: SHOP_ and the flag's
// name in capitals, dashes as underscores (SHOP_ADDR, SHOP_STORE, SHOP_DSN,
// SHOP_SERVERS, SHOP_COOKIE_SECRET, ...). A flag on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	// One log, one format: the shop's own messages, the session library's
	// (core.Config.Logger), the request log, net/http's server errors and
	// anything written through the standard log package all go to this
	// handler.
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
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
	app, closeStore, err := newShop(ctx, o, log)
	if err != nil {
		return err
	}
	defer closeStore()
	warnIfStoreDown(ctx, app.m, app.storeName, log)
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           app.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("shop listening", "url", "http://"+ln.Addr().String(), "framework", o.framework, "store", app.storeName,
		"atomic", app.m.Config().Optimistic)
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

// newShop opens the store o names and builds the shop on it; close releases
// the store. serve and the tests build the shop this way.
func newShop(ctx context.Context, o options, log *slog.Logger) (app *App, close func(), err error) {
	u, err := newUsers(o.bcryptCost)
	if err != nil {
		return nil, nil, err
	}
	app, err = newApp(u, o.bcryptCost, o.storeName(), o.framework, log)
	if err != nil {
		return nil, nil, err
	}
	cfg := app.sessionConfig()
	m, close, err := openManager(ctx, o, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the %s store: %w", o.storeName(), err)
	}
	app.m = m
	return app, close, nil
}
