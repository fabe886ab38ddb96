package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
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
	ptx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return err
	}
	t := &tx{db: db, tx: ptx, ctx: ctx, execLocks: newLockSet(execGlobalLock, 0), rollLocks: newLockSet(rollupGlobalLock, 1)}
	committed := false
	defer func() {
		if !committed {
			// Also when fn panics: the connection must go back clean.
			ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	if len(t.notify) > 0 {
		if _, err := ptx.Exec(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS n(p, i) ORDER BY i`,
			Channel, t.notify); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	committed = true
	if err := ptx.Commit(ctx); err != nil {
		return err
	}
	db.setPartKnown(t.newParts...)
	return nil
}

// tx is one write transaction.
type tx struct {
	db       *DB
	tx       pgx.Tx
	ctx      context.Context
	notify   []string
	newParts []time.Time // partitions created by this transaction

	// fresh lists the executions of the new events inserted so far
	// (workspace/execution keys), for LoadExecutions to lock at once.
	fresh     []string
	freshSeen map[string]bool
	execLocks lockSet
	rollLocks lockSet
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

type eventKey struct{ ws, id string }

// claimAndLog claims the events' ids and logs the new events in one
// statement: the ids that were not taken come back, and only those events
// go into the log. For small batches: one round trip.
const claimAndLog = `WITH input AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[])
		AS t(workspace_id, event_id, execution_id, type, ts, body)
), claimed AS (
	INSERT INTO execution_event_ids (workspace_id, event_id, received_at)
	SELECT workspace_id, event_id, $7 FROM input
	ON CONFLICT DO NOTHING
	RETURNING workspace_id, event_id
), logged AS (
	INSERT INTO execution_logs (workspace_id, event_id, execution_id, type, ts, received_at, body)
	SELECT i.workspace_id, i.event_id, i.execution_id, i.type, i.ts, $7, i.body
	FROM input i JOIN claimed c ON c.workspace_id = i.workspace_id AND c.event_id = i.event_id
)
SELECT workspace_id, event_id FROM claimed`

// claim claims ids alone; the new events then go into the log by COPY.
const claim = `INSERT INTO execution_event_ids (workspace_id, event_id, received_at)
SELECT workspace_id, event_id, $3 FROM unnest($1::text[], $2::text[]) AS t(workspace_id, event_id)
ON CONFLICT DO NOTHING
RETURNING workspace_id, event_id`

// copyFrom is the batch size from which the new events go into the log by
// COPY (two round trips, but half the time of an INSERT for large batches).
const copyFrom = 500

var logColumns = []string{"workspace_id", "event_id", "execution_id", "type", "ts", "received_at", "body"}

func (t *tx) InsertEvents(evs []*execution.Event, receivedAt time.Time) ([]bool, error) {
	out := make([]bool, len(evs))
	if len(evs) == 0 {
		return out, nil
	}
	if err := t.ensurePart(receivedAt); err != nil {
		return nil, err
	}
	// A repeat inside the batch is a duplicate of its first occurrence,
	// which alone is sent. Ids are claimed in one sorted order, so two
	// nodes claiming overlapping batches wait for each other instead of
	// deadlocking.
	first := make(map[eventKey]int, len(evs))
	idx := make([]int, 0, len(evs))
	for i, ev := range evs {
		k := eventKey{ev.WorkspaceID, ev.EventID}
		if _, dup := first[k]; dup {
			continue
		}
		first[k] = i
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool {
		x, y := evs[idx[a]], evs[idx[b]]
		if x.WorkspaceID != y.WorkspaceID {
			return x.WorkspaceID < y.WorkspaceID
		}
		return x.EventID < y.EventID
	})
	n := len(idx)
	ws, ids := make([]string, n), make([]string, n)
	for j, i := range idx {
		ws[j], ids[j] = evs[i].WorkspaceID, evs[i].EventID
	}
	var err error
	if n < copyFrom {
		err = t.claimAndLog(evs, idx, ws, ids, receivedAt, out, first)
	} else {
		err = t.claimThenCopy(evs, ws, ids, receivedAt, out, first)
	}
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	for i, ev := range evs {
		if out[i] {
			t.addFresh(execLockKey(ev.WorkspaceID, ev.ExecutionID))
		}
	}
	return out, nil
}

func (t *tx) addFresh(k string) {
	if t.freshSeen == nil {
		t.freshSeen = map[string]bool{}
	}
	if !t.freshSeen[k] {
		t.freshSeen[k] = true
		t.fresh = append(t.fresh, k)
	}
}

func (t *tx) claimAndLog(evs []*execution.Event, idx []int, ws, ids []string, recv time.Time, out []bool, first map[eventKey]int) error {
	n := len(idx)
	xids, types := make([]string, n), make([]string, n)
	ts := make([]time.Time, n)
	bodies := make([][]byte, n)
	for j, i := range idx {
		ev := evs[i]
		body, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		xids[j], types[j], ts[j], bodies[j] = ev.ExecutionID, string(ev.Type), ev.Timestamp, body
	}
	rows, err := t.tx.Query(t.ctx, claimAndLog, ws, ids, xids, types, ts, bodies, recv)
	if err != nil {
		return err
	}
	var k eventKey
	_, err = pgx.ForEachRow(rows, []any{&k.ws, &k.id}, func() error {
		out[first[k]] = true
		return nil
	})
	return err
}

func (t *tx) claimThenCopy(evs []*execution.Event, ws, ids []string, recv time.Time, out []bool, first map[eventKey]int) error {
	rows, err := t.tx.Query(t.ctx, claim, ws, ids, recv)
	if err != nil {
		return err
	}
	var fresh []int
	var k eventKey
	if _, err = pgx.ForEachRow(rows, []any{&k.ws, &k.id}, func() error {
		i := first[k]
		out[i] = true
		fresh = append(fresh, i)
		return nil
	}); err != nil {
		return err
	}
	if len(fresh) == 0 {
		return nil
	}
	sort.Ints(fresh)
	_, err = t.tx.CopyFrom(t.ctx, pgx.Identifier{"execution_logs"}, logColumns,
		pgx.CopyFromSlice(len(fresh), func(j int) ([]any, error) {
			ev := evs[fresh[j]]
			body, err := json.Marshal(ev)
			if err != nil {
				return nil, err
			}
			return []any{ev.WorkspaceID, ev.EventID, ev.ExecutionID, string(ev.Type), ev.Timestamp, recv, body}, nil
		}))
	return err
}

// LoadExecutions locks the executions (another node may be changing them)
// and then reads those that exist. The locks come first, in their own
// statements, so the read sees whatever the previous holders committed.
// The first call also locks the executions of every new event inserted so
// far in the transaction (see locks.go).
func (t *tx) LoadExecutions(ws string, ids []string) (map[string]*execution.Execution, error) {
	out := make(map[string]*execution.Execution, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, 0, len(ids)+len(t.fresh))
	for _, id := range ids {
		keys = append(keys, execLockKey(ws, id))
	}
	keys = append(keys, t.fresh...)
	b := &pgx.Batch{}
	nLocks, locked := t.execLocks.queue(b, keys)
	b.Queue(`SELECT `+execColumns+` FROM executions WHERE workspace_id = $1 AND execution_id = ANY($2)`, ws, ids)
	br := t.tx.SendBatch(t.ctx, b)
	defer br.Close()
	for range nLocks {
		if _, err := br.Exec(); err != nil {
			return nil, fmt.Errorf("lock executions: %w", err)
		}
	}
	locked()
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		x, err := scanExecution(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out[x.ExecutionID] = x
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, br.Close()
}

const saveExecutions = `INSERT INTO executions (` + execColumns + `, sort_at_ns, updated_at)
SELECT *, $18::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
	$5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::float8[],
	$12::bigint[], $13::text[], $14::text[], $15::float8[], $16::float8[], $17::bigint[])
ON CONFLICT (workspace_id, execution_id) DO UPDATE SET
	agent_id = excluded.agent_id, status = excluded.status, seen_at_ns = excluded.seen_at_ns,
	queued_at_ns = excluded.queued_at_ns, started_at_ns = excluded.started_at_ns,
	finished_at_ns = excluded.finished_at_ns, worker_id = excluded.worker_id, trigger = excluded.trigger,
	progress = excluded.progress, progress_at_ns = excluded.progress_at_ns, error_type = excluded.error_type,
	error_message = excluded.error_message, credits = excluded.credits, tokens = excluded.tokens,
	sort_at_ns = excluded.sort_at_ns, updated_at = excluded.updated_at`

// SaveExecutions writes the executions whole (insert or replace). When one
// appears twice, the last one counts.
func (t *tx) SaveExecutions(xs []*execution.Execution, now time.Time) error {
	if len(xs) == 0 {
		return nil
	}
	last := make(map[eventKey]*execution.Execution, len(xs))
	for _, x := range xs {
		last[eventKey{x.WorkspaceID, x.ExecutionID}] = x
	}
	all := make([]*execution.Execution, 0, len(last))
	for _, x := range last {
		all = append(all, x)
	}
	// One order for every writer: row locks never cross.
	sort.Slice(all, func(i, j int) bool {
		if all[i].WorkspaceID != all[j].WorkspaceID {
			return all[i].WorkspaceID < all[j].WorkspaceID
		}
		return all[i].ExecutionID < all[j].ExecutionID
	})
	n := len(all)
	var (
		ws, ids, agents, status, workers, triggers = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		seen, queued, started, finished, pAt       = make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]*int64, n)
		progress                                   = make([]*float64, n)
		errType, errMsg                            = make([]*string, n), make([]*string, n)
		credits, tokens                            = make([]float64, n), make([]float64, n)
		sortAt                                     = make([]int64, n)
	)
	for i, x := range all {
		ws[i], ids[i], agents[i], status[i] = x.WorkspaceID, x.ExecutionID, x.AgentID, string(x.Status)
		seen[i], queued[i], started[i], finished[i] = nanos(x.SeenAt), nanos(x.QueuedAt), nanos(x.StartedAt), nanos(x.FinishedAt)
		workers[i], triggers[i] = x.WorkerID, x.Trigger
		progress[i], pAt[i] = x.Progress, nanos(x.ProgressAt)
		if x.Error != nil {
			errType[i], errMsg[i] = &x.Error.Type, &x.Error.Message
		}
		credits[i], tokens[i] = x.Credits, x.Tokens
		sortAt[i] = x.SortAt().UnixNano()
	}
	if _, err := t.tx.Exec(t.ctx, saveExecutions, ws, ids, agents, status, seen, queued, started, finished,
		workers, triggers, progress, pAt, errType, errMsg, credits, tokens, sortAt, now); err != nil {
		return fmt.Errorf("save executions: %w", err)
	}
	return nil
}

func (t *tx) TouchWorkspaces(ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	ids = sortedUnique(ids)
	if _, err := t.tx.Exec(t.ctx, `INSERT INTO workspaces (workspace_id, created_at)
		SELECT id, $2 FROM unnest($1::text[]) AS id ON CONFLICT DO NOTHING`, ids, now); err != nil {
		return fmt.Errorf("touch workspaces: %w", err)
	}
	return nil
}

func sortedUnique(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

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
func (t *tx) LoadRollups(keys []rollup.Key) (map[rollup.Key]*rollup.Row, error) {
	out := make(map[rollup.Key]*rollup.Row, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	lockKeys := make([]string, len(keys))
	type cols struct {
		ws, agents []string
		buckets    []int64
	}
	byTier := map[rollup.Tier]*cols{}
	for i, k := range keys {
		lockKeys[i] = rollupLockKey(k)
		c := byTier[k.Tier]
		if c == nil {
			c = &cols{}
			byTier[k.Tier] = c
		}
		c.ws, c.agents, c.buckets = append(c.ws, k.WorkspaceID), append(c.agents, k.AgentID), append(c.buckets, k.Bucket)
	}
	b := &pgx.Batch{}
	nLocks, locked := t.rollLocks.queue(b, lockKeys)
	var tiers []rollup.Tier
	for _, tier := range rollup.Tiers {
		c := byTier[tier]
		if c == nil {
			continue
		}
		table, _ := tierTable(tier)
		tiers = append(tiers, tier)
		b.Queue(`SELECT `+rollupColumns+` FROM `+table+` r
			JOIN unnest($1::text[], $2::text[], $3::bigint[]) AS k(workspace_id, agent_id, bucket)
			USING (workspace_id, agent_id, bucket)`, c.ws, c.agents, c.buckets)
	}
	if len(tiers) != len(byTier) {
		return nil, fmt.Errorf("load rollups: unknown tier among the keys")
	}
	br := t.tx.SendBatch(t.ctx, b)
	defer br.Close()
	for range nLocks {
		if _, err := br.Exec(); err != nil {
			return nil, fmt.Errorf("lock rollups: %w", err)
		}
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
			out[r.Key] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, br.Close()
}

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

// rollupArrays holds rollup rows column by column, as unnest takes them.
type rollupArrays struct {
	ws, agents                                              []string
	bucket, started, completed, failed, timedOut, cancelled []int64
	peak, durCount, qwCount                                 []int64
	credits, tokens, durSum, durMin, durMax                 []float64
	qwSum, qwMin, qwMax                                     []float64
	errors, durSk, qwSk                                     [][]byte
}

func (a *rollupArrays) add(r *rollup.Row) error {
	counts, err := r.ErrorCounts()
	if err != nil {
		return err
	}
	var errs []byte
	if len(counts) > 0 {
		if errs, err = json.Marshal(counts); err != nil {
			return err
		}
	}
	dur, err := r.Duration.Encoded()
	if err != nil {
		return err
	}
	qw, err := r.QueueWait.Encoded()
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
// tables and records their agents.
func (t *tx) SaveRollups(rows map[rollup.Key]*rollup.Row) error {
	return saveRollups(t.ctx, t.tx, rows)
}

func saveRollups(ctx context.Context, q pgx.Tx, rows map[rollup.Key]*rollup.Row) error {
	if len(rows) == 0 {
		return nil
	}
	keys := make([]rollup.Key, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	// One order for every writer: row locks never cross.
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		switch {
		case a.Tier != b.Tier:
			return a.Tier < b.Tier
		case a.WorkspaceID != b.WorkspaceID:
			return a.WorkspaceID < b.WorkspaceID
		case a.AgentID != b.AgentID:
			return a.AgentID < b.AgentID
		}
		return a.Bucket < b.Bucket
	})
	byTier := map[rollup.Tier]*rollupArrays{}
	type agent struct{ ws, id string }
	seen := map[agent]bool{}
	var aws, aids []string
	for _, k := range keys {
		r := rows[k]
		a := byTier[r.Tier]
		if a == nil {
			a = &rollupArrays{}
			byTier[r.Tier] = a
		}
		if err := a.add(r); err != nil {
			return err
		}
		if ag := (agent{r.WorkspaceID, r.AgentID}); r.AgentID != rollup.AllAgents && !seen[ag] {
			seen[ag] = true
			aws, aids = append(aws, ag.ws), append(aids, ag.id)
		}
	}
	b := &pgx.Batch{}
	for _, tier := range rollup.Tiers {
		a := byTier[tier]
		if a == nil {
			continue
		}
		delete(byTier, tier)
		table, _ := tierTable(tier)
		b.Queue(saveRollupsSQL(table), a.args()...)
	}
	if len(byTier) > 0 {
		return fmt.Errorf("save rollups: unknown tier among the rows")
	}
	if len(aws) > 0 {
		sortAgents(aws, aids)
		b.Queue(`INSERT INTO agents (workspace_id, agent_id) SELECT * FROM unnest($1::text[], $2::text[])
			ON CONFLICT DO NOTHING`, aws, aids)
	}
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("save rollups: %w", err)
	}
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
