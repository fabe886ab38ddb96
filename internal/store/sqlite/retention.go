package sqlite

import (
	"context"

	"github.com/shadower/shadower/internal/rollup"
)

// deleteChunk bounds each delete so ingest never waits long behind retention.
const deleteChunk = 5000

// Expire deletes what is past retention: rollup rows of each tier with
// buckets before the tier's cutoff, and raw events and executions last
// changed before rawBefore (Unix seconds). It returns the rows deleted.
func (db *DB) Expire(ctx context.Context, tierBefore map[rollup.Tier]int64, rawBefore int64) (int64, error) {
	wss, err := db.Workspaces(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, ws := range wss {
		for tier, before := range tierBefore {
			n, err := db.deleteAll(ctx, `DELETE FROM rollups WHERE (workspace_id, tier, bucket, agent_id) IN
				(SELECT workspace_id, tier, bucket, agent_id FROM rollups WHERE workspace_id = ? AND tier = ? AND bucket < ? LIMIT ?)`,
				ws, int(tier), before)
			total += n
			if err != nil {
				return total, err
			}
		}
		n, err := db.deleteAll(ctx, `DELETE FROM events WHERE (workspace_id, event_id) IN
			(SELECT workspace_id, event_id FROM events WHERE workspace_id = ? AND received_at < ? LIMIT ?)`, ws, rawBefore)
		total += n
		if err != nil {
			return total, err
		}
		n, err = db.deleteAll(ctx, `DELETE FROM executions WHERE (workspace_id, execution_id) IN
			(SELECT workspace_id, execution_id FROM executions WHERE workspace_id = ? AND updated_at < ? LIMIT ?)`, ws, rawBefore)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
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
