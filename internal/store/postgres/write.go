package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/rollup"
)

var (
	_ ingest.Store     = (*DB)(nil)
	_ ingest.Tx        = (*tx)(nil)
	_ ingest.Publisher = (*tx)(nil)
)

// Channel is the NOTIFY channel commits announce their changes on.
const Channel = "shadower_updates"

// MaxPayload is the longest payload Notify takes: PostgreSQL refuses
// NOTIFY payloads of 8000 bytes or more.
const MaxPayload = 7999

// Write runs fn in one READ COMMITTED transaction and commits it when fn
// returns nil. The payloads given to the transaction's Notify are sent on
// Channel inside the transaction, after fn's writes: other nodes receive
// them when, and only if, it commits.
//
// Writes whose results fn does not need are sent later (see tx), so a
// write's error may come from a later call of fn than the one that caused
// it, or from the commit; either way nothing of the transaction is kept.
//
// When PostgreSQL aborts the transaction to break a deadlock with another
// node's (two nodes claiming the same event ids in different orders, see
// locks.go), Write runs fn again in a new transaction, up to writeAttempts
// times in all: fn must be safe to run again after a failed attempt, as
// the ingest writer's is (it rebuilds its results from scratch).
func (db *DB) Write(ctx context.Context, fn func(ingest.Tx) error) error {
	db.ensureParts(ctx, time.Now())
	for attempt := 1; ; attempt++ {
		err := db.write(ctx, fn)
		var pe *pgconn.PgError
		if err == nil || attempt == writeAttempts || !errors.As(err, &pe) || pe.Code != "40P01" {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*(5+rand.IntN(20))) * time.Millisecond):
		}
	}
}

// writeAttempts bounds the runs of a Write's fn (see Write).
const writeAttempts = 4

