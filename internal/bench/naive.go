package bench

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Naive is the design the service replaces, on the same data: one row per
// execution in PostgreSQL, indexed by workspace and finish time, and every
// question answered at query time with GROUP BY and percentile_cont.
type Naive struct {
	pool  *pgxpool.Pool
	admin string // the server's URL, to drop the database at Close
	name  string
}

// OpenNaive creates a fresh database on the PostgreSQL server dsn names.
func OpenNaive(ctx context.Context, dsn string) (*Naive, error) {
	name := fmt.Sprintf("shadower_bench_naive_%d", time.Now().UnixNano())
	if err := createDatabase(ctx, dsn, name); err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, withDatabase(dsn, name))
	if err != nil {
		return nil, err
	}
	_, err = pool.Exec(ctx, `CREATE TABLE executions (
		workspace_id text NOT NULL, agent_id text NOT NULL, status text NOT NULL, error_type text,
		queued_at timestamptz NOT NULL, started_at timestamptz NOT NULL, finished_at timestamptz NOT NULL,
		duration_ms double precision NOT NULL, wait_ms double precision NOT NULL)`)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &Naive{pool: pool, admin: dsn, name: name}, nil
}

// Load copies executions [0, n) of w, then indexes and analyzes the table.
func (n *Naive) Load(ctx context.Context, w Workload, count int) error {
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == count {
			return nil, nil
		}
		x := w.At(i)
		i++
		var errType any
		if x.ErrorType != "" {
			errType = x.ErrorType
		}
		return []any{x.Workspace, x.Agent, x.Status, errType, x.Queued, x.Started, x.Finished, x.Duration(),
			float64(x.Started.Sub(x.Queued)) / float64(time.Millisecond)}, nil
	})
	if _, err := n.pool.CopyFrom(ctx, pgx.Identifier{"executions"},
		[]string{"workspace_id", "agent_id", "status", "error_type", "queued_at", "started_at", "finished_at", "duration_ms", "wait_ms"}, src); err != nil {
		return err
	}
	for _, q := range []string{
		`CREATE INDEX ON executions (workspace_id, finished_at)`,
		`CREATE INDEX ON executions (workspace_id, started_at)`,
		`VACUUM ANALYZE executions`,
	} {
		if _, err := n.pool.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// naiveQueries are each section's questions, with $1 the workspace, $2 and
// $3 the window and $4 the bucket width (an interval). A query marked
// previous is asked of the window of equal length just before.
type naiveQuery struct {
	sql      string
	previous bool
}

var naiveQueries = map[string][]naiveQuery{
	"throughput": {
		{sql: `SELECT date_bin($4::interval, finished_at, $2), count(*), count(*) FILTER (WHERE status = 'completed'),
			count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'timed_out'),
			count(*) FILTER (WHERE status = 'cancelled')
		   FROM executions WHERE workspace_id = $1 AND finished_at >= $2 AND finished_at < $3 GROUP BY 1 ORDER BY 1`},
		{sql: `SELECT date_bin($4::interval, started_at, $2), count(*) FROM executions
		  WHERE workspace_id = $1 AND started_at >= $2 AND started_at < $3 GROUP BY 1`},
		{sql: `SELECT count(*) FROM executions WHERE workspace_id = $1 AND finished_at >= $2 AND finished_at < $3`, previous: true},
	},
	"latency": {
		{sql: `SELECT count(*), min(duration_ms), max(duration_ms), avg(duration_ms),
			percentile_cont(ARRAY[0.5, 0.75, 0.9, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms)
		   FROM executions WHERE workspace_id = $1 AND finished_at >= $2 AND finished_at < $3`},
		{sql: `SELECT width_bucket(log(greatest(duration_ms, 1)), 0, 7, 21), count(*) FROM executions
		  WHERE workspace_id = $1 AND finished_at >= $2 AND finished_at < $3 GROUP BY 1`},
		{sql: `SELECT count(*), max(wait_ms), percentile_cont(ARRAY[0.5, 0.75, 0.9, 0.95, 0.99]) WITHIN GROUP (ORDER BY wait_ms)
		   FROM executions WHERE workspace_id = $1 AND started_at >= $2 AND started_at < $3`},
	},
	"performance": {
		{sql: `SELECT agent_id, count(*), count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed'),
			count(*) FILTER (WHERE status = 'timed_out'), count(*) FILTER (WHERE status = 'cancelled'),
			percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms)
		   FROM executions WHERE workspace_id = $1 AND finished_at >= $2 AND finished_at < $3 GROUP BY agent_id`},
		{sql: `SELECT extract(hour FROM finished_at), count(*), count(*) FILTER (WHERE status IN ('failed', 'timed_out'))
		   FROM executions WHERE workspace_id = $1 AND finished_at >= $2 AND finished_at < $3 GROUP BY 1`},
		{sql: `SELECT error_type, count(*) FROM executions
		  WHERE workspace_id = $1 AND finished_at >= $2 AND finished_at < $3 AND error_type IS NOT NULL GROUP BY 1`},
	},
	"comparison": {
		{sql: `SELECT count(*), avg(duration_ms), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms)
		   FROM executions WHERE workspace_id = $1 AND finished_at >= $2 AND finished_at < $3`},
		{sql: `SELECT count(*), avg(duration_ms), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms)
		   FROM executions WHERE workspace_id = $1 AND finished_at >= $2 AND finished_at < $3`, previous: true},
	},
}

// NaiveSections are the sections the naive design is timed on; "all" runs
// every section's queries.
var NaiveSections = []string{"all", "throughput", "latency", "performance", "comparison"}

// Time runs a section's queries once and returns how long they took.
func (n *Naive) Time(ctx context.Context, section, ws string, from, to time.Time, step time.Duration) (time.Duration, error) {
	var qs []naiveQuery
	if section == "all" {
		for _, s := range NaiveSections[1:] {
			qs = append(qs, naiveQueries[s]...)
		}
	} else {
		qs = naiveQueries[section]
	}
	t0 := time.Now()
	for _, q := range qs {
		args := []any{ws, from, to}
		if q.previous {
			args = []any{ws, from.Add(-to.Sub(from)), from}
		}
		if strings.Contains(q.sql, "$4") {
			args = append(args, fmt.Sprintf("%d seconds", int64(step.Seconds())))
		}
		rows, err := n.pool.Query(ctx, q.sql, args...)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", section, err)
		}
		for rows.Next() {
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("%s: %w", section, err)
		}
	}
	return time.Since(t0), nil
}

// Close drops the database.
func (n *Naive) Close(ctx context.Context) error {
	n.pool.Close()
	return dropDatabase(ctx, n.admin, n.name)
}

func createDatabase(ctx context.Context, dsn, name string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

func dropDatabase(ctx context.Context, dsn, name string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// withDatabase is dsn with its database replaced by name.
func withDatabase(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Path = "/" + name
	return u.String()
}
