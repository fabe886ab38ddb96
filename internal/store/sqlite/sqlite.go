// Package sqlite is the embedded store: one SQLite file in WAL mode with a
// single writer connection and a pool of readers.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"
)

// driverName is go-sqlite3 with the settings every connection needs.
const driverName = "sqlite3-shadower"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		// Every multi-row write keeps a statement journal to undo itself
		// if it fails halfway; by default it spills to a temporary file,
		// which cost ingest an eighth of its CPU in write system calls.
		_, err := c.Exec("PRAGMA temp_store=MEMORY", nil)
		if err == nil {
			_, err = c.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint=%d", walBackstop), nil)
		}
		return err
	}})
}

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the embedded store.
type DB struct {
	w    *sql.DB // the one writer
	r    *sql.DB // readers
	ckpt *sql.DB // copies the WAL into the database, beside the writer
	path string

	// The writer's time in transactions, for trimWhenQuiet.
	busy   atomic.Int64 // nanoseconds in finished transactions
	inTx   atomic.Bool
	trims  atomic.Int64 // page caches freed, for tests
	copies atomic.Int64 // checkpoints that copied pages, for tests

	// stop ends the background work (trimWhenQuiet, checkpoints); bg
	// waits for it.
	stop    chan struct{}
	bg      sync.WaitGroup
	closing sync.Once
}

// The writer leaves checkpoints (copying the WAL's pages into the database
// file and syncing it) to its own connection, on the other core: done by
// the writer, after the commit that crosses the WAL's threshold, they took
// a fifth of its time under ingest. walBackstop is the WAL size at which
// the writer checkpoints after all, should the checkpointer fall behind.
const (
	checkpointEvery = 100 * time.Millisecond
	walBackstop     = 16384 // pages: 64 MiB
)

// quietPeriod is how often the writer's page cache may be freed: soon
// after a burst of ingest ends, and at most six times a minute, each time
// costing the few pages the next commits read back.
const quietPeriod = 10 * time.Second

// FileName is the database file inside the data directory.
const FileName = "shadower.db"

// Open opens (creating if needed) the store in dir and migrates it.
func Open(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// synchronous=FULL syncs the WAL on every commit: an acknowledged batch
	// survives a crash of the process and of the machine.
	common := "_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_foreign_keys=off"
	// Each connection has its own page cache, counted in the process's
	// memory. The writer's is large: ingest revisits the same index pages
	// every commit. Readers' are small: there are up to eight, the span
	// cache spares them most rereads, and the OS caches the file anyway.
	w, err := sql.Open(driverName, "file:"+path+"?"+common+"&_cache_size=-65536&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetMaxIdleConns(1)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open(driverName, "file:"+path+"?"+common+"&_cache_size=-8192&_query_only=1")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	// A reader idle for a while is closed, and its page cache freed: the
	// memory of a burst of queries does not stay after it.
	r.SetConnMaxIdleTime(time.Minute)
	ckpt, err := sql.Open(driverName, "file:"+path+"?"+common+"&_cache_size=-256")
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	ckpt.SetMaxOpenConns(1)
	db := &DB{w: w, r: r, ckpt: ckpt, path: path, stop: make(chan struct{})}
	db.bg.Go(func() { db.trimWhenQuiet(quietPeriod, db.stop) })
	db.bg.Go(func() { db.checkpoints(checkpointEvery, db.stop) })
	return db, nil
}

// checkpoints copies what the WAL holds into the database every period,
// without waiting on readers or the writer (a passive checkpoint): the
// writer then finds the WAL checkpointed and starts it over, so it stays
// about one commit long. A checkpoint that fails (busy) is retried with
// the next.
func (db *DB) checkpoints(period time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(period)
	defer t.Stop()
	last := -1
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		var busy, frames, copied int
		if db.ckpt.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied) == nil && copied != last {
			if copied > 0 {
				db.copies.Add(1)
			}
			last = copied
		}
	}
}

// trimWhenQuiet frees the writer's page cache after each period in which
// the writer was in transactions less than a hundredth of the time: a
// writer that quiet (light live traffic, or none) reads back the few pages
// it needs, and its 64 MiB need not stay with the process. Under load the
// cache stays.
func (db *DB) trimWhenQuiet(period time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(period)
	defer t.Stop()
	last := db.busy.Load()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		busy := db.busy.Load()
		if busy-last < int64(period/100) && !db.inTx.Load() {
			if _, err := db.w.Exec("PRAGMA shrink_memory"); err == nil {
				db.trims.Add(1)
			}
		}
		last = busy
	}
}

func migrate(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, db, mustSub(migrations, "migrations"))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Close closes the store.
func (db *DB) Close() error {
	db.closing.Do(func() {
		close(db.stop)
		db.bg.Wait()
	})
	return errors.Join(db.ckpt.Close(), db.r.Close(), db.w.Close())
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Check runs SQLite's integrity check.
func (db *DB) Check(ctx context.Context) error {
	var res string
	if err := db.r.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return fmt.Errorf("integrity check: %s", res)
	}
	return nil
}

// Ping reports whether the store answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.r.PingContext(ctx)
}

func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
