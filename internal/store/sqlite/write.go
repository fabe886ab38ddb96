package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/rollup"
)

var _ ingest.Store = (*DB)(nil)

// Write runs fn in one immediate transaction on the writer connection.
func (db *DB) Write(ctx context.Context, fn func(ingest.Tx) error) error {
	start := time.Now()
	db.inTx.Store(true)
	defer func() {
		db.busy.Add(int64(time.Since(start)))
		db.inTx.Store(false)
	}()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	wt := &writeTx{tx: tx, ctx: ctx}
	committed := false
	defer func() {
		wt.closeStmts()
		if !committed {
			tx.Rollback() // also when fn panics: the one writer connection must come back
		}
	}()
	if err := fn(wt); err != nil {
		return err
	}
	wt.closeStmts()
	committed = true
	return tx.Commit()
}

type writeTx struct {
	tx     *sql.Tx
	ctx    context.Context
	stmts  []*sql.Stmt
	cached map[string]*sql.Stmt
}

func (t *writeTx) prepare(q string) (*sql.Stmt, error) {
	s, err := t.tx.PrepareContext(t.ctx, q)
	if err == nil {
		t.stmts = append(t.stmts, s)
	}
	return s, err
}

func (t *writeTx) closeStmts() {
	for _, s := range t.stmts {
		s.Close()
	}
	t.stmts = nil
}

// values returns "(?,...,?),(?,...)": rows groups of cols placeholders.
func values(rows, cols int) string {
	one := "(?" + strings.Repeat(",?", cols-1) + ")"
	return one + strings.Repeat(","+one, rows-1)
}

// multi prepares (once per transaction and size) a statement inserting n rows.
func (t *writeTx) multi(head string, cols, n int, tail string) (*sql.Stmt, error) {
	q := head + values(n, cols) + tail
	if st, ok := t.cached[q]; ok {
		return st, nil
	}
	st, err := t.prepare(q)
	if err != nil {
		return nil, err
	}
	if t.cached == nil {
		t.cached = map[string]*sql.Stmt{}
	}
	t.cached[q] = st
	return st, nil
}

// eventChunk events go in one statement: fewer calls into SQLite, same work.
const eventChunk = 100

func (t *writeTx) InsertEvents(evs []*execution.Event, receivedAt time.Time) ([]bool, error) {
	out := make([]bool, len(evs))
	recv := receivedAt.Unix()
	args := make([]any, 0, eventChunk*6)
	for start := 0; start < len(evs); start += eventChunk {
		chunk := evs[start:min(start+eventChunk, len(evs))]
		st, err := t.multi(`INSERT INTO events (workspace_id, event_id, execution_id, ts, received_at, body) VALUES `,
			6, len(chunk), ` ON CONFLICT DO NOTHING RETURNING workspace_id, event_id`)
		if err != nil {
			return nil, err
		}
		args = args[:0]
		for _, ev := range chunk {
			args = append(args, ev.WorkspaceID, ev.EventID, ev.ExecutionID, ev.Timestamp.UnixNano(), recv, ev.AppendJSON(nil))
		}
		rows, err := st.Query(args...)
		if err != nil {
			return nil, fmt.Errorf("insert events: %w", err)
		}
		// RETURNING names the rows inserted; a repeat inside the chunk
		// conflicted with its first occurrence, which is the new one.
		inserted := map[[2]string]bool{}
		for rows.Next() {
			var k [2]string
			if err := rows.Scan(&k[0], &k[1]); err != nil {
				rows.Close()
				return nil, err
			}
			inserted[k] = true
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("insert events: %w", err)
		}
		for i, ev := range chunk {
			k := [2]string{ev.WorkspaceID, ev.EventID}
			if inserted[k] {
				out[start+i] = true
				delete(inserted, k)
			}
		}
	}
	return out, nil
}

const execColumns = `workspace_id, execution_id, agent_id, status, seen_at, queued_at, started_at, finished_at,
	worker_id, trigger, progress, progress_at, error_type, error_message, credits, tokens`

func (t *writeTx) LoadExecutions(ws string, ids []string) (map[string]*execution.Execution, error) {
	return executionsByID(t.ctx, t.tx, ws, ids)
}

// execChunk executions go in one statement.
const execChunk = 50

