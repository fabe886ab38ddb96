package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shadower/shadower/internal/rollup"
)

// deleteChunk bounds each delete so ingest never waits long behind retention.
const deleteChunk = 5000

// expireChunk executions are deleted per transaction: few enough to lock
// each one alone (see locks.go), so writers of other executions go on.
const expireChunk = lockThreshold

// dropLockTimeout bounds how long dropping a partition waits for the event
// log's exclusive lock (ingest and reads queue behind it meanwhile); it is
// tried a few times, and a partition that cannot be dropped now is dropped
// by the next Expire.
const dropLockTimeout = "500ms"

// dropLock serialises the partition drops of all nodes.
const dropLock int64 = 0x5368616457_0003

// simple runs maintenance statements unprepared: their tables' names vary,
// and a temporary table is new each time.
const simple = pgx.QueryExecModeSimpleProtocol

// Expire deletes what is past retention and returns the rows it deleted:
//
//   - rollup and gauge rows of each tier with buckets before the tier's
//     cutoff, findings that ended before the hour tier's, and workers
//     silent since rawBefore;
//   - executions last updated before rawBefore (Unix seconds), with their
//     events received on or after the start of rawBefore's UTC day (row
//     deletes);
//   - the event log's day partitions that end at or before rawBefore, as a
//     whole (DROP TABLE). Events of executions still kept are first moved to
//     the default partition, so an execution keeps all its events whenever
//     they arrived (this costs a copy of those rows only: executions alive
//     across the cutoff); rows of the default partition received before
//     that day whose execution is gone are deleted too. Events without an
//     execution row (never saved) go with their day, which the embedded
//     store, deleting by execution, would keep.
//
// An event leaves execution_event_ids with its log row (it is new again if
// sent again). The count is rollup rows + executions + event log rows gone
// (for a dropped partition: its rows less those moved); event id rows are
// not counted separately, as in the embedded store an event is one row.
func (db *DB) Expire(ctx context.Context, tierBefore map[rollup.Tier]int64, rawBefore int64) (int64, error) {
	wss, err := db.Workspaces(ctx)
	if err != nil {
		return 0, err
	}
	cut := time.Unix(rawBefore, 0).UTC()
	keepFrom := dayOf(cut) // the first day partition kept
	var total int64
	for _, ws := range wss {
		n, err := db.expireRollups(ctx, ws, tierBefore)
		total += n
		if err != nil {
			return total, err
		}
		n, err = db.expireResources(ctx, ws, tierBefore, cut)
		total += n
		if err != nil {
			return total, err
		}
		n, err = db.expireExecutions(ctx, ws, cut, keepFrom)
		total += n
		if err != nil {
			return total, err
		}
	}
	n, err := db.expireLog(ctx, keepFrom)
	return total + n, err
}

func (db *DB) expireRollups(ctx context.Context, ws string, tierBefore map[rollup.Tier]int64) (int64, error) {
	agents, err := db.Agents(ctx, ws)
	if err != nil {
		return 0, err
	}
	agents = append(agents, rollup.AllAgents)
	var total int64
	for tier, before := range tierBefore {
		table, err := tierTable(tier)
		if err != nil {
			return total, err
		}
		for {
			tag, err := db.pool.Exec(ctx, `DELETE FROM `+table+` WHERE (workspace_id, agent_id, bucket) IN (
				SELECT workspace_id, agent_id, bucket FROM `+table+`
				WHERE workspace_id = $1 AND agent_id = ANY($2) AND bucket < $3 LIMIT $4)`,
				ws, agents, before, deleteChunk)
			if err != nil {
				return total, err
			}
			total += tag.RowsAffected()
			if tag.RowsAffected() < deleteChunk {
				break
			}
		}
	}
	return total, nil
}

// expireExecutions deletes, a chunk at a time, the executions of ws last
// updated before cut, with their events in the partitions kept (from
// keepFrom on, and the default partition's of that range); their older
// events go with their partitions.
func (db *DB) expireExecutions(ctx context.Context, ws string, cut, keepFrom time.Time) (int64, error) {
	var total int64
	for {
		rows, err := db.pool.Query(ctx, `SELECT execution_id FROM executions WHERE workspace_id = $1 AND updated_at < $2
			ORDER BY execution_id LIMIT $3`, ws, cut, expireChunk)
		if err != nil {
			return total, err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return total, err
		}
		if len(ids) > 0 {
			n, err := db.deleteExecutions(ctx, ws, ids, cut, keepFrom)
			total += n
			if err != nil {
				return total, err
			}
		}
		if len(ids) < expireChunk {
			return total, nil
		}
	}
}