func (db *DB) write(ctx context.Context, fn func(ingest.Tx) error) error {
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer pc.Release()
	t := &tx{db: db, conn: pc.Conn(), ctx: ctx,
		execLocks: newLockSet(execGlobalLock, 0), rollLocks: newLockSet(rollupGlobalLock, 1)}
	defer func() {
		// Also when fn panics: the connection must go back clean. (Should
		// this fail too, the pool closes a connection returned inside a
		// transaction.)
		t.wait()
		if t.conn.PgConn().TxStatus() != 'I' {
			t.conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	b := &pgx.Batch{}
	if len(t.notify) > 0 {
		b.Queue(`SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS n(p, i) ORDER BY i`, Channel, t.notify)
	}
	if !t.begun && len(t.queued) == 0 && b.Len() == 0 {
		return nil // nothing was read or written
	}
	b.Queue(`COMMIT`)
	t.queued, t.later = append(t.queued, t.later...), nil
	br, err := t.send(b)
	if err != nil {
		return err
	}
	defer br.Close()
	if len(t.notify) > 0 {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	tag, err := br.Exec()
	if err != nil {
		return err
	}
	if err := br.Close(); err != nil {
		return err
	}
	if tag.String() != "COMMIT" { // what PostgreSQL answers to COMMIT in an aborted transaction
		return pgx.ErrTxCommitRollback
	}
	db.setPartKnown(t.newParts...)
	return nil
}

// tx is one write transaction on one connection.
//
// A commit takes a few round trips whatever its size, and PostgreSQL
// works on its writes while the writer computes:
//
//   - BEGIN goes with the first statement;
//   - the writes whose results the writer does not need (executions,
//     workspaces and rollup rows saved) are queued, and sent with the next
//     statement that answers something, or with COMMIT: statements in one
//     pipeline, each COPY in one message with the statements without
//     parameters before it (see send);
//   - the writes no read of the transaction depends on until COMMIT (the
//     event log; new executions and rollup rows, until their table is read
//     again) wait in later, and are sent from another goroutine once the
//     next read has answered or the last rows are saved (startLater):
//     PostgreSQL copies them in while the writer folds what it read. Every
//     use of the connection first waits for that goroutine (wait).
//
// The writes of a table run in the order they were made (a statement
// writing a table is queued after the later writes of that table), and
// those of different tables touch different rows: new rows copied in
// later, other rows by statements. A read of a table first sends the
// writes of that table. So the transaction ends as if every write had run
// at once, and every read sees the writes before it.
type tx struct {
	db       *DB
	conn     *pgx.Conn
	ctx      context.Context
	begun    bool     // BEGIN sent
	queued   []queued // writes to send before the next statement, in order
	later    []queued // writes to send before COMMIT or a read of their table, in order
	sending  chan error
	sendErr  error // of the writes sent by startLater
	notify   []string
	newParts []time.Time // partitions created by this transaction

	// fresh lists the executions of the new events inserted so far, for
	// the first LoadExecutions to lock and read at once; loaded keeps
	// what it read for the later calls (nil: no such execution).
	fresh     []eventKey
	freshSeen map[eventKey]bool
	readFresh bool
	loaded    map[eventKey]*execution.Execution
	execLocks lockSet
	rollLocks lockSet

	// The executions and rollup rows this transaction read under its
	// locks and found missing. No other writer may insert them before it
	// commits, so saving one copies it in: a plain insert, about half the
	// database time of an INSERT ... ON CONFLICT from arrays (which
	// inserts each new row speculatively, then confirms it).
	newExecs map[eventKey]bool
	newRolls map[rollup.Key]bool
}

type eventKey struct{ ws, id string }

// queued is a write waiting to be sent: a statement, or a COPY of rows into
// table when rows is set. A COPY's sql holds statements without
// parameters to run before it, each ending in "; ".
type queued struct {
	what  string // for errors
	table string // the table written, if any
	sql   string
	args  []any
	cols  []string // the COPY's columns
	rows  *copyRows
}

// queue adds a statement writing table ("" for none) to the queued
// writes, after the later writes of that table, which must run first.
func (t *tx) queue(what, table, sql string, args ...any) {
	if table != "" {
		t.queued = append(t.queued, t.takeLater(table)...)
	}
	t.queued = append(t.queued, queued{what: what, table: table, sql: sql, args: args})
}

// takeLater removes from later the writes of the tables and returns them.
func (t *tx) takeLater(tables ...string) []queued {
	var taken, kept []queued
	for _, q := range t.later {
		if slices.Contains(tables, q.table) {
			taken = append(taken, q)
		} else {
			kept = append(kept, q)
		}
	}
	t.later = kept
	return taken
}

// copyLater adds a COPY to the writes sent in the background (see tx),
// into the last one when it copies into the same table (as the events of
// each batch of a commit do): one message then carries them all.
func (t *tx) copyLater(what, table string, cols []string, rows *copyRows) {
	if n := len(t.later); n > 0 && t.later[n-1].rows != nil && t.later[n-1].table == table && t.later[n-1].sql == "" {
		t.later[n-1].rows.appendRows(rows)
		return
	}
	t.later = append(t.later, queued{what: what, table: table, cols: cols, rows: rows})
}

const beginSQL = `BEGIN ISOLATION LEVEL READ COMMITTED`

// wait waits for the writes sent in the background and returns their
// error, if any: the transaction has then failed.
func (t *tx) wait() error {
	if t.sending != nil {
		if err := <-t.sending; err != nil && t.sendErr == nil {
			t.sendErr = err
		}
		t.sending = nil
	}
	return t.sendErr
}

// startLater sends the queued and later writes from another goroutine,
// after any sent before, which has the connection to itself until wait
// returns. The caller has just read an answer or saved its last rows:
// PostgreSQL runs the writes while the writer goes on computing.
func (t *tx) startLater() {
	if len(t.later) == 0 || !t.begun {
		return
	}
	items, prev, done := append(t.queued, t.later...), t.sending, make(chan error, 1)
	t.queued, t.later, t.sending = nil, nil, done
	go func() {
		if prev != nil {
			if err := <-prev; err != nil {
				done <- err
				return
			}
		}
		_, err := t.sendItems(items, nil)
		done <- err
	}()
}

// send waits for the background writes, then sends the queued writes,
// the later writes of the tables b reads (reads) and b's statements, and
// returns the results of b's statements, which the caller must close.
func (t *tx) send(b *pgx.Batch, reads ...string) (pgx.BatchResults, error) {
	if err := t.wait(); err != nil {
		return nil, err
	}
	items := append(t.queued, t.takeLater(reads...)...)
	t.queued = nil
	return t.sendItems(items, b)
}

// flush waits for the background writes, then sends BEGIN when not sent
// yet and the queued writes.
func (t *tx) flush() error {
	if err := t.wait(); err != nil {
		return err
	}
	items := t.queued
	t.queued = nil
	_, err := t.sendItems(items, nil)
	return err
}

// sendItems sends BEGIN when not sent yet, items and then b's statements,
// and returns the results of b's statements (none when b is nil).
// Statements go in one pipeline; a COPY goes in its own message, with the
// statements without parameters just before it, and splits the pipeline.
func (t *tx) sendItems(items []queued, b *pgx.Batch) (pgx.BatchResults, error) {
	var stmts []queued
	for _, q := range items {
		if q.rows == nil {
			stmts = append(stmts, q)
			continue
		}
		pre := q.sql
		for len(stmts) > 0 && len(stmts[len(stmts)-1].args) == 0 {
			pre = stmts[len(stmts)-1].sql + `; ` + pre
			stmts = stmts[:len(stmts)-1]
		}
		if len(stmts) > 0 {
			if err := t.pipelineClose(stmts); err != nil {
				return nil, err
			}
			stmts = nil
		}
		if !t.begun {
			pre, t.begun = beginSQL+`; `+pre, true
		}
		if err := copyIn(t.ctx, t.conn, pre, q.table, q.cols, q.rows); err != nil {
			return nil, fmt.Errorf("%s: %w", q.what, err)
		}
	}
	if b == nil {
		if len(stmts) == 0 && t.begun {
			return nil, nil
		}
		return nil, t.pipelineClose(stmts)
	}
	return t.pipeline(stmts, b)
}

// pipeline sends BEGIN when not sent yet, stmts and b's statements (b may
// be nil) in one pipeline, reads the results of all but b's, and returns
// b's.
func (t *tx) pipeline(stmts []queued, b *pgx.Batch) (pgx.BatchResults, error) {
	all := &pgx.Batch{}
	begin := !t.begun
	if begin {
		all.Queue(beginSQL)
		t.begun = true
	}
	for _, q := range stmts {
		all.Queue(q.sql, q.args...)
	}
	if b != nil {
		all.QueuedQueries = append(all.QueuedQueries, b.QueuedQueries...)
	}
	br := t.conn.SendBatch(t.ctx, all)
	if begin {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	for _, q := range stmts {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, fmt.Errorf("%s: %w", q.what, err)
		}
	}
	return br, nil
}

// pipelineClose is pipeline without results to return.
func (t *tx) pipelineClose(stmts []queued) error {
	br, err := t.pipeline(stmts, nil)
	if err != nil {
		return err
	}
	return br.Close()
}

// Notify queues payloads to send on Channel when the transaction commits
// (in order; PostgreSQL folds identical payloads of one transaction into
// one). Each must be under 8000 bytes (MaxPayload).
func (t *tx) Notify(payloads []string) error {
	for i, p := range payloads {
		if len(p) > MaxPayload {
			return fmt.Errorf("notify: payload %d is %d bytes, over the %d PostgreSQL takes", i, len(p), MaxPayload)
		}
	}
	t.notify = append(t.notify, payloads...)
	return nil
}

// Publish is Notify under the name ingest.Publisher expects.
func (t *tx) Publish(messages []string) error { return t.Notify(messages) }
