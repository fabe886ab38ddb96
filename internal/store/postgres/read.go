package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shadower/shadower/internal/auth"
	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/rollup"
)

// RollupRange returns the rows of one tier with buckets in [from, to) for
// the given agents (rollup.AllAgents for the workspace total; none for
// every agent of the workspace and the total). Sketches and error counts
// are read only when asked for.
func (db *DB) RollupRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, agents []string, sketches bool) ([]*rollup.Row, error) {
	table, err := tierTable(tier)
	if err != nil {
		return nil, err
	}
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
	// One index range per agent: the key is (workspace, agent, bucket).
	rows, err := db.pool.Query(ctx, `SELECT `+cols+` FROM `+table+`
		WHERE workspace_id = $1 AND agent_id = ANY($2) AND bucket >= $3 AND bucket < $4`, ws, agents, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*rollup.Row
	for rows.Next() {
		r, err := scanRollup(rows, tier, sketches)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Executions lists executions newest first (by their latest state).
func (db *DB) Executions(ctx context.Context, f execution.ListFilter) ([]*execution.Execution, error) {
	q := `SELECT ` + execColumns + ` FROM executions WHERE workspace_id = $1`
	args := []any{f.WorkspaceID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if !f.From.IsZero() {
		q += ` AND sort_at_ns >= ` + arg(f.From.UnixNano())
	}
	if !f.To.IsZero() {
		q += ` AND sort_at_ns < ` + arg(f.To.UnixNano())
	}
	if !f.AfterAt.IsZero() {
		at := arg(f.AfterAt.UnixNano())
		q += ` AND (sort_at_ns < ` + at + ` OR (sort_at_ns = ` + at + ` AND execution_id < ` + arg(f.AfterID) + `))`
	}
	if len(f.AgentIDs) > 0 {
		q += ` AND agent_id = ANY(` + arg(f.AgentIDs) + `)`
	}
	stale := f.StaleBefore.UnixNano()
	switch f.Status {
	case "":
	case execution.StatusStale:
		q += ` AND status IN ('queued', 'running') AND coalesce(started_at_ns, queued_at_ns, seen_at_ns) < ` + arg(stale)
	case execution.StatusQueued, execution.StatusRunning:
		q += ` AND status = ` + arg(string(f.Status)) + ` AND coalesce(started_at_ns, queued_at_ns, seen_at_ns) >= ` + arg(stale)
	default:
		q += ` AND status = ` + arg(string(f.Status))
	}
	q += ` ORDER BY sort_at_ns DESC, execution_id DESC LIMIT ` + arg(f.Limit)
	return db.queryExecutions(ctx, q, args...)
}

func (db *DB) queryExecutions(ctx context.Context, q string, args ...any) ([]*execution.Execution, error) {
	rows, err := db.pool.Query(ctx, q, args...)
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

// Execution returns one execution and its events in time order.
func (db *DB) Execution(ctx context.Context, ws, id string) (*execution.Execution, []execution.StoredEvent, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT `+execColumns+` FROM executions WHERE workspace_id = $1 AND execution_id = $2`, ws, id)
	b.Queue(`SELECT body, received_at FROM execution_logs WHERE workspace_id = $1 AND execution_id = $2`, ws, id)
	br := db.pool.SendBatch(ctx, b)
	defer br.Close()
	x, err := scanExecution(br.QueryRow())
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, execution.Errorf(execution.ENotFound, "no execution %q in workspace %q", id, ws)
	}
	if err != nil {
		return nil, nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	var evs []execution.StoredEvent
	var body []byte
	var recv time.Time
	_, err = pgx.ForEachRow(rows, []any{&body, &recv}, func() error {
		var ev execution.StoredEvent
		if err := json.Unmarshal(body, &ev.Event); err != nil {
			return err
		}
		ev.ReceivedAt = recv.UTC()
		evs = append(evs, ev)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// Time order to the nanosecond (the ts column keeps microseconds), then id.
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i].Timestamp, evs[j].Timestamp
		if !a.Equal(b) {
			return a.Before(b)
		}
		return evs[i].EventID < evs[j].EventID
	})
	return x, evs, br.Close()
}

// LiveExecutions returns what the realtime view starts from: every
// unfinished execution, and those started or finished since since.
func (db *DB) LiveExecutions(ctx context.Context, since time.Time) ([]*execution.Execution, error) {
	// Per workspace, so each part is an index range led by workspace_id.
	return db.queryExecutions(ctx, `SELECT x.* FROM workspaces w CROSS JOIN LATERAL (
		SELECT `+execColumns+` FROM executions WHERE workspace_id = w.workspace_id AND status IN ('queued', 'running')
		UNION ALL
		SELECT `+execColumns+` FROM executions WHERE workspace_id = w.workspace_id AND sort_at_ns >= $1
			AND status NOT IN ('queued', 'running')
	) AS x`, since.UnixNano())
}

// ExecutionsByID returns the executions of ws with these ids (those that exist).
func (db *DB) ExecutionsByID(ctx context.Context, ws string, ids []string) (map[string]*execution.Execution, error) {
	out := make(map[string]*execution.Execution, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	wss := make([]string, len(ids))
	for i := range wss {
		wss[i] = ws
	}
	xs, err := db.queryExecutions(ctx, loadExecutions, wss, ids) // see loadExecutions
	for _, x := range xs {
		out[x.ExecutionID] = x
	}
	return out, err
}

// ExecutionsPage returns up to limit executions of ws after execution id
// after, in id order: for copying a store out.
func (db *DB) ExecutionsPage(ctx context.Context, ws, after string, limit int) ([]*execution.Execution, error) {
	return db.queryExecutions(ctx, `SELECT `+execColumns+` FROM executions WHERE workspace_id = $1 AND execution_id > $2
		ORDER BY execution_id LIMIT $3`, ws, after, limit)
}

// RawRange returns what rollups of [from, to) are recomputed from: every
// execution of ws started or finished in the range, and the events in the
// range that carry credits or tokens (with their executions). It scans the
// workspace's raw rows: a maintenance read, not a query path.
func (db *DB) RawRange(ctx context.Context, ws string, from, to time.Time) (map[string]*execution.Execution, []execution.Event, error) {
	f, t := from.UnixNano(), to.UnixNano()
	list, err := db.queryExecutions(ctx, `SELECT `+execColumns+` FROM executions WHERE workspace_id = $1
		AND ((started_at_ns >= $2 AND started_at_ns < $3) OR (finished_at_ns >= $2 AND finished_at_ns < $3))`, ws, f, t)
	if err != nil {
		return nil, nil, err
	}
	xs := make(map[string]*execution.Execution, len(list))
	for _, x := range list {
		xs[x.ExecutionID] = x
	}
	// ts keeps microseconds: widen the range by one and filter exactly on
	// the body's timestamp.
	rows, err := db.pool.Query(ctx, `SELECT body FROM execution_logs WHERE workspace_id = $1
		AND ts >= $2 AND ts < $3 AND (body ? 'credits' OR body ? 'tokens')`,
		ws, from.Add(-time.Microsecond), to.Add(time.Microsecond))
	if err != nil {
		return nil, nil, err
	}
	var usage []execution.Event
	var missing []string
	var body []byte
	_, err = pgx.ForEachRow(rows, []any{&body}, func() error {
		var ev execution.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			return err
		}
		if ev.Timestamp.Before(from) || !ev.Timestamp.Before(to) || (ev.Credits == nil && ev.Tokens == nil) {
			return nil
		}
		usage = append(usage, ev)
		if xs[ev.ExecutionID] == nil {
			missing = append(missing, ev.ExecutionID)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	more, err := db.ExecutionsByID(ctx, ws, missing)
	for id, x := range more {
		xs[id] = x
	}
	return xs, usage, err
}

// ReplaceRollups replaces, in one transaction, every rollup row of ws whose
// bucket lies in [from, to) with rows. Ingest must not run meanwhile: its
// cache would not see the change.
func (db *DB) ReplaceRollups(ctx context.Context, ws string, from, to time.Time, rows map[rollup.Key]*rollup.Row) error {
	return db.Write(ctx, func(it ingest.Tx) error {
		t := it.(*tx)
		for _, tier := range rollup.Tiers {
			table, _ := tierTable(tier)
			t.queue("replace rollups", table, `DELETE FROM `+table+` WHERE workspace_id = $1 AND bucket >= $2 AND bucket < $3`,
				ws, from.Unix(), to.Unix())
		}
		return t.SaveRollups(rows)
	})
}

// Agents lists the agents of a workspace.
func (db *DB) Agents(ctx context.Context, ws string) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT agent_id FROM agents WHERE workspace_id = $1 ORDER BY agent_id`, ws)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Workspaces lists every workspace that has sent events.
func (db *DB) Workspaces(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT workspace_id FROM workspaces ORDER BY workspace_id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// CreateKey stores a new key.
func (db *DB) CreateKey(ctx context.Context, k auth.Key) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO api_keys (id, workspace_id, scope, hash, created_at_ns) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.WorkspaceID, string(k.Scope), k.Hash, k.CreatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	return nil
}

const keyColumns = `id, workspace_id, scope, hash, created_at_ns, revoked_at_ns`

// Keys lists a workspace's keys, oldest first.
func (db *DB) Keys(ctx context.Context, ws string) ([]auth.Key, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE workspace_id = $1 ORDER BY created_at_ns, id`, ws)
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
	k, err := scanKey(db.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, execution.Errorf(execution.ENotFound, "no such key")
	}
	return k, err
}

// RevokeKey marks a key revoked; revoking twice keeps the first time.
func (db *DB) RevokeKey(ctx context.Context, ws, id string, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE api_keys SET revoked_at_ns = coalesce(revoked_at_ns, $1) WHERE workspace_id = $2 AND id = $3`,
		at.UnixNano(), ws, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return execution.Errorf(execution.ENotFound, "no key %q in workspace %q", id, ws)
	}
	return nil
}

func scanKey(s scanner) (*auth.Key, error) {
	var (
		k       auth.Key
		scope   string
		created int64
		revoked *int64
	)
	if err := s.Scan(&k.ID, &k.WorkspaceID, &scope, &k.Hash, &created, &revoked); err != nil {
		return nil, err
	}
	k.Scope = auth.Scope(scope)
	k.CreatedAt = time.Unix(0, created).UTC()
	if revoked != nil {
		t := time.Unix(0, *revoked).UTC()
		k.RevokedAt = &t
	}
	return &k, nil
}
