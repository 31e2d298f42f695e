// Command cloakroom is the operator's tool for cloakroom session stores.
//
// Usage:
//
//	cloakroom clearsessions [store flags]   delete expired sessions, in batches
//	cloakroom stats [store flags]           live and expired sessions, sizes
//
// Store flags:
//
//	-store gorm|file|memcached   which store (default gorm)
//	-driver sqlite|postgres|mysql, -dsn DSN, -table NAME   for gorm
//	-dir DIR, -prefix PREFIX, -max-file-bytes N, -fanout L   for file (-dir required)
//	-servers host:port,...                                   for memcached
//
// clearsessions is Django's command of that name. For a gorm store it shows
// its progress on standard error (rows deleted, share of the expired rows,
// rate, elapsed and remaining time): redrawn in place on a terminal, a line
// every 10 seconds otherwise. Memcached expires sessions by itself, so clearsessions has
// nothing to do there and stats reports the server's own counters.
//
// For the file store, clearsessions also removes corrupt session files
// (unreadable header, wrong size or checksum, or over -max-file-bytes, which
// must be the application's bound), and stats counts them as expired: the
// expired count stats reports is what clearsessions deletes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: cloakroom <command> [flags]

commands:
  clearsessions   delete expired sessions (batched; progress on stderr)
  stats           report live and expired sessions and their sizes

run "cloakroom <command> -h" for the flags.
`

// errUsage marks errors that are the caller's: exit status 2.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("cloakroom "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	var err error
	switch cmd {
	case "clearsessions", "stats":
	default:
		fmt.Fprintf(stderr, "cloakroom: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // the flag package has printed the error and the usage
	}
	if cmd == "clearsessions" {
		err = clearSessions(ctx, &sf, stdout, stderr)
	} else {
		err = stats(ctx, &sf, stdout)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "cloakroom %s: %v\n", cmd, err)
		fs.Usage()
		return 2
	default:
		fmt.Fprintf(stderr, "cloakroom %s: %v\n", cmd, err)
		return 1
	}
}
