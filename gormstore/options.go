package gormstore

import (
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// DefaultTableName is the table [New] uses unless [WithTableName] says
// otherwise: the table Django's sessions app creates.
const DefaultTableName = "django_session"

// DefaultBatchSize is how many expired rows one DELETE statement of
// [Store.ClearExpired] removes at most, unless [WithBatchSize] says otherwise.
const DefaultBatchSize = 1000

// Option configures a [Store]; pass options to [New].
type Option func(*config) error

type config struct {
	table      string
	migrate    bool
	cleanup    time.Duration
	batchSize  int
	batchPause time.Duration // < 0: adaptive on SQLite, none elsewhere
	logger     *slog.Logger
	now        func() time.Time
	userIndex  bool // keep the user -> sessions table (WithUserIndex)
	versioning bool // cloakroom_version column (WithVersioning)
}

func defaultConfig() config {
	return config{
		table:      DefaultTableName,
		migrate:    true,
		batchSize:  DefaultBatchSize,
		batchPause: -1,
		logger:     slog.Default(),
		now:        time.Now,
	}
}

// tableNameRE accepts a plain identifier or schema.identifier: names that
// need no quoting rules beyond the dialect's own.
var tableNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$`)

// WithTableName makes the store use table name instead of
// [DefaultTableName]. The name must be an identifier of letters, digits and
// underscores, optionally qualified by a schema ("sessions.django_session" on
// PostgreSQL); anything else makes [New] fail with [core.ErrInvalidConfig].
func WithTableName(name string) Option {
	return func(c *config) error {
		if !tableNameRE.MatchString(name) {
			return fmt.Errorf("gormstore: table name %.80q is not an identifier: %w", name, core.ErrInvalidConfig)
		}
		c.table = name
		return nil
	}
}

// WithoutMigration stops [New] from creating the table, for deployments that
// manage their schema themselves (Django's migrations, for instance). New
// still checks that the table exists with the three columns it needs.
func WithoutMigration() Option {
	return func(c *config) error { c.migrate = false; return nil }
}

// WithCleanup starts a background goroutine that calls [Store.ClearExpired]
// every interval until [Store.Close] is called or the context given to [New]
// is cancelled. Errors are reported through the logger (see [WithLogger]).
// The interval must be positive.
func WithCleanup(interval time.Duration) Option {
	return func(c *config) error {
		if interval <= 0 {
			return fmt.Errorf("gormstore: cleanup interval %v must be positive: %w", interval, core.ErrInvalidConfig)
		}
		c.cleanup = interval
		return nil
	}
}

// WithBatchSize sets how many expired rows one DELETE statement removes at
// most (default [DefaultBatchSize]). Smaller batches hold locks for less
// time; larger ones clear faster. It must be between 1 and 1,000,000.
func WithBatchSize(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 1_000_000 {
			return fmt.Errorf("gormstore: batch size %d out of range 1..1000000: %w", n, core.ErrInvalidConfig)
		}
		c.batchSize = n
		return nil
	}
}

// WithBatchPause makes ClearExpired sleep d between two DELETE batches so
// that other writers get the database in between. By default there is no
// pause on PostgreSQL and MySQL (row locks) and, on SQLite (one writer at a
// time), a pause as long as the previous batch took, which leaves writers at
// least half of the time. Zero turns the pause off everywhere.
func WithBatchPause(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("gormstore: batch pause %v must not be negative: %w", d, core.ErrInvalidConfig)
		}
		c.batchPause = d
		return nil
	}
}

// WithLogger sets where the background cleaner reports its errors and
// progress (default [slog.Default]).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("gormstore: nil logger: %w", core.ErrInvalidConfig)
		}
		c.logger = l
		return nil
	}
}

// WithClock makes the store read the current time from now instead of
// time.Now, for tests. The store converts what it returns to UTC.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("gormstore: nil clock: %w", core.ErrInvalidConfig)
		}
		c.now = now
		return nil
	}
}
