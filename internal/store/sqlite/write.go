package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
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
	tx    *sql.Tx
	ctx   context.Context
	stmts []*sql.Stmt
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

func (t *writeTx) InsertEvents(evs []*execution.Event, receivedAt time.Time) ([]bool, error) {
	st, err := t.prepare(`INSERT INTO events (workspace_id, event_id, execution_id, ts, received_at, body)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(evs))
	recv := receivedAt.Unix()
	for i, ev := range evs {
		body, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		res, err := st.Exec(ev.WorkspaceID, ev.EventID, ev.ExecutionID, ev.Timestamp.UnixNano(), recv, body)
		if err != nil {
			return nil, fmt.Errorf("insert event: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		out[i] = n == 1
	}
	return out, nil
}

const execColumns = `workspace_id, execution_id, agent_id, status, seen_at, queued_at, started_at, finished_at,
	worker_id, trigger, progress, progress_at, error_type, error_message, credits, tokens`

func (t *writeTx) LoadExecutions(ws string, ids []string) (map[string]*execution.Execution, error) {
	out := make(map[string]*execution.Execution, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, ws)
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := t.tx.QueryContext(t.ctx, `SELECT `+execColumns+` FROM executions
			WHERE workspace_id = ? AND execution_id IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, args...)
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
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *writeTx) SaveExecutions(xs []*execution.Execution, now time.Time) error {
	st, err := t.prepare(`INSERT OR REPLACE INTO executions (` + execColumns + `, sort_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for _, x := range xs {
		var errType, errMsg any
		if x.Error != nil {
			errType, errMsg = x.Error.Type, x.Error.Message
		}
		var progress any
		if x.Progress != nil {
			progress = *x.Progress
		}
		if _, err := st.Exec(x.WorkspaceID, x.ExecutionID, x.AgentID, string(x.Status),
			nanos(x.SeenAt), nanos(x.QueuedAt), nanos(x.StartedAt), nanos(x.FinishedAt),
			x.WorkerID, x.Trigger, progress, nanos(x.ProgressAt), errType, errMsg, x.Credits, x.Tokens,
			x.SortAt().UnixNano(), now.Unix()); err != nil {
			return fmt.Errorf("save execution: %w", err)
		}
	}
	return nil
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

func (t *writeTx) LoadRollups(keys []rollup.Key) (map[rollup.Key]*rollup.Row, error) {
	st, err := t.prepare(`SELECT ` + rollupColumns + ` FROM rollups
		WHERE workspace_id = ? AND tier = ? AND bucket = ? AND agent_id = ?`)
	if err != nil {
		return nil, err
	}
	out := make(map[rollup.Key]*rollup.Row, len(keys))
	for _, k := range keys {
		rows, err := st.Query(k.WorkspaceID, int(k.Tier), k.Bucket, k.AgentID)
		if err != nil {
			return nil, err
		}
		if rows.Next() {
			r, err := scanRollup(rows, true)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[k] = r
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *writeTx) SaveRollups(rows map[rollup.Key]*rollup.Row) error {
	st, err := t.prepare(`INSERT OR REPLACE INTO rollups (` + rollupColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for _, r := range rows {
		args, err := rollupArgs(r)
		if err != nil {
			return err
		}
		if _, err := st.Exec(args...); err != nil {
			return fmt.Errorf("save rollup: %w", err)
		}
	}
	return t.touchAgents(rows)
}
