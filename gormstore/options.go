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

// options holds the settings the options of [New] set. [New] fills in the
// defaults, applies the options and checks the result; the store keeps a
// copy.
type options struct {
	table      string
	migrate    bool
	cleanup    time.Duration // 0: no background cleaner
	cleanupSet bool          // WithCleanup was given
	batchSize  int
	batchPause time.Duration // < 0: adaptive on SQLite, none elsewhere
	pauseSet   bool          // WithBatchPause was given
	logger     *slog.Logger
	now        func() time.Time
	userIndex  bool // keep the user -> sessions table (WithUserIndex)
	versioning bool // cloakroom_version column (WithVersioning)
}

// Option configures a [Store]; pass options to [New].
type Option func(*options)

func defaultOptions() options {
	return options{
		table:      DefaultTableName,
		migrate:    true,
		batchSize:  DefaultBatchSize,
		batchPause: -1,
		logger:     slog.Default(),
		now:        time.Now,
	}
}

// check validates the settings, in one place for every option.
func (o *options) check() error {
	switch {
	case !tableNameRE.MatchString(o.table):
		return fmt.Errorf("gormstore: table name %.80q: not an identifier: %w", o.table, core.ErrInvalidConfig)
	case o.cleanupSet && o.cleanup <= 0:
		return fmt.Errorf("gormstore: cleanup interval %v: want a positive interval: %w", o.cleanup, core.ErrInvalidConfig)
	case o.batchSize < 1 || o.batchSize > 1_000_000:
		return fmt.Errorf("gormstore: batch size %d: out of range 1..1000000: %w", o.batchSize, core.ErrInvalidConfig)
	case o.pauseSet && o.batchPause < 0:
		return fmt.Errorf("gormstore: batch pause %v: must not be negative: %w", o.batchPause, core.ErrInvalidConfig)
	case o.logger == nil:
		return fmt.Errorf("gormstore: nil logger: %w", core.ErrInvalidConfig)
	case o.now == nil:
		return fmt.Errorf("gormstore: nil clock: %w", core.ErrInvalidConfig)
	}
	return nil
}

// tableNameRE accepts a plain identifier or schema.identifier: names that
// need no quoting rules beyond the dialect's own.
var tableNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$`)

// WithTableName makes the store use table name instead of
// [DefaultTableName] (the default). The name must be an identifier of
// letters, digits and underscores, optionally qualified by a schema
// ("sessions.django_session" on PostgreSQL); anything else makes [New]
// fail with [core.ErrInvalidConfig].
func WithTableName(name string) Option {
	return func(o *options) { o.table = name }
}

// WithoutMigration stops [New] from creating the table, for deployments that
// manage their schema themselves (Django's migrations, for instance); by
// default New creates a missing table. New still checks that the table
// exists with the three columns it needs.
func WithoutMigration() Option {
	return func(o *options) { o.migrate = false }
}

// WithCleanup starts a background goroutine that calls [Store.ClearExpired]
// every interval until [Store.Close] is called or the context given to [New]
// is cancelled; by default there is none. Errors are reported through the
// logger (see [WithLogger]). The interval must be positive.
func WithCleanup(interval time.Duration) Option {
	return func(o *options) { o.cleanup, o.cleanupSet = interval, true }
}

// WithBatchSize sets how many expired rows one DELETE statement removes at
// most (default [DefaultBatchSize]). Smaller batches hold locks for less
// time; larger ones clear faster. It must be between 1 and 1,000,000.
func WithBatchSize(n int) Option {
	return func(o *options) { o.batchSize = n }
}

// WithBatchPause makes ClearExpired sleep d between two DELETE batches so
// that other writers get the database in between. By default the pause
// follows how long the previous batch took: as long on SQLite (one writer
// at a time), which leaves writers at least half of the time; nine times as
// long on PostgreSQL, which keeps the clear's writes to a tenth of the
// server's time so its checkpoints do not stall users' writes; none on
// MySQL/MariaDB (row locks; measured within 50 ms without). Zero turns the
// pause off everywhere; d must not be negative.
func WithBatchPause(d time.Duration) Option {
	return func(o *options) { o.batchPause, o.pauseSet = d, true }
}

// WithLogger sets where the background cleaner reports its errors and
// progress (default [slog.Default]). l must not be nil.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithClock makes the store read the current time from now instead of
// time.Now (the default), for tests. The store converts what it returns to
// UTC. now must not be nil.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}
