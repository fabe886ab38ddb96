// Package postgres is the PostgreSQL store: the same data and semantics as
// the embedded SQLite store, for several service nodes sharing one
// database.
//
// Several nodes may write at once. Event ids are claimed with INSERT ... ON
// CONFLICT DO NOTHING, so an event sent to two nodes is counted once; the
// executions and rollup rows a transaction reads before changing them are
// locked first with transaction-scoped advisory locks, executions before
// rollups, each class in one sorted order (locks.go), so no update is
// lost. Commits announce what changed with NOTIFY (Notify, ListenUpdates).
//
// The raw event log is partitioned by UTC day of receipt, each day's
// partition created ahead by the writer; retention drops whole days
// (Expire). Execution times are stored to the nanosecond in *_ns bigint
// columns, with timestamptz twins for psql; the views execution_queue,
// v_current_executions and v_execution_latency_distribution read them.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the PostgreSQL store.
type DB struct {
	pool *pgxpool.Pool
	dsn  string

	mu        sync.Mutex
	parts     map[int64]bool // day partitions of execution_logs known to exist (by Unix day start)
	partRetry time.Time      // no creation ahead of writes before then (one just failed)

	// claimFallbacks counts the large batches still to claim their ids
	// with INSERT ... ON CONFLICT after a copy of ids found one taken
	// (see copyFrom).
	claimFallbacks atomic.Int32
}

// Open connects to the database dsn names (a URL or key=value string, as
// libpq takes), migrates it and returns the store. Nodes opening the same
// database at once migrate it one at a time.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", redact(dsn), err)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "shadower"
	}
	// Plan every statement for its arguments. Statements are prepared once
	// per connection (pgx caches them), and PostgreSQL would otherwise
	// switch a statement to a generic plan after five runs and keep it for
	// the connection's life, made when the tables were small: a lookup
	// such as execution_id = ANY($2) then stays a sequential scan, testing
	// each row against each id, while the table grows to millions of rows
	// (nothing replans it where autovacuum does not analyze the tables).
	// A plan costs a fraction of a millisecond; a stale one grows without
	// bound.
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", redact(dsn), err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %s: %w", redact(dsn), err)
	}
	return &DB{pool: pool, dsn: dsn, parts: map[int64]bool{}}, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close() // closes the *sql.DB only, not the pool
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Close closes the connections. It always returns nil; the error is there
// for the interface the server closes stores through.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Pool is the connection pool, for tests and maintenance tools.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Path is the connection string with any password replaced by "xxxxx".
func (db *DB) Path() string { return redact(db.dsn) }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }

// rollupCheck names the constraint of each rollup table that keeps its
// counts non-negative.
var rollupChecks = []string{"execution_metrics_minute_counts", "execution_metrics_hour_counts", "execution_metrics_day_counts"}

// Check is a cheap consistency check: the database answers a query, every
// rollup table still has its validated constraint that keeps counts
// non-negative (so every row, old or new, has non-negative counts, without
// scanning them), and the event log still has its default partition.
func (db *DB) Check(ctx context.Context) error {
	var one int
	if err := db.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return err
	}
	var valid int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_constraint
		WHERE contype = 'c' AND convalidated AND conname = ANY($1)
		  AND conrelid IN ('execution_metrics_minute'::regclass, 'execution_metrics_hour'::regclass, 'execution_metrics_day'::regclass)`,
		rollupChecks).Scan(&valid); err != nil {
		return err
	}
	if valid != len(rollupChecks) {
		return fmt.Errorf("check: %d of the %d rollup tables have a validated constraint keeping their counts non-negative",
			valid, len(rollupChecks))
	}
	var hasDefault bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_partitioned_table
		WHERE partrelid = 'execution_logs'::regclass AND partdefid <> 0)`).Scan(&hasDefault); err != nil {
		return err
	}
	if !hasDefault {
		return errors.New("check: execution_logs has no default partition")
	}
	return nil
}

var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)

// redact replaces the password of a connection string, in a URL's user
// info or query or in a key=value list.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
}
