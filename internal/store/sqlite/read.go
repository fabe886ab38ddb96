package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/shadower/shadower/internal/auth"
	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/rollup"
)

// RollupRange returns the rows of one tier with buckets in [from, to) for
// the given agents (rollup.AllAgents for the workspace total; none for
// every row). Sketches and error counts are read only when asked for.
func (db *DB) RollupRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, agents []string, sketches bool) ([]*rollup.Row, error) {
	cols := countColumns
	if sketches {
		cols = rollupColumns
	}
	if len(agents) == 0 {
		all, err := db.Agents(ctx, ws)
		if err != nil {
			return nil, err
		}
		agents = append(all, rollup.AllAgents)
	}
	// One seek per agent: the key is (workspace, tier, agent, bucket).
	q := `SELECT ` + cols + ` FROM rollups WHERE workspace_id = ? AND tier = ? AND agent_id IN (?` +
		strings.Repeat(",?", len(agents)-1) + `) AND bucket >= ? AND bucket < ?`
	args := []any{ws, int(tier)}
	for _, a := range agents {
		args = append(args, a)
	}
	args = append(args, from, to)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*rollup.Row
	for rows.Next() {
		r, err := scanRollup(rows, sketches)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Executions lists executions newest first (by their latest state).
func (db *DB) Executions(ctx context.Context, f execution.ListFilter) ([]*execution.Execution, error) {
	q := `SELECT ` + execColumns + ` FROM executions WHERE workspace_id = ?`
	args := []any{f.WorkspaceID}
	if !f.From.IsZero() {
		q += ` AND sort_at >= ?`
		args = append(args, f.From.UnixNano())
	}
	if !f.To.IsZero() {
		q += ` AND sort_at < ?`
		args = append(args, f.To.UnixNano())
	}
	if !f.AfterAt.IsZero() {
		q += ` AND (sort_at < ? OR (sort_at = ? AND execution_id < ?))`
		args = append(args, f.AfterAt.UnixNano(), f.AfterAt.UnixNano(), f.AfterID)
	}
	if len(f.AgentIDs) > 0 {
		q += ` AND agent_id IN (?` + strings.Repeat(",?", len(f.AgentIDs)-1) + `)`
		for _, a := range f.AgentIDs {
			args = append(args, a)
		}
	}
	stale := f.StaleBefore.UnixNano()
	switch f.Status {
	case "":
	case execution.StatusStale:
		q += ` AND status IN ('queued', 'running') AND coalesce(started_at, queued_at, seen_at) < ?`
		args = append(args, stale)
	case execution.StatusQueued, execution.StatusRunning:
		q += ` AND status = ? AND coalesce(started_at, queued_at, seen_at) >= ?`
		args = append(args, string(f.Status), stale)
	default:
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	q += ` ORDER BY sort_at DESC, execution_id DESC LIMIT ?`
	args = append(args, f.Limit)
	return queryExecutions(ctx, db.r, q, args...)
}

// Execution returns one execution and its events in time order.
func (db *DB) Execution(ctx context.Context, ws, id string) (*execution.Execution, []execution.StoredEvent, error) {
	row := db.r.QueryRowContext(ctx, `SELECT `+execColumns+` FROM executions WHERE workspace_id = ? AND execution_id = ?`, ws, id)
	x, err := scanExecution(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, execution.Errorf(execution.ENotFound, "no execution %q in workspace %q", id, ws)
	}
	if err != nil {
		return nil, nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT body, received_at FROM events
		WHERE workspace_id = ? AND execution_id = ? ORDER BY ts, event_id`, ws, id)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var evs []execution.StoredEvent
	for rows.Next() {
		var (
			body []byte
			recv int64
			ev   execution.StoredEvent
		)
		if err := rows.Scan(&body, &recv); err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(body, &ev.Event); err != nil {
			return nil, nil, err
		}
		ev.ReceivedAt = time.Unix(recv, 0).UTC()
		evs = append(evs, ev)
	}
	return x, evs, rows.Err()
}

// LiveExecutions returns what the realtime view starts from: every
// unfinished execution, and those started or finished since since.
func (db *DB) LiveExecutions(ctx context.Context, since time.Time) ([]*execution.Execution, error) {
	var out []*execution.Execution
	wss, err := db.Workspaces(ctx)
	if err != nil {
		return nil, err
	}
	for _, ws := range wss {
		rows, err := db.r.QueryContext(ctx, `SELECT `+execColumns+` FROM executions WHERE workspace_id = ? AND status IN ('queued', 'running')
			UNION ALL SELECT `+execColumns+` FROM executions WHERE workspace_id = ? AND sort_at >= ? AND status NOT IN ('queued', 'running')`,
			ws, ws, since.UnixNano())
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			x, err := scanExecution(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, x)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Agents lists the agents of a workspace.
func (db *DB) Agents(ctx context.Context, ws string) ([]string, error) {
	return db.strings(ctx, `SELECT agent_id FROM agents WHERE workspace_id = ? ORDER BY agent_id`, ws)
}

// Workspaces lists every workspace that has sent events.
func (db *DB) Workspaces(ctx context.Context) ([]string, error) {
	return db.strings(ctx, `SELECT workspace_id FROM workspaces ORDER BY workspace_id`)
}

// strings reads a one-column query of text.
func (db *DB) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CreateKey stores a new key.
func (db *DB) CreateKey(ctx context.Context, k auth.Key) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO api_keys (id, workspace_id, scope, hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.WorkspaceID, string(k.Scope), k.Hash, k.CreatedAt.UnixNano())
	return err
}

// Keys lists a workspace's keys, oldest first.
func (db *DB) Keys(ctx context.Context, ws string) ([]auth.Key, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, workspace_id, scope, hash, created_at, revoked_at FROM api_keys
		WHERE workspace_id = ? ORDER BY created_at, id`, ws)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *k)
	}
	return out, rows.Err()
}

// KeyByHash finds a key by the hash of its secret.
func (db *DB) KeyByHash(ctx context.Context, hash []byte) (*auth.Key, error) {
	k, err := scanKey(db.r.QueryRowContext(ctx, `SELECT id, workspace_id, scope, hash, created_at, revoked_at FROM api_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, execution.Errorf(execution.ENotFound, "no such key")
	}
	return k, err
}

// RevokeKey marks a key revoked; revoking twice keeps the first time.
func (db *DB) RevokeKey(ctx context.Context, ws, id string, at time.Time) error {
	res, err := db.w.ExecContext(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE workspace_id = ? AND id = ?`,
		at.UnixNano(), ws, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return execution.Errorf(execution.ENotFound, "no key %q in workspace %q", id, ws)
	}
	return nil
}

func scanKey(s scanner) (*auth.Key, error) {
	var (
		k       auth.Key
		scope   string
		created int64
		revoked sql.NullInt64
	)
	if err := s.Scan(&k.ID, &k.WorkspaceID, &scope, &k.Hash, &created, &revoked); err != nil {
		return nil, err
	}
	k.Scope = auth.Scope(scope)
	k.CreatedAt = time.Unix(0, created).UTC()
	if revoked.Valid {
		t := time.Unix(0, revoked.Int64).UTC()
		k.RevokedAt = &t
	}
	return &k, nil
}

// RawRange returns what rollups of [from, to) are recomputed from: every
// execution of ws started or finished in the range, and the events in the
// range that carry credits or tokens (with their executions). It scans the
// workspace's raw rows: a maintenance read, not a query path.
func (db *DB) RawRange(ctx context.Context, ws string, from, to time.Time) (map[string]*execution.Execution, []execution.Event, error) {
	f, t := from.UnixNano(), to.UnixNano()
	rows, err := db.r.QueryContext(ctx, `SELECT `+execColumns+` FROM executions WHERE workspace_id = ?
		AND ((started_at >= ? AND started_at < ?) OR (finished_at >= ? AND finished_at < ?))`, ws, f, t, f, t)
	if err != nil {
		return nil, nil, err
	}
	xs := map[string]*execution.Execution{}
	for rows.Next() {
		x, err := scanExecution(rows)
		if err != nil {
			rows.Close()
			return nil, nil, err
		}
		xs[x.ExecutionID] = x
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	evRows, err := db.r.QueryContext(ctx, `SELECT body FROM events WHERE workspace_id = ? AND ts >= ? AND ts < ?`, ws, f, t)
	if err != nil {
		return nil, nil, err
	}
	var usage []execution.Event
	var missing []string
	for evRows.Next() {
		var body []byte
		var ev execution.Event
		if err := evRows.Scan(&body); err != nil {
			evRows.Close()
			return nil, nil, err
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			evRows.Close()
			return nil, nil, err
		}
		if ev.Credits == nil && ev.Tokens == nil {
			continue
		}
		usage = append(usage, ev)
		if xs[ev.ExecutionID] == nil {
			missing = append(missing, ev.ExecutionID)
		}
	}
	if err := evRows.Close(); err != nil {
		return nil, nil, err
	}
	more, err := db.ExecutionsByID(ctx, ws, missing)
	for id, x := range more {
		xs[id] = x
	}
	return xs, usage, err
}

// ExecutionsByID returns the executions of ws with these ids (those that exist).
func (db *DB) ExecutionsByID(ctx context.Context, ws string, ids []string) (map[string]*execution.Execution, error) {
	return executionsByID(ctx, db.r, ws, ids)
}

// ReplaceRollups replaces, in one transaction, every rollup row of ws whose
// bucket lies in [from, to) with rows. Ingest must not run meanwhile: its
// cache would not see the change.
func (db *DB) ReplaceRollups(ctx context.Context, ws string, from, to time.Time, rows map[rollup.Key]*rollup.Row) error {
	return db.Write(ctx, func(t ingest.Tx) error {
		wt := t.(*writeTx)
		if _, err := wt.tx.ExecContext(ctx, `DELETE FROM rollups WHERE workspace_id = ? AND bucket >= ? AND bucket < ?`,
			ws, from.Unix(), to.Unix()); err != nil {
			return err
		}
		return wt.SaveRollups(rows)
	})
}

// EventsPage returns up to limit stored events of ws after event id after,
// in id order: for copying a store out.
func (db *DB) EventsPage(ctx context.Context, ws, after string, limit int) ([]execution.StoredEvent, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT body, received_at FROM events WHERE workspace_id = ? AND event_id > ?
		ORDER BY event_id LIMIT ?`, ws, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []execution.StoredEvent
	for rows.Next() {
		var (
			body []byte
			recv int64
			ev   execution.StoredEvent
		)
		if err := rows.Scan(&body, &recv); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(body, &ev.Event); err != nil {
			return nil, err
		}
		ev.ReceivedAt = time.Unix(recv, 0).UTC()
		out = append(out, ev)
	}
	return out, rows.Err()
}

// ExecutionsPage returns up to limit executions of ws after execution id
// after, in id order: for copying a store out.
func (db *DB) ExecutionsPage(ctx context.Context, ws, after string, limit int) ([]*execution.Execution, error) {
	return queryExecutions(ctx, db.r, `SELECT `+execColumns+` FROM executions WHERE workspace_id = ? AND execution_id > ?
		ORDER BY execution_id LIMIT ?`, ws, after, limit)
}

// querier is a connection pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func queryExecutions(ctx context.Context, db querier, q string, args ...any) ([]*execution.Execution, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*execution.Execution
	for rows.Next() {
		x, err := scanExecution(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// executionsByID reads executions by id, 500 at a time.
func executionsByID(ctx context.Context, db querier, ws string, ids []string) (map[string]*execution.Execution, error) {
	out := make(map[string]*execution.Execution, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, ws)
		for _, id := range chunk {
			args = append(args, id)
		}
		xs, err := queryExecutions(ctx, db, `SELECT `+execColumns+` FROM executions
			WHERE workspace_id = ? AND execution_id IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for _, x := range xs {
			out[x.ExecutionID] = x
		}
	}
	return out, nil
}
