package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
)

func queryStrings(t *testing.T, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, q string) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// TestViews checks what someone with psql sees: the queue, the running
// executions, the latency distribution, and the timestamptz twins of the
// nanosecond columns.
func TestViews(t *testing.T) {
	ctx := context.Background()
	db := open(t, freshDSN(t))
	now := time.Now().UTC()
	fin := func(ws, id, agent string, dur time.Duration, ago time.Duration) *execution.Execution {
		end := now.Add(-ago)
		return &execution.Execution{WorkspaceID: ws, ExecutionID: id, AgentID: agent, Status: execution.StatusCompleted,
			SeenAt: end.Add(-dur - time.Second), QueuedAt: end.Add(-dur - time.Second), StartedAt: end.Add(-dur), FinishedAt: end}
	}
	failed := fin("w1", "f-7ms", "a", 7*time.Millisecond, time.Hour)
	failed.Status, failed.Error = execution.StatusFailed, &execution.ErrorInfo{Type: "E"}
	xs := []*execution.Execution{
		{WorkspaceID: "w1", ExecutionID: "q-1", AgentID: "a", Status: execution.StatusQueued, SeenAt: now.Add(-2 * time.Minute), QueuedAt: now.Add(-2 * time.Minute)},
		{WorkspaceID: "w2", ExecutionID: "q-2", AgentID: "b", Status: execution.StatusQueued, SeenAt: now.Add(-5 * time.Second)},
		{WorkspaceID: "w1", ExecutionID: "r-1", AgentID: "a", Status: execution.StatusRunning, WorkerID: "wk-1",
			SeenAt: now.Add(-40 * time.Second), QueuedAt: now.Add(-40 * time.Second), StartedAt: now.Add(-30 * time.Second),
			Progress: fptr(40), ProgressAt: now.Add(-time.Second)},
		fin("w1", "c-0.4ms", "a", 400*time.Microsecond, time.Minute),
		fin("w1", "c-1.5ms", "a", 1500*time.Microsecond, time.Minute),
		fin("w1", "c-2ms", "a", 2*time.Millisecond, time.Minute),
		fin("w1", "c-3ms", "a", 3*time.Millisecond, time.Minute),
		failed,
		fin("w1", "c-15ms", "b", 15*time.Millisecond, 2*time.Hour),
		fin("w1", "c-1200ms", "a", 1200*time.Millisecond, 23*time.Hour),
		fin("w1", "c-99s", "a", 99*time.Second, 10*time.Minute),
		fin("w1", "c-old", "a", 3*time.Millisecond, 25*time.Hour), // finished over 24 hours ago
		fin("w2", "c-60ms", "a", 60*time.Millisecond, time.Minute),
	}
	err := db.Write(ctx, func(tx ingest.Tx) error { return tx.SaveExecutions(xs, now) })
	if err != nil {
		t.Fatal(err)
	}

	p := db.Pool()
	// Waits and run times are counted up to the database's now(): allow
	// for the time the test takes.
	near := func(ms int64, want time.Duration) bool {
		return ms >= want.Milliseconds() && ms < (want+10*time.Second).Milliseconds()
	}
	type row struct {
		key string
		ms  int64
	}
	collect := func(q string) []row {
		t.Helper()
		rows, err := p.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var out []row
		var r row
		if _, err := pgx.ForEachRow(rows, []any{&r.key, &r.ms}, func() error { out = append(out, r); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	queue := collect(`SELECT format('%s/%s/%s', workspace_id, execution_id, agent_id), wait_ms
		FROM execution_queue ORDER BY workspace_id, execution_id`)
	if len(queue) != 2 || queue[0].key != "w1/q-1/a" || !near(queue[0].ms, 2*time.Minute) ||
		queue[1].key != "w2/q-2/b" || !near(queue[1].ms, 5*time.Second) {
		t.Errorf("execution_queue = %v, want w1/q-1/a waiting 2 min and w2/q-2/b waiting 5 s", queue)
	}
	running := collect(`SELECT format('%s/%s/%s/%s/%s/%s', workspace_id, execution_id, agent_id, worker_id,
		to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), progress), elapsed_ms FROM v_current_executions`)
	wantRun := "w1/r-1/a/wk-1/" + xs[2].StartedAt.Format("2006-01-02T15:04:05.000000") + "/40"
	if len(running) != 1 || running[0].key != wantRun || !near(running[0].ms, 30*time.Second) {
		t.Errorf("v_current_executions = %v, want %s running 30 s", running, wantRun)
	}
	dist := queryStrings(t, p, `SELECT format('%s/%s [%s,%s) %s', workspace_id, agent_id, bucket_min_ms, bucket_max_ms, executions)
		FROM v_execution_latency_distribution ORDER BY workspace_id, agent_id, bucket_min_ms`)
	want := []string{
		"w1/a [0,1) 1", "w1/a [1,2) 1", "w1/a [2,5) 2", "w1/a [5,10) 1", "w1/a [1000,2000) 1", "w1/a [50000,100000) 1",
		"w1/b [10,20) 1",
		"w2/a [50,100) 1",
	}
	if !slices.Equal(dist, want) {
		t.Errorf("v_execution_latency_distribution:\n got %s\nwant %s", strings.Join(dist, "; "), strings.Join(want, "; "))
	}

	// The timestamptz twins of the *_ns columns, to the microsecond.
	x := xs[2]
	var started, progressAt, sortAt time.Time
	if err := p.QueryRow(ctx, `SELECT started_at, progress_at, sort_at FROM executions WHERE workspace_id = 'w1' AND execution_id = 'r-1'`).
		Scan(&started, &progressAt, &sortAt); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want time.Time
	}{{"started_at", started, x.StartedAt}, {"progress_at", progressAt, x.ProgressAt}, {"sort_at", sortAt, x.SortAt()}} {
		if !c.got.Equal(c.want.Truncate(time.Microsecond)) {
			t.Errorf("%s = %s, want %s", c.name, c.got.UTC().Format(time.RFC3339Nano), c.want.Format(time.RFC3339Nano))
		}
	}
}

func fptr(v float64) *float64 { return &v }
