package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/store/postgres"
)

func partitions(t *testing.T, db *postgres.DB) []string {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'execution_logs'::regclass ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func count(t *testing.T, db *postgres.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func ev(x, id string, typ execution.Type, at time.Time) *execution.Event {
	return &execution.Event{EventID: id, Type: typ, ExecutionID: x, WorkspaceID: "ws", AgentID: "a", Timestamp: at}
}

// write stores events received at recv and the executions they make.
func write(t *testing.T, db *postgres.DB, recv time.Time, evs ...*execution.Event) []bool {
	t.Helper()
	var fresh []bool
	err := db.Write(context.Background(), func(tx ingest.Tx) error {
		var err error
		if fresh, err = tx.InsertEvents(evs, recv); err != nil {
			return err
		}
		var ids []string
		for _, e := range evs {
			ids = append(ids, e.ExecutionID)
		}
		xs, err := tx.LoadExecutions("ws", ids)
		if err != nil {
			return err
		}
		for i, e := range evs {
			if !fresh[i] {
				continue
			}
			x := xs[e.ExecutionID]
			if x == nil {
				x = &execution.Execution{}
				xs[e.ExecutionID] = x
			}
			x.Apply(e)
		}
		var all []*execution.Execution
		for _, x := range xs {
			all = append(all, x)
		}
		if err := tx.SaveExecutions(all, recv); err != nil {
			return err
		}
		return tx.TouchWorkspaces([]string{"ws"}, recv)
	})
	if err != nil {
		t.Fatal(err)
	}
	return fresh
}

func eventIDs(t *testing.T, db *postgres.DB, x string) []string {
	t.Helper()
	_, evs, err := db.Execution(context.Background(), "ws", x)
	if err != nil {
		t.Fatalf("Execution %s: %v", x, err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.EventID)
	}
	return out
}

// TestPartitions checks that writes create the day partitions they need,
// that Expire drops whole days (moving the events of live executions to the
// default partition first), and that a day whose events already sit in the
// default partition stays there.
func TestPartitions(t *testing.T) {
	ctx := context.Background()
	db := open(t, freshDSN(t))
	d0 := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	d1, d2 := d0.Add(24*time.Hour), d0.Add(48*time.Hour)

	write(t, db, d0, ev("x-a", "a1", execution.Queued, d0), ev("x-b", "b1", execution.Queued, d0))
	write(t, db, d1, ev("x-c", "c1", execution.Queued, d1))
	write(t, db, d2, ev("x-a", "a2", execution.Started, d2))
	parts := partitions(t, db)
	for _, want := range []string{"execution_logs_default", "execution_logs_p20260110", "execution_logs_p20260111", "execution_logs_p20260112"} {
		if !slices.Contains(parts, want) {
			t.Errorf("partitions %v lack %s", parts, want)
		}
	}
	// Written where they belong, and a rolled-back write creates nothing.
	if n := count(t, db, `SELECT count(*) FROM execution_logs_p20260110`); n != 2 {
		t.Errorf("partition of %s holds %d rows, want 2", d0.Format(time.DateOnly), n)
	}
	boom := errors.New("boom")
	err := db.Write(ctx, func(tx ingest.Tx) error {
		if _, err := tx.InsertEvents([]*execution.Event{ev("x-z", "z1", execution.Queued, d0)}, d0.Add(-5*24*time.Hour)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if slices.Contains(partitions(t, db), "execution_logs_p20260105") {
		t.Error("a rolled-back write left its partition")
	}

	// x-b and x-c were last updated before the cutoff; x-a after it. The
	// days of d0 and d1 end before it and go whole; x-a's event of d0 moves.
	cut := d2.Add(-6 * time.Hour)
	n, err := db.Expire(ctx, nil, cut.Unix())
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 { // executions x-b, x-c; events b1, c1
		t.Errorf("Expire deleted %d rows, want 4", n)
	}
	parts = partitions(t, db)
	for _, gone := range []string{"execution_logs_p20260110", "execution_logs_p20260111"} {
		if slices.Contains(parts, gone) {
			t.Errorf("%s not dropped: %v", gone, parts)
		}
	}
	if !slices.Contains(parts, "execution_logs_p20260112") {
		t.Errorf("the day of the cutoff was dropped: %v", parts)
	}
	if got := eventIDs(t, db, "x-a"); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Errorf("x-a events = %v, want a1 a2", got)
	}
	if n := count(t, db, `SELECT count(*) FROM execution_logs_default WHERE event_id = 'a1'`); n != 1 {
		t.Errorf("a1 is not in the default partition")
	}
	for _, x := range []string{"x-b", "x-c"} {
		if _, _, err := db.Execution(ctx, "ws", x); execution.ErrorCode(err) != execution.ENotFound {
			t.Errorf("Execution %s after Expire: %v, want not_found", x, err)
		}
	}
	if n, err := db.Expire(ctx, nil, cut.Unix()); n != 0 || err != nil {
		t.Errorf("second Expire: %d, %v; want 0", n, err)
	}

	// b1 is new again, a1 still a duplicate. A write received on d0 again
	// finds the default partition holding a row of d0: the partition
	// cannot be created and the row joins the default partition.
	if got := write(t, db, d0, ev("x-b", "b1", execution.Queued, d0), ev("x-a", "a1", execution.Queued, d0)); !slices.Equal(got, []bool{true, false}) {
		t.Errorf("re-sent events: new = %v, want [true false]", got)
	}
	if slices.Contains(partitions(t, db), "execution_logs_p20260110") {
		t.Error("the partition of a day in the default partition was created")
	}
	if n := count(t, db, `SELECT count(*) FROM execution_logs_default`); n != 2 {
		t.Errorf("default partition holds %d rows, want 2 (a1, b1)", n)
	}

	// Everything expires: rows gone from the day partitions, the default
	// partition and the ids alike.
	n, err = db.Expire(ctx, nil, d2.Add(10*24*time.Hour).Unix())
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 { // executions x-a, x-b; a2 with its partition; a1, b1 from the default partition
		t.Errorf("final Expire deleted %d rows, want 5", n)
	}
	if ids, logs, xs := count(t, db, `SELECT count(*) FROM execution_event_ids`), count(t, db, `SELECT count(*) FROM execution_logs`),
		count(t, db, `SELECT count(*) FROM executions`); ids+logs+xs != 0 {
		t.Errorf("after the final Expire: %d ids, %d log rows, %d executions; want none", ids, logs, xs)
	}
	if err := db.Check(ctx); err != nil {
		t.Error(err)
	}
}

// TestConcurrentExpire runs retention on two nodes at once: each row is
// counted by one of them and neither fails.
func TestConcurrentExpire(t *testing.T) {
	ctx := context.Background()
	dsn := freshDSN(t)
	dbs := []*postgres.DB{open(t, dsn), open(t, dsn)}
	d0 := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	want := 0
	for day := range 5 {
		at := d0.Add(time.Duration(day) * 24 * time.Hour)
		var evs []*execution.Event
		for i := range 40 {
			evs = append(evs, ev(fmt.Sprintf("x-%d-%d", day, i), fmt.Sprintf("e-%d-%d", day, i), execution.Queued, at))
		}
		write(t, dbs[0], at, evs...)
		want += 80 // an execution and its event
	}
	keep := d0.Add(10 * 24 * time.Hour)
	write(t, dbs[0], keep, ev("x-keep", "e-keep", execution.Queued, keep))
	var wg sync.WaitGroup
	var total atomic.Int64
	for _, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := db.Expire(ctx, nil, d0.Add(6*24*time.Hour).Unix())
			if err != nil {
				t.Errorf("Expire: %v", err)
			}
			total.Add(n)
		}()
	}
	wg.Wait()
	if total.Load() != int64(want) {
		t.Errorf("the two Expires deleted %d rows in all, want %d", total.Load(), want)
	}
	if n := count(t, dbs[1], `SELECT count(*) FROM execution_logs`); n != 1 {
		t.Errorf("%d log rows left, want 1", n)
	}
}
