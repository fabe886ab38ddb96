package postgres

import (
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/rollup"
)

// Redact exposes redact to the external tests.
var Redact = redact

// ClaimFallbacks is how many large batches are still to claim their ids
// with INSERT ... ON CONFLICT (see copyFrom).
func ClaimFallbacks(db *DB) int32 { return db.claimFallbacks.Load() }

// The writer's lookups, for their plans.
var (
	LoadExecutionsSQL = loadExecutions
	LoadRollupsSQL    = loadRollupsSQL
)

// RollupRanges are the arguments of LoadRollupsSQL for the keys, per tier.
func RollupRanges(keys []rollup.Key) map[rollup.Tier][]any {
	out := map[rollup.Tier][]any{}
	for tier, r := range rollupRanges(keys) {
		out[tier] = []any{r.ws, r.agents, r.lo, r.hi}
	}
	return out
}

// DeleteRollups queues, in the transaction of tx, the deletion of every
// rollup row of ws in the tier's table (as ReplaceRollups does).
func DeleteRollups(it ingest.Tx, tier rollup.Tier, ws string) {
	table, _ := tierTable(tier)
	it.(*tx).queue("delete rollups", table, `DELETE FROM `+table+` WHERE workspace_id = $1`, ws)
}
