package postgres

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shadower/shadower/internal/execution"
)

// loadExecutions reads executions by key, one probe of the primary key
// per key. The subquery per key (LATERAL, kept from being merged into a
// join by OFFSET 0) leaves the planner no other plan, whatever it thinks
// of the table: without statistics (none before its first ANALYZE, and
// autovacuum may be off) it would otherwise hash the whole table for a
// few hundred keys, or, given workspace_id = $1 and execution_id =
// ANY($2), scan the workspace's every row through another index.
const loadExecutions = `SELECT x.* FROM unnest($1::text[], $2::text[]) AS k(ws, id)
	CROSS JOIN LATERAL (SELECT ` + execColumns + ` FROM executions
		WHERE workspace_id = k.ws AND execution_id = k.id OFFSET 0) AS x`

// LoadExecutions locks the executions (another node may be changing them)
// and then reads those that exist. The locks come first, in their own
// statements, so the read sees whatever the previous holders committed.
// The first call also locks and reads the executions of every new event
// inserted so far in the transaction, across workspaces (see locks.go);
// later calls find them read.
func (t *tx) LoadExecutions(ws string, ids []string) (map[string]*execution.Execution, error) {
	out := make(map[string]*execution.Execution, len(ids))
	var need []eventKey
	asked := make(map[eventKey]bool, len(ids))
	for _, id := range ids {
		k := eventKey{ws, id}
		if asked[k] {
			continue
		}
		asked[k] = true
		if x, ok := t.loaded[k]; ok {
			delete(t.loaded, k) // handed out once: the writer changes it
			if x != nil {
				out[id] = x
			}
			continue
		}
		need = append(need, k)
	}
	if len(need) == 0 {
		return out, nil
	}
	if !t.readFresh {
		t.readFresh = true
		for _, k := range t.fresh {
			if !asked[k] {
				need = append(need, k)
			}
		}
	}
	wss, xids := make([]string, len(need)), make([]string, len(need))
	for i, k := range need {
		wss[i], xids[i] = k.ws, k.id
	}
	b := &pgx.Batch{}
	nLocks, locked := t.execLocks.queue(b, len(need), func(i int) string { return execLockKey(wss[i], xids[i]) })
	b.Queue(loadExecutions, wss, xids)
	br, err := t.send(b, "executions")
	if err != nil {
		return nil, err
	}
	defer br.Close()
	if err := awaitLocks(br, nLocks); err != nil {
		return nil, fmt.Errorf("lock executions: %w", err)
	}
	locked()
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	found := make(map[eventKey]*execution.Execution, len(need))
	for rows.Next() {
		x, err := scanExecution(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		found[eventKey{x.WorkspaceID, x.ExecutionID}] = x
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if t.newExecs == nil {
		t.newExecs = map[eventKey]bool{}
	}
	for _, k := range need {
		x := found[k]
		if x == nil {
			t.newExecs[k] = true
		}
		if asked[k] {
			if x != nil {
				out[k.id] = x
			}
			continue
		}
		if t.loaded == nil {
			t.loaded = map[eventKey]*execution.Execution{}
		}
		t.loaded[k] = x
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	t.startLater() // while the writer applies the events to what it read
	return out, nil
}

// saveExecutions upserts executions from arrays (execArgs).
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

// execCopyColumns are the columns an execution is copied in with (see
// copyRows.execution).
var execCopyColumns = []string{"workspace_id", "execution_id", "agent_id", "status", "seen_at_ns", "queued_at_ns",
	"started_at_ns", "finished_at_ns", "worker_id", "trigger", "progress", "progress_at_ns", "error_type",
	"error_message", "credits", "tokens", "sort_at_ns", "updated_at"}

// SaveExecutions writes the executions whole (insert or replace). When one
// appears twice, the last one counts. The writes are queued (see tx): the
// executions read missing under this transaction's locks are copied in
// later, the others upserted.
func (t *tx) SaveExecutions(xs []*execution.Execution, now time.Time) error {
	if len(xs) == 0 {
		return nil
	}
	last := make(map[eventKey]*execution.Execution, len(xs))
	for _, x := range xs {
		last[eventKey{x.WorkspaceID, x.ExecutionID}] = x
	}
	var ins, ups []*execution.Execution
	for k, x := range last {
		delete(t.loaded, k) // a later read must see this write
		if t.newExecs[k] {
			delete(t.newExecs, k) // it exists from now on
			ins = append(ins, x)
		} else {
			ups = append(ups, x)
		}
	}
	if len(ins) > 0 {
		sortExecutions(ins)
		rows := newCopyRows(len(execCopyColumns), len(ins)*200)
		for _, x := range ins {
			rows.execution(x, now)
		}
		t.copyLater("save executions", "executions", execCopyColumns, rows)
	}
	if len(ups) > 0 {
		t.queue("save executions", "executions", saveExecutions, execArgs(ups, now)...)
	}
	return nil
}

// sortExecutions sorts xs by key: one order for every writer, so row locks
// never cross.
func sortExecutions(xs []*execution.Execution) {
	slices.SortFunc(xs, func(a, b *execution.Execution) int {
		return cmp.Or(strings.Compare(a.WorkspaceID, b.WorkspaceID), strings.Compare(a.ExecutionID, b.ExecutionID))
	})
}

// execArgs are the arguments of saveExecutions for xs, sorted.
func execArgs(xs []*execution.Execution, now time.Time) []any {
	sortExecutions(xs)
	n := len(xs)
	var (
		ws, ids, agents, status, workers, triggers = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		seen, queued, started, finished, pAt       = make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]*int64, n)
		progress                                   = make([]*float64, n)
		errType, errMsg                            = make([]*string, n), make([]*string, n)
		credits, tokens                            = make([]float64, n), make([]float64, n)
		sortAt                                     = make([]int64, n)
	)
	for i, x := range xs {
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
	return []any{ws, ids, agents, status, seen, queued, started, finished,
		workers, triggers, progress, pAt, errType, errMsg, credits, tokens, sortAt, now}
}

func (t *tx) TouchWorkspaces(ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	t.queue("touch workspaces", "workspaces", `INSERT INTO workspaces (workspace_id, created_at)
		SELECT id, $2 FROM unnest($1::text[]) AS id ON CONFLICT DO NOTHING`, sortedUnique(ids), now)
	return nil
}

func sortedUnique(s []string) []string { return slices.Compact(slices.Sorted(slices.Values(s))) }
