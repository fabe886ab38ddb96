package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/shadower/shadower/internal/rollup"
)

// deleteChunk bounds each delete so ingest never waits long behind retention.
const deleteChunk = 5000

// Expire deletes what is past retention: rollup and gauge rows of each tier
// with buckets before the tier's cutoff, findings that ended before the hour
// tier's, and executions (with all their events) and workers last changed
// before rawBefore (Unix seconds). It returns the rows deleted.
func (db *DB) Expire(ctx context.Context, tierBefore map[rollup.Tier]int64, rawBefore int64) (int64, error) {
	wss, err := db.Workspaces(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, ws := range wss {
		for tier, before := range tierBefore {
			n, err := db.deleteAll(ctx, `DELETE FROM rollups WHERE (workspace_id, tier, agent_id, bucket) IN
				(SELECT workspace_id, tier, agent_id, bucket FROM rollups WHERE workspace_id = ? AND tier = ? AND bucket < ? LIMIT ?)`,
				ws, int(tier), before)
			total += n
			if err != nil {
				return total, err
			}
			n, err = db.deleteAll(ctx, `DELETE FROM gauges WHERE (workspace_id, tier, gauge, bucket, key) IN
				(SELECT workspace_id, tier, gauge, bucket, key FROM gauges WHERE workspace_id = ? AND tier = ? AND bucket < ? LIMIT ?)`,
				ws, int(tier), before)
			total += n
			if err != nil {
				return total, err
			}
		}
		// Findings stay as long as the hour rows they describe; workers as
		// long as raw data.
		n, err := db.deleteAll(ctx, `DELETE FROM execution_patterns WHERE (workspace_id, id) IN
			(SELECT workspace_id, id FROM execution_patterns WHERE workspace_id = ? AND ended_at < ? LIMIT ?)`,
			ws, tierBefore[rollup.Hour]*1e9)
		total += n
		if err != nil {
			return total, err
		}
		n, err = db.deleteAll(ctx, `DELETE FROM workers WHERE (workspace_id, worker_id) IN
			(SELECT workspace_id, worker_id FROM workers WHERE workspace_id = ? AND last_seen < ? LIMIT ?)`,
			ws, rawBefore*1e9)
		total += n
		if err != nil {
			return total, err
		}
		n, err = db.expireExecutions(ctx, ws, rawBefore)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// expireExecutions deletes, a chunk at a time, the executions of ws last
// updated before before, and their events.
func (db *DB) expireExecutions(ctx context.Context, ws string, before int64) (int64, error) {
	var total int64
	for {
		rows, err := db.w.QueryContext(ctx, `SELECT execution_id FROM executions WHERE workspace_id = ? AND updated_at < ? LIMIT ?`,
			ws, before, deleteChunk)
		if err != nil {
			return total, err
		}
		var ids []any
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return total, err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return total, err
		}
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			in := `(?` + strings.Repeat(",?", len(chunk)-1) + `)`
			args := append([]any{ws}, chunk...)
			tx, err := db.w.BeginTx(ctx, nil)
			if err != nil {
				return total, err
			}
			n1, err1 := execCount(ctx, tx, `DELETE FROM events WHERE workspace_id = ? AND execution_id IN `+in, args...)
			n2, err2 := execCount(ctx, tx, `DELETE FROM executions WHERE workspace_id = ? AND execution_id IN `+in, args...)
			if err := errors.Join(err1, err2); err != nil {
				tx.Rollback()
				return total, err
			}
			if err := tx.Commit(); err != nil {
				return total, err
			}
			total += n1 + n2
		}
		if len(ids) < deleteChunk {
			return total, nil
		}
	}
}

func execCount(ctx context.Context, tx *sql.Tx, q string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (db *DB) deleteAll(ctx context.Context, q string, args ...any) (int64, error) {
	var total int64
	for {
		res, err := db.w.ExecContext(ctx, q, append(args, deleteChunk)...)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < deleteChunk {
			return total, nil
		}
	}
}
