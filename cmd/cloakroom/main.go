// Command cloakroom is the operator's tool for cloakroom session stores.
//
// Usage:
//
//	cloakroom clearsessions [-batch N] [store flags]         delete expired sessions, in batches
//	cloakroom stats [store flags]                            live and expired sessions, sizes
//	cloakroom sessions -user ID [-limit N] [-json] [store flags]   list a user's live sessions
//	cloakroom show [-values] [-codec json|django] [-json] [store flags] KEY   one session
//	cloakroom revoke [store flags] KEY...                    delete sessions
//	cloakroom revoke -user ID [store flags]                  delete all of a user's sessions
//
// Store flags:
//
//	-store gorm|file|memcached|redis|cached   which store (default gorm;
//	    cached: memcached in front of the gorm database, as cachedstore stacks them)
//	-driver sqlite|postgres|mysql, -dsn DSN, -table NAME   for gorm
//	-dir DIR, -prefix PREFIX, -max-file-bytes N, -fanout L   for file (-dir required)
//	-servers host:port,..., -distribution NAME, -prefix PREFIX   for memcached
//	-redis host:port,..., -redis-master NAME, -redis-cluster, -redis-db N,
//	-redis-user NAME, -redis-tls, -redis-ca FILE, -prefix PREFIX   for redis ($REDIS_PASSWORD,
//	$REDIS_SENTINEL_PASSWORD)
//
// Give the store flags the application's values: the memcached servers as
// it lists them and its -distribution, the same prefix and so on, or the
// command looks in the wrong place. An application with a cache in front
// of its database (cachedstore) needs -store cached: a session revoked in
// the database alone would still be served from the cache.
//
// clearsessions is Django's command of that name. For a gorm store it shows
// its progress on standard error (rows deleted, share of the expired rows,
// rate, elapsed and remaining time): redrawn in place on a terminal, a line
// every 10 seconds otherwise. Memcached and Redis expire sessions by
// themselves, so clearsessions has nothing to do there and stats reports
// the servers' own counters.
//
// For the file store, clearsessions also removes corrupt session files
// (unreadable header, wrong size or checksum, or over -max-file-bytes, which
// must be the application's bound), and stats counts them as expired: the
// expired count stats reports is what clearsessions deletes.
//
// sessions and revoke -user need the store's user index (gormstore with
// WithUserIndex in the application, redisstore); show and revoke KEY work on
// every server store. Keys are the store's own (with core/hashkeys, the
// hashes sessions lists, not cookie values). A KEY of "-" reads keys from
// standard input, one per line, so that live keys stay out of the process
// list. show prints keys and sizes; values only with -values.
//
// Exit status: 0 done; 1 the store failed or cannot do it; 2 a usage error;
// 3 nothing found (no live session under a key, a user without sessions).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/cloakroom/cloakroom/core"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage: cloakroom <command> [flags]

commands:
  clearsessions   delete expired sessions (batched; progress on stderr)
  stats           report live and expired sessions and their sizes
  sessions        list a user's live sessions (-user ID)
  show            show one session: expiry, user, keys and sizes (KEY)
  revoke          delete sessions (KEY...), or all of a user's (-user ID)

run "cloakroom <command> -h" for the flags.
exit status: 0 done, 1 failed, 2 usage error, 3 nothing found.
`

// synopsis is each command's usage line.
var synopsis = map[string]string{
	"clearsessions": "clearsessions [-batch N] [store flags]",
	"stats":         "stats [store flags]",
	"sessions":      "sessions -user ID [-limit N] [-json] [store flags]",
	"show":          "show [-values] [-codec json|django] [-json] [store flags] KEY|-",
	"revoke":        "revoke [store flags] KEY...|-\n       cloakroom revoke -user ID [store flags]",
}

// errUsage marks errors that are the caller's: exit status 2.
var errUsage = errors.New("usage")

// Exit statuses.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitNothing = 3
)

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "clearsessions", "stats", "sessions", "show", "revoke":
	default:
		fmt.Fprintf(stderr, "cloakroom: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	fs := flag.NewFlagSet("cloakroom "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: cloakroom %s\n\nflags:\n", synopsis[cmd])
		fs.PrintDefaults()
	}
	var sf storeFlags
	sf.register(fs)
	var cf commandFlags
	if cmd == "clearsessions" {
		fs.IntVar(&sf.batch, "batch", 1000, "gorm rows per DELETE statement")
	} else if cmd != "stats" {
		cf.register(cmd, fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage // the flag package has printed the error and the usage
	}
	err := dispatch(ctx, cmd, &sf, &cf, fs.Args(), stdin, stdout, stderr)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "cloakroom %s: %v\n", cmd, err)
		fs.Usage()
		return exitUsage
	case errors.Is(err, errNothing):
		fmt.Fprintf(stderr, "cloakroom %s: %v\n", cmd, err)
		return exitNothing
	default:
		fmt.Fprintf(stderr, "cloakroom %s: %v\n", cmd, err)
		return exitFailed
	}
}

// dispatch checks the command's arguments, opens the store and runs the
// command.
func dispatch(ctx context.Context, cmd string, sf *storeFlags, cf *commandFlags, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var keys []string
	var codec core.Codec
	var err error
	switch cmd {
	case "clearsessions", "stats":
		if len(args) > 0 {
			return fmt.Errorf("%w: unexpected arguments %q", errUsage, args)
		}
		if cmd == "clearsessions" {
			if sf.batch < 1 {
				return fmt.Errorf("%w: -batch %d: want at least 1", errUsage, sf.batch)
			}
			return clearSessions(ctx, sf, stdout, stderr)
		}
		return stats(ctx, sf, stdout)
	case "sessions":
		switch {
		case cf.user == "":
			return fmt.Errorf("%w: -user is required", errUsage)
		case len(args) > 0:
			return fmt.Errorf("%w: unexpected arguments %q", errUsage, args)
		case cf.limit < 1:
			return fmt.Errorf("%w: -limit %d: want at least 1", errUsage, cf.limit)
		}
	case "show":
		if len(args) != 1 {
			return fmt.Errorf("%w: show takes one session key (or - to read it from standard input)", errUsage)
		}
		if keys, err = keyArgs(args, stdin); err != nil {
			return err
		}
		if len(keys) != 1 {
			return fmt.Errorf("%w: show takes one session key, got %d", errUsage, len(keys))
		}
		if codec, err = newCodec(cf.codec); err != nil {
			return err
		}
	case "revoke":
		switch {
		case cf.user != "" && len(args) > 0:
			return fmt.Errorf("%w: revoke takes keys or -user, not both", errUsage)
		case cf.user == "" && len(args) == 0:
			return fmt.Errorf("%w: revoke needs session keys (or - to read them from standard input) or -user", errUsage)
		case cf.user == "":
			if keys, err = keyArgs(args, stdin); err != nil {
				return err
			}
		}
	}
	if cf.timeout <= 0 {
		return fmt.Errorf("%w: -timeout %v: want a positive duration", errUsage, cf.timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	o, err := open(ctx, sf)
	if err != nil {
		return err
	}
	defer o.close()
	switch {
	case cmd == "sessions":
		return listSessions(ctx, o, cf.user, cf.limit, cf.json, stdout)
	case cmd == "show":
		return showSession(ctx, o, keys[0], codec, cf.values, cf.json, stdout)
	case cf.user != "":
		return revokeUser(ctx, o, cf.user, stdout)
	default:
		return revokeSessions(ctx, o, keys, stdout)
	}
}