func (db *DB) deleteExecutions(ctx context.Context, ws string, ids []string, cut, keepFrom time.Time) (int64, error) {
	var total int64
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		// The writers' locks: an execution changing now is not half deleted.
		locks := newLockSet(execGlobalLock, 0)
		b := &pgx.Batch{}
		n, _ := locks.queue(b, len(ids), func(i int) string { return execLockKey(ws, ids[i]) })
		br := tx.SendBatch(ctx, b)
		if err := awaitLocks(br, n); err != nil {
			br.Close()
			return err
		}
		if err := br.Close(); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `DELETE FROM executions WHERE workspace_id = $1 AND execution_id = ANY($2)
			AND updated_at < $3 RETURNING execution_id`, ws, ids, cut)
		if err != nil {
			return err
		}
		gone, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(gone) == 0 {
			return nil
		}
		rows, err = tx.Query(ctx, `DELETE FROM execution_logs WHERE workspace_id = $1 AND execution_id = ANY($2)
			AND received_at >= $3 RETURNING event_id`, ws, gone, keepFrom)
		if err != nil {
			return err
		}
		events, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(events) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM execution_event_ids WHERE workspace_id = $1 AND event_id = ANY($2)`,
				ws, events); err != nil {
				return err
			}
		}
		total = int64(len(gone) + len(events))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("expire executions: %w", err)
	}
	return total, nil
}

// survivor tells whether a log row p still belongs: its execution exists.
const survivor = `EXISTS (SELECT 1 FROM executions x WHERE x.workspace_id = p.workspace_id AND x.execution_id = p.execution_id)`

// expireLog drops the day partitions before keepFrom, keeping the events
// of executions still there, and clears the default partition's rows of
// that range whose execution is gone.
func (db *DB) expireLog(ctx context.Context, keepFrom time.Time) (int64, error) {
	days, err := dayPartitions(ctx, db.pool)
	if err != nil {
		return 0, err
	}
	var total int64
	var errs []error
	for _, d := range days {
		if !d.Before(keepFrom) {
			break
		}
		n, err := db.dropPartition(ctx, d)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("drop partition %s: %w", partName(d), err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	err = pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `WITH gone AS (
				DELETE FROM execution_logs_default p WHERE received_at < $1 AND NOT `+survivor+`
				RETURNING workspace_id, event_id, received_at
			), ids AS (
				DELETE FROM execution_event_ids e USING gone g
				WHERE e.workspace_id = g.workspace_id AND e.event_id = g.event_id AND e.received_at = g.received_at
			)
			SELECT FROM gone`, keepFrom)
		if err != nil {
			return err
		}
		total += tag.RowsAffected()
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("expire default partition: %w", err))
	}
	return total, errors.Join(errs...)
}

// dropPartition drops one day partition of the event log and returns the
// rows gone with it. First (one transaction) the ids of its events whose
// execution is gone are deleted; then (another, bounded by a lock timeout)
// the events whose ids remain are copied out, the partition is dropped and
// the copies go back into the log, where the default partition takes them.
func (db *DB) dropPartition(ctx context.Context, d time.Time) (int64, error) {
	name := pgx.Identifier{partName(d)}.Sanitize()
	if _, err := db.pool.Exec(ctx, `DELETE FROM execution_event_ids e USING `+name+` p
		WHERE e.workspace_id = p.workspace_id AND e.event_id = p.event_id AND e.received_at = p.received_at
		  AND NOT `+survivor, simple); err != nil {
		if isUndefinedTable(err) { // another node's Expire dropped it
			db.forgetPart(d)
			return 0, nil
		}
		return 0, err
	}
	var dropped int64
	var err error
	for attempt := range 5 {
		dropped, err = db.dropPartitionOnce(ctx, name)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || (pe.Code != "55P03" && pe.Code != "40P01") { // lock_not_available, deadlock_detected
			break
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * time.Second):
		}
	}
	if isUndefinedTable(err) {
		dropped, err = 0, nil
	}
	if err != nil {
		return 0, err
	}
	db.forgetPart(d)
	return dropped, nil
}

func isUndefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}

func (db *DB) dropPartitionOnce(ctx context.Context, name string) (int64, error) {
	var dropped int64
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+dropLockTimeout+`'`, simple); err != nil {
			return err
		}
		// One node drops at a time (two would deadlock on the upgrade below).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, dropLock); err != nil {
			return err
		}
		// No writes into the partition from here on (readers go on).
		if _, err := tx.Exec(ctx, `LOCK TABLE `+name+` IN SHARE MODE`, simple); err != nil {
			return err
		}
		var all int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+name, simple).Scan(&all); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `CREATE TEMP TABLE shadower_kept ON COMMIT DROP AS
			SELECT p.* FROM `+name+` p WHERE EXISTS (SELECT 1 FROM execution_event_ids e
				WHERE e.workspace_id = p.workspace_id AND e.event_id = p.event_id AND e.received_at = p.received_at)`, simple)
		if err != nil {
			return err
		}
		kept := tag.RowsAffected()
		if _, err := tx.Exec(ctx, `DROP TABLE `+name, simple); err != nil {
			return err
		}
		if kept > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO execution_logs SELECT * FROM shadower_kept`, simple); err != nil {
				return err
			}
		}
		dropped = all - kept
		return nil
	})
	return dropped, err
}
