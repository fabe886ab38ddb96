package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The event log has one partition per UTC day of receipt, named
// execution_logs_pYYYYMMDD, covering [day, day+24h).
const (
	partPrefix = "execution_logs_p"
	partLayout = "20060102"
	day        = 24 * time.Hour
	// maxKnownParts bounds the set of partitions known to exist; it is
	// only a cache, so it is simply emptied when full.
	maxKnownParts = 64
)

func dayOf(t time.Time) time.Time { return t.UTC().Truncate(day) }

func partName(d time.Time) string { return partPrefix + d.Format(partLayout) }

func createPartSQL(d time.Time) string {
	return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF execution_logs FOR VALUES FROM ('%s') TO ('%s')`,
		partName(d), d.Format(time.RFC3339), d.Add(day).Format(time.RFC3339))
}

func (db *DB) partKnown(d time.Time) bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.parts[d.Unix()]
}

func (db *DB) setPartKnown(ds ...time.Time) {
	db.mu.Lock()
	defer db.mu.Unlock()
	for _, d := range ds {
		if len(db.parts) >= maxKnownParts {
			clear(db.parts)
		}
		db.parts[d.Unix()] = true
	}
}

func (db *DB) forgetPart(d time.Time) {
	db.mu.Lock()
	defer db.mu.Unlock()
	delete(db.parts, d.Unix())
}

// partitionCreated tells from a CREATE TABLE ... PARTITION OF error whether
// the day is nonetheless served: another node created the partition at the
// same moment, or the default partition already holds rows of that day
// (events kept past their day's drop), in which case the day stays in the
// default partition.
func partitionCreated(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "42P07", "23505": // duplicate_table, unique_violation (catalog race)
		return true
	case "23514": // check_violation: the default partition has rows of the day
		return true
	}
	return false
}

// ensureParts creates, outside any write transaction, the partitions of
// the day of now and of the next day, so the day boundary never makes a
// write transaction take the event log's exclusive lock. Failures are left
// to the write, which creates what it needs itself; after one, the next
// try waits a while, so a busy event log does not slow every write.
func (db *DB) ensureParts(ctx context.Context, now time.Time) {
	today := dayOf(now)
	for _, d := range []time.Time{today, today.Add(day)} {
		if db.partKnown(d) {
			continue
		}
		db.mu.Lock()
		wait := now.Before(db.partRetry)
		db.mu.Unlock()
		if wait {
			return
		}
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			// Never make ingest queue long behind this DDL's lock.
			if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '1s'`, pgx.QueryExecModeSimpleProtocol); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, createPartSQL(d), pgx.QueryExecModeSimpleProtocol)
			return err
		})
		if err != nil && !partitionCreated(err) {
			db.mu.Lock()
			db.partRetry = now.Add(10 * time.Second)
			db.mu.Unlock()
			return
		}
		db.setPartKnown(d)
	}
}

// ensurePart creates, inside the write transaction, the partition of the
// day of receivedAt when it is not known to exist. A savepoint keeps the
// transaction usable when the creation fails harmlessly. The partition is
// recorded as known only once the transaction commits.
func (t *tx) ensurePart(receivedAt time.Time) error {
	d := dayOf(receivedAt)
	if t.db.partKnown(d) {
		return nil
	}
	for _, p := range t.newParts {
		if p.Equal(d) {
			return nil
		}
	}
	// DDL: nothing worth a prepared statement (simple), and sent after
	// BEGIN and the queued writes.
	if err := t.flush(); err != nil {
		return err
	}
	if _, err := t.conn.Exec(t.ctx, `SAVEPOINT shadower_partition`, simple); err != nil {
		return err
	}
	if _, err := t.conn.Exec(t.ctx, createPartSQL(d), simple); err != nil {
		if !partitionCreated(err) {
			return fmt.Errorf("create partition %s: %w", partName(d), err)
		}
		if _, err := t.conn.Exec(t.ctx, `ROLLBACK TO SAVEPOINT shadower_partition`, simple); err != nil {
			return err
		}
	} else if _, err := t.conn.Exec(t.ctx, `RELEASE SAVEPOINT shadower_partition`, simple); err != nil {
		return err
	}
	t.newParts = append(t.newParts, d)
	return nil
}

// dayPartitions lists the event log's day partitions, oldest first.
func dayPartitions(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]time.Time, error) {
	rows, err := q.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'execution_logs'::regclass`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for _, n := range names {
		s, ok := strings.CutPrefix(n, partPrefix)
		if !ok {
			continue
		}
		d, err := time.Parse(partLayout, s)
		if err != nil {
			continue
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out, nil
}