func (t *writeTx) SaveExecutions(xs []*execution.Execution, now time.Time) error {
	args := make([]any, 0, execChunk*18)
	for start := 0; start < len(xs); start += execChunk {
		chunk := xs[start:min(start+execChunk, len(xs))]
		st, err := t.multi(`INSERT OR REPLACE INTO executions (`+execColumns+`, sort_at, updated_at) VALUES `, 18, len(chunk), ``)
		if err != nil {
			return err
		}
		args = args[:0]
		for _, x := range chunk {
			args = append(args, execArgs(x, now)...)
		}
		if _, err := st.Exec(args...); err != nil {
			return fmt.Errorf("save executions: %w", err)
		}
	}
	return nil
}

func execArgs(x *execution.Execution, now time.Time) []any {
	var errType, errMsg any
	if x.Error != nil {
		errType, errMsg = x.Error.Type, x.Error.Message
	}
	var progress any
	if x.Progress != nil {
		progress = *x.Progress
	}
	return []any{x.WorkspaceID, x.ExecutionID, x.AgentID, string(x.Status),
		nanos(x.SeenAt), nanos(x.QueuedAt), nanos(x.StartedAt), nanos(x.FinishedAt),
		x.WorkerID, x.Trigger, progress, nanos(x.ProgressAt), errType, errMsg, x.Credits, x.Tokens,
		x.SortAt().UnixNano(), now.Unix()}
}

func (t *writeTx) TouchWorkspaces(ids []string, now time.Time) error {
	for _, id := range ids {
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO workspaces (workspace_id, created_at) VALUES (?, ?)
			ON CONFLICT DO NOTHING`, id, now.Unix()); err != nil {
			return err
		}
	}
	return nil
}

// touchAgents records the agents that have rollup rows.
func (t *writeTx) touchAgents(rows map[rollup.Key]*rollup.Row) error {
	type agent struct{ ws, id string }
	seen := map[agent]bool{}
	for k := range rows {
		if k.AgentID != rollup.AllAgents {
			seen[agent{k.WorkspaceID, k.AgentID}] = true
		}
	}
	st, err := t.prepare(`INSERT INTO agents (workspace_id, agent_id) VALUES (?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return err
	}
	for a := range seen {
		if _, err := st.Exec(a.ws, a.id); err != nil {
			return err
		}
	}
	return nil
}

// LoadRollups reads the rows by bucket ranges (rollup.Ranges), a range scan
// of the primary key each, instead of one lookup per key: most of a commit's
// keys are new rows, and each lookup is a call into SQLite.
func (t *writeTx) LoadRollups(keys []rollup.Key) (map[rollup.Key]*rollup.Row, error) {
	st, err := t.prepare(`SELECT ` + rollupColumns + ` FROM rollups
		WHERE workspace_id = ? AND tier = ? AND agent_id = ? AND bucket BETWEEN ? AND ?`)
	if err != nil {
		return nil, err
	}
	want := make(map[rollup.Key]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	out := make(map[rollup.Key]*rollup.Row, len(keys))
	for _, g := range rollup.Ranges(keys) {
		rows, err := st.Query(g.WorkspaceID, int(g.Tier), g.AgentID, g.Lo, g.Hi)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			r, err := scanRollup(rows, true)
			if err != nil {
				rows.Close()
				return nil, err
			}
			if want[r.Key] { // a range holds rows not asked for too
				out[r.Key] = r
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rollupChunk rollup rows go in one statement.
const rollupChunk = 40

func (t *writeTx) SaveRollups(rows map[rollup.Key]*rollup.Row) error {
	all := make([]*rollup.Row, 0, len(rows))
	for _, r := range rows {
		all = append(all, r)
	}
	args := make([]any, 0, rollupChunk*23)
	for start := 0; start < len(all); start += rollupChunk {
		chunk := all[start:min(start+rollupChunk, len(all))]
		st, err := t.multi(`INSERT OR REPLACE INTO rollups (`+rollupColumns+`) VALUES `, 23, len(chunk), ``)
		if err != nil {
			return err
		}
		args = args[:0]
		for _, r := range chunk {
			a, err := rollupArgs(r)
			if err != nil {
				return err
			}
			args = append(args, a...)
		}
		if _, err := st.Exec(args...); err != nil {
			return fmt.Errorf("save rollups: %w", err)
		}
	}
	return t.touchAgents(rows)
}
