package postgres

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/shadower/shadower/internal/rollup"
)

// tierTable is the table of a tier's rollup rows.
func tierTable(t rollup.Tier) (string, error) {
	switch t {
	case rollup.Minute:
		return "execution_metrics_minute", nil
	case rollup.Hour:
		return "execution_metrics_hour", nil
	case rollup.Day:
		return "execution_metrics_day", nil
	}
	return "", fmt.Errorf("no rollup table for %s", t)
}

func rollupLockKey(k rollup.Key) string {
	return k.WorkspaceID + "/" + strconv.Itoa(int(k.Tier)) + "/" + k.AgentID + "/" + strconv.FormatInt(k.Bucket, 10)
}

// LoadRollups locks the rows (another node may be changing them; the
// writer has locked its executions before, so every node takes execution
// locks before rollup locks) and then reads those that exist.
//
// The rows are read by bucket ranges (rollupRanges), not key by key: a
// commit's keys of one agent are mostly consecutive buckets (events close
// in time), and a range costs one descent of the primary key where keys
// cost one each.
func (t *tx) LoadRollups(keys []rollup.Key) (map[rollup.Key]*rollup.Row, error) {
	out := make(map[rollup.Key]*rollup.Row, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	want := make(map[rollup.Key]bool, len(keys))
	for _, k := range keys {
		if _, err := tierTable(k.Tier); err != nil {
			return nil, fmt.Errorf("load rollups: %w", err)
		}
		want[k] = true
	}
	b := &pgx.Batch{}
	nLocks, locked := t.rollLocks.queue(b, len(keys), func(i int) string { return rollupLockKey(keys[i]) })
	ranges := rollupRanges(keys)
	var tiers []rollup.Tier
	for _, tier := range rollup.Tiers {
		r := ranges[tier]
		if r == nil {
			continue
		}
		table, _ := tierTable(tier)
		tiers = append(tiers, tier)
		b.Queue(loadRollupsSQL(table), r.ws, r.agents, r.lo, r.hi)
	}
	br, err := t.send(b, "execution_metrics_minute", "execution_metrics_hour", "execution_metrics_day")
	if err != nil {
		return nil, err
	}
	defer br.Close()
	if err := awaitLocks(br, nLocks); err != nil {
		return nil, fmt.Errorf("lock rollups: %w", err)
	}
	locked()
	for _, tier := range tiers {
		rows, err := br.Query()
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			r, err := scanRollup(rows, tier, true)
			if err != nil {
				rows.Close()
				return nil, err
			}
			if want[r.Key] { // a range holds rows not asked for too
				out[r.Key] = r
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if t.newRolls == nil {
		t.newRolls = map[rollup.Key]bool{}
	}
	for _, k := range keys {
		if out[k] == nil {
			t.newRolls[k] = true
		}
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	t.startLater() // while the writer folds the rows read
	return out, nil
}

// loadRollupsSQL reads the rows of a tier's table in bucket ranges
// (bucketRanges): a range scan of the primary key per range, whatever the
// planner's statistics (see loadExecutions).
func loadRollupsSQL(table string) string {
	return `SELECT r.* FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS k(ws, agent, lo, hi)
	CROSS JOIN LATERAL (SELECT ` + rollupColumns + ` FROM ` + table + `
		WHERE workspace_id = k.ws AND agent_id = k.agent AND bucket BETWEEN k.lo AND k.hi OFFSET 0) AS r`
}

// bucketRanges are ranges of buckets [lo, hi] of agents, column by column.
type bucketRanges struct {
	ws, agents []string
	lo, hi     []int64
}

// rollupRanges covers the keys with bucket ranges (rollup.Ranges), per tier.
func rollupRanges(keys []rollup.Key) map[rollup.Tier]*bucketRanges {
	out := map[rollup.Tier]*bucketRanges{}
	for _, g := range rollup.Ranges(keys) {
		r := out[g.Tier]
		if r == nil {
			r = &bucketRanges{}
			out[g.Tier] = r
		}
		r.ws, r.agents = append(r.ws, g.WorkspaceID), append(r.agents, g.AgentID)
		r.lo, r.hi = append(r.lo, g.Lo), append(r.hi, g.Hi)
	}
	return out
}

// saveRollupsSQL upserts rows into a tier's table from arrays
// (rollupArrays).
func saveRollupsSQL(table string) string {
	return `INSERT INTO ` + table + ` (` + rollupColumns + `)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
	$7::bigint[], $8::bigint[], $9::bigint[], $10::float8[], $11::float8[], $12::jsonb[],
	$13::bigint[], $14::float8[], $15::float8[], $16::float8[], $17::bytea[],
	$18::bigint[], $19::float8[], $20::float8[], $21::float8[], $22::bytea[])
ON CONFLICT (workspace_id, agent_id, bucket) DO UPDATE SET
	started = excluded.started, completed = excluded.completed, failed = excluded.failed,
	timed_out = excluded.timed_out, cancelled = excluded.cancelled, peak_minute = excluded.peak_minute,
	credits = excluded.credits, tokens = excluded.tokens, errors = excluded.errors,
	dur_count = excluded.dur_count, dur_sum = excluded.dur_sum, dur_min = excluded.dur_min,
	dur_max = excluded.dur_max, dur_sketch = excluded.dur_sketch,
	qw_count = excluded.qw_count, qw_sum = excluded.qw_sum, qw_min = excluded.qw_min,
	qw_max = excluded.qw_max, qw_sketch = excluded.qw_sketch`
}

// rollupCopyColumns are the columns of rollupColumns, for COPY.
var rollupCopyColumns = []string{"workspace_id", "bucket", "agent_id", "started", "completed", "failed",
	"timed_out", "cancelled", "peak_minute", "credits", "tokens", "errors", "dur_count", "dur_sum", "dur_min",
	"dur_max", "dur_sketch", "qw_count", "qw_sum", "qw_min", "qw_max", "qw_sketch"}

// rollupArrays holds rollup rows column by column, as unnest takes them.
type rollupArrays struct {
	ws, agents                                              []string
	bucket, started, completed, failed, timedOut, cancelled []int64
	peak, durCount, qwCount                                 []int64
	credits, tokens, durSum, durMin, durMax                 []float64
	qwSum, qwMin, qwMax                                     []float64
	errors, durSk, qwSk                                     [][]byte
}

// encodeRollup returns r's error counts (JSON, nil for none) and sketches
// as stored.
func encodeRollup(r *rollup.Row) (errs, dur, qw []byte, err error) {
	counts, err := r.ErrorCounts()
	if err != nil {
		return nil, nil, nil, err
	}
	if len(counts) > 0 {
		if errs, err = json.Marshal(counts); err != nil {
			return nil, nil, nil, err
		}
	}
	if dur, err = r.Duration.Encoded(); err != nil {
		return nil, nil, nil, err
	}
	if qw, err = r.QueueWait.Encoded(); err != nil {
		return nil, nil, nil, err
	}
	return errs, dur, qw, nil
}

func (a *rollupArrays) add(r *rollup.Row) error {
	errs, dur, qw, err := encodeRollup(r)
	if err != nil {
		return err
	}
	a.ws, a.agents = append(a.ws, r.WorkspaceID), append(a.agents, r.AgentID)
	a.bucket, a.started, a.completed = append(a.bucket, r.Bucket), append(a.started, r.Started), append(a.completed, r.Completed)
	a.failed, a.timedOut, a.cancelled = append(a.failed, r.Failed), append(a.timedOut, r.TimedOut), append(a.cancelled, r.Cancelled)
	a.peak, a.credits, a.tokens = append(a.peak, r.PeakMinute), append(a.credits, r.Credits), append(a.tokens, r.Tokens)
	a.errors = append(a.errors, errs)
	a.durCount, a.durSum, a.durMin, a.durMax = append(a.durCount, r.Duration.Count), append(a.durSum, r.Duration.Sum),
		append(a.durMin, r.Duration.Min), append(a.durMax, r.Duration.Max)
	a.durSk = append(a.durSk, dur)
	a.qwCount, a.qwSum, a.qwMin, a.qwMax = append(a.qwCount, r.QueueWait.Count), append(a.qwSum, r.QueueWait.Sum),
		append(a.qwMin, r.QueueWait.Min), append(a.qwMax, r.QueueWait.Max)
	a.qwSk = append(a.qwSk, qw)
	return nil
}

func (a *rollupArrays) args() []any {
	return []any{a.ws, a.bucket, a.agents, a.started, a.completed, a.failed, a.timedOut, a.cancelled, a.peak,
		a.credits, a.tokens, a.errors, a.durCount, a.durSum, a.durMin, a.durMax, a.durSk,
		a.qwCount, a.qwSum, a.qwMin, a.qwMax, a.qwSk}
}

// SaveRollups writes the rows whole (insert or replace) into their tiers'
// tables and records their agents. The writes are queued (see tx): rows
// read missing under this transaction's locks are copied in (later, from
// now), the others upserted. (Retention may delete a row read here before this commits:
// the upsert then puts it back, with what this commit adds.)
func (t *tx) SaveRollups(rows map[rollup.Key]*rollup.Row) error {
	if len(rows) == 0 {
		return nil
	}
	keys := make([]rollup.Key, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, rollup.CompareKeys)
	news := map[rollup.Tier]int{}
	for _, k := range keys {
		if t.newRolls[k] {
			news[k.Tier]++
		}
	}
	type tierRows struct {
		ins *copyRows
		ups rollupArrays
	}
	byTier := map[rollup.Tier]*tierRows{}
	type agent struct{ ws, id string }
	seen := map[agent]bool{}
	var aws, aids []string
	for _, k := range keys {
		r := rows[k]
		if _, err := tierTable(r.Tier); err != nil {
			return fmt.Errorf("save rollups: %w", err)
		}
		a := byTier[r.Tier]
		if a == nil {
			a = &tierRows{}
			byTier[r.Tier] = a
		}
		if t.newRolls[k] {
			delete(t.newRolls, k) // it exists from now on
			if a.ins == nil {
				a.ins = newCopyRows(len(rollupCopyColumns), 200*news[k.Tier]) // 200: about a row's size
			}
			if err := a.ins.rollup(r); err != nil {
				return err
			}
		} else if err := a.ups.add(r); err != nil {
			return err
		}
		if ag := (agent{r.WorkspaceID, r.AgentID}); r.AgentID != rollup.AllAgents && !seen[ag] {
			seen[ag] = true
			aws, aids = append(aws, ag.ws), append(aids, ag.id)
		}
	}
	for _, tier := range rollup.Tiers {
		if a := byTier[tier]; a != nil && a.ins != nil {
			table, _ := tierTable(tier)
			t.copyLater("save rollups", table, rollupCopyColumns, a.ins)
		}
	}
	for _, tier := range rollup.Tiers {
		if a := byTier[tier]; a != nil && len(a.ups.ws) > 0 {
			table, _ := tierTable(tier)
			t.queue("save rollups", table, saveRollupsSQL(table), a.ups.args()...)
		}
	}
	if len(aws) > 0 {
		sortAgents(aws, aids)
		t.queue("save rollups", "agents", `INSERT INTO agents (workspace_id, agent_id) SELECT * FROM unnest($1::text[], $2::text[])
			ON CONFLICT DO NOTHING`, aws, aids)
	}
	t.startLater() // while the writer announces the commit
	return nil
}

func sortAgents(ws, ids []string) {
	idx := make([]int, len(ws))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		if ws[idx[a]] != ws[idx[b]] {
			return ws[idx[a]] < ws[idx[b]]
		}
		return ids[idx[a]] < ids[idx[b]]
	})
	w2, i2 := make([]string, len(ws)), make([]string, len(ws))
	for j, i := range idx {
		w2[j], i2[j] = ws[i], ids[i]
	}
	copy(ws, w2)
	copy(ids, i2)
}
