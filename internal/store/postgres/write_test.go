package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/rollup"
	"github.com/shadower/shadower/internal/store/postgres"
)

// bigBatch is n events of ws with ids prefix-0000 ... (one execution each),
// over as many minutes: enough to go in by COPY (see copyFrom).
func bigBatch(ws, prefix string, n int, at time.Time) []*execution.Event {
	evs := make([]*execution.Event, n)
	for i := range evs {
		id := fmt.Sprintf("%s-%04d", prefix, i)
		evs[i] = &execution.Event{EventID: id, Type: execution.Queued, ExecutionID: "x-" + id, WorkspaceID: ws,
			AgentID: "agent-1", Timestamp: at.Add(time.Duration(i) * time.Minute)}
	}
	return evs
}

func insert(t *testing.T, db *postgres.DB, recv time.Time, evs []*execution.Event) []bool {
	t.Helper()
	var got []bool
	if err := db.Write(context.Background(), func(tx ingest.Tx) error {
		var err error
		got, err = tx.InsertEvents(evs, recv)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func rowCount(t *testing.T, db *postgres.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCopyClaims checks the claim of large batches, whose ids are copied
// in as new first: a batch repeating events already stored, or repeating
// itself, must still count each event once and keep its first body, and so
// must the batches after it (claimed with INSERT ... ON CONFLICT for a
// while), on both paths.
func TestCopyClaims(t *testing.T) {
	db := open(t, freshDSN(t))
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	first := bigBatch("ws", "a", 600, at)
	if got := insert(t, db, at, first); slices.Contains(got, false) {
		t.Fatalf("first batch: some events were duplicates")
	}
	if n := postgres.ClaimFallbacks(db); n != 0 {
		t.Fatalf("after a batch of new events, %d batches are to claim with ON CONFLICT, want 0", n)
	}

	// Half repeats (with other bodies), half new, and a repeat inside the
	// batch of a new event.
	var second []*execution.Event
	for i, ev := range first[:300] {
		again := *ev
		again.Type = execution.Failed
		second = append(second, &again)
		second = append(second, bigBatch("ws", "b", 300, at)[i])
	}
	second = append(second, second[1]) // b-0000 again
	got := insert(t, db, at, second)
	for i, ev := range second {
		want := strings.HasPrefix(ev.EventID, "b-") && i != len(second)-1
		if got[i] != want {
			t.Errorf("second batch, event %d (%s): new = %v, want %v", i, ev.EventID, got[i], want)
		}
	}
	if n := postgres.ClaimFallbacks(db); n == 0 {
		t.Errorf("after a batch with repeats, no batch is to claim with ON CONFLICT")
	}

	// The next batch goes through INSERT ... ON CONFLICT: repeats again.
	before := postgres.ClaimFallbacks(db)
	third := append(bigBatch("ws", "c", 550, at), first[10], second[1])
	got = insert(t, db, at, third)
	for i := range third {
		if want := i < 550; got[i] != want {
			t.Errorf("third batch, event %d (%s): new = %v, want %v", i, third[i].EventID, got[i], want)
		}
	}
	if n := postgres.ClaimFallbacks(db); n != before-1 {
		t.Errorf("a batch claimed with ON CONFLICT left %d to claim so, want %d", n, before-1)
	}

	if ids, logs := rowCount(t, db, "execution_event_ids"), rowCount(t, db, "execution_logs"); ids != 1450 || logs != 1450 {
		t.Errorf("%d event ids and %d log rows, want 1450 of each", ids, logs)
	}
	var body []byte
	if err := db.Pool().QueryRow(context.Background(), `SELECT body FROM execution_logs WHERE event_id = 'a-0000'`).Scan(&body); err != nil {
		t.Fatal(err)
	}
	var ev execution.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.Type != execution.Queued {
		t.Errorf("a-0000 has body %s (%v), want the first one stored (queued)", body, err)
	}
}

// TestLateWriteFails checks that a write sent after the call that queued
// it (the event log, new executions: see tx) fails the whole transaction:
// Write returns the error and nothing of it is kept.
func TestLateWriteFails(t *testing.T) {
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	for _, c := range []struct {
		name string
		bad  func(evs []*execution.Event, x *execution.Execution)
	}{
		// PostgreSQL takes neither in jsonb nor in text: a NUL.
		{"log", func(evs []*execution.Event, _ *execution.Execution) { evs[len(evs)-1].WorkerID = "w\x00" }},
		{"execution", func(_ []*execution.Event, x *execution.Execution) { x.WorkerID = "w\x00" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := open(t, freshDSN(t))
			evs := bigBatch("ws", "e", 600, at)
			x := &execution.Execution{WorkspaceID: "ws", ExecutionID: "x-e-0000", AgentID: "agent-1",
				Status: execution.StatusQueued, SeenAt: at, QueuedAt: at}
			c.bad(evs, x)
			key := rollup.Key{WorkspaceID: "ws", Tier: rollup.Minute, Bucket: rollup.Minute.Bucket(at), AgentID: "agent-1"}
			err := db.Write(context.Background(), func(tx ingest.Tx) error {
				got, err := tx.InsertEvents(evs, at)
				if err != nil {
					return err
				}
				if slices.Contains(got, false) {
					t.Errorf("some events were duplicates")
				}
				if _, err := tx.LoadExecutions("ws", []string{x.ExecutionID}); err != nil {
					return err
				}
				if err := tx.SaveExecutions([]*execution.Execution{x}, at); err != nil {
					return err
				}
				if err := tx.TouchWorkspaces([]string{"ws"}, at); err != nil {
					return err
				}
				if _, err := tx.LoadRollups([]rollup.Key{key}); err != nil {
					return err
				}
				return tx.SaveRollups(map[rollup.Key]*rollup.Row{key: {Key: key, Started: 1}})
			})
			if err == nil {
				t.Fatal("Write succeeded with a row PostgreSQL refuses")
			}
			for _, table := range []string{"execution_event_ids", "execution_logs", "executions", "workspaces", "execution_metrics_minute"} {
				if n := rowCount(t, db, table); n != 0 {
					t.Errorf("%s has %d rows after a failed write, want none", table, n)
				}
			}
			// The valid events are new again, and the store still writes.
			evs = evs[:len(evs)-1]
			if got := insert(t, db, at, evs); slices.Contains(got, false) {
				t.Errorf("after a failed write, some of its events are duplicates")
			}
		})
	}
}

// TestReadsSeeWrites checks that reads in a transaction see its earlier
// writes, queued or sent later (see tx), and that saving a row read
// missing twice keeps the second.
func TestReadsSeeWrites(t *testing.T) {
	db := open(t, freshDSN(t))
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	x := &execution.Execution{WorkspaceID: "ws", ExecutionID: "x1", AgentID: "agent-1",
		Status: execution.StatusQueued, SeenAt: at, QueuedAt: at}
	key := rollup.Key{WorkspaceID: "ws", Tier: rollup.Hour, Bucket: rollup.Hour.Bucket(at), AgentID: "agent-1"}
	err := db.Write(context.Background(), func(tx ingest.Tx) error {
		for round := 1; round <= 2; round++ {
			xs, err := tx.LoadExecutions("ws", []string{"x1"})
			if err != nil {
				return err
			}
			rows, err := tx.LoadRollups([]rollup.Key{key})
			if err != nil {
				return err
			}
			if round == 1 && (len(xs) != 0 || len(rows) != 0) {
				return fmt.Errorf("before any write: %d executions, %d rows", len(xs), len(rows))
			}
			if round == 2 {
				if got := xs["x1"]; got == nil || got.Status != execution.StatusQueued {
					return fmt.Errorf("LoadExecutions after SaveExecutions: %+v", got)
				}
				if got := rows[key]; got == nil || got.Started != 1 {
					return fmt.Errorf("LoadRollups after SaveRollups: %+v", got)
				}
			}
			y := *x
			if round == 2 {
				y.Status, y.StartedAt = execution.StatusRunning, at.Add(time.Second)
			}
			if err := tx.SaveExecutions([]*execution.Execution{&y}, at); err != nil {
				return err
			}
			if err := tx.SaveRollups(map[rollup.Key]*rollup.Row{key: {Key: key, Started: int64(round)}}); err != nil {
				return err
			}
		}
		// Saved twice, read missing once, read back never: still one row.
		z := &execution.Execution{WorkspaceID: "ws", ExecutionID: "x2", AgentID: "agent-1",
			Status: execution.StatusQueued, SeenAt: at, QueuedAt: at}
		if _, err := tx.LoadExecutions("ws", []string{"x2"}); err != nil {
			return err
		}
		for range 2 {
			if err := tx.SaveExecutions([]*execution.Execution{z}, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := db.Execution(context.Background(), "ws", "x1")
	if err != nil || got.Status != execution.StatusRunning {
		t.Errorf("x1 after commit: %+v, %v; want the second save (running)", got, err)
	}
	rows, err := db.RollupRange(context.Background(), "ws", rollup.Hour, 0, 1<<40, []string{"agent-1"}, false)
	if err != nil || len(rows) != 1 || rows[0].Started != 2 {
		t.Errorf("rollup rows after commit: %d, %v; want one, of the second save (started 2)", len(rows), err)
	}
	if n := rowCount(t, db, "executions"); n != 2 {
		t.Errorf("%d executions, want 2", n)
	}

	// Writes of one table keep their order: a row copied in later, then
	// deleted, then saved again.
	key2 := rollup.Key{WorkspaceID: "ws-2", Tier: rollup.Minute, Bucket: rollup.Minute.Bucket(at), AgentID: "agent-1"}
	err = db.Write(context.Background(), func(tx ingest.Tx) error {
		if _, err := tx.LoadRollups([]rollup.Key{key2}); err != nil {
			return err
		}
		if err := tx.SaveRollups(map[rollup.Key]*rollup.Row{key2: {Key: key2, Started: 1}}); err != nil {
			return err
		}
		postgres.DeleteRollups(tx, rollup.Minute, "ws-2")
		if err := tx.SaveRollups(map[rollup.Key]*rollup.Row{key2: {Key: key2, Started: 3}}); err != nil {
			return err
		}
		postgres.DeleteRollups(tx, rollup.Minute, "ws-2")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows, err := db.RollupRange(context.Background(), "ws-2", rollup.Minute, 0, 1<<40, nil, false); err != nil || len(rows) != 0 {
		t.Errorf("after save, delete, save, delete: %d rows, %v; want none", len(rows), err)
	}
}

// TestLoadRollupsByRange checks that LoadRollups, which reads by bucket
// ranges, returns the rows asked for that exist and no other.
func TestLoadRollupsByRange(t *testing.T) {
	db := open(t, freshDSN(t))
	base := rollup.Minute.Bucket(time.Now().UTC().Add(-48 * time.Hour))
	stored := map[rollup.Key]*rollup.Row{}
	for _, ws := range []string{"ws-a", "ws-b"} {
		for _, agent := range []string{"agent-1", "agent-2", rollup.AllAgents} {
			for _, tier := range rollup.Tiers {
				for _, step := range []int64{0, 1, 2, 5, 30, 31} {
					k := rollup.Key{WorkspaceID: ws, Tier: tier, AgentID: agent, Bucket: tier.Bucket(time.Unix(base, 0)) + step*tier.Seconds()}
					stored[k] = &rollup.Row{Key: k, Started: step + 1}
				}
			}
		}
	}
	if err := db.Write(context.Background(), func(tx ingest.Tx) error { return tx.SaveRollups(stored) }); err != nil {
		t.Fatal(err)
	}
	// Every other stored key of agent-1 in ws-a, and missing keys between
	// and around them; of the other agents and workspace, a few.
	var ask []rollup.Key
	want := map[rollup.Key]bool{}
	for k := range stored {
		step := (k.Bucket - k.Tier.Bucket(time.Unix(base, 0))) / k.Tier.Seconds()
		if (k.WorkspaceID == "ws-a" && k.AgentID == "agent-1" && step%2 == 0) || (k.WorkspaceID == "ws-b" && step == 30) {
			ask = append(ask, k)
			want[k] = true
		}
	}
	for _, tier := range rollup.Tiers {
		for _, step := range []int64{-3, 3, 4, 29, 40} {
			ask = append(ask, rollup.Key{WorkspaceID: "ws-a", Tier: tier, AgentID: "agent-1", Bucket: tier.Bucket(time.Unix(base, 0)) + step*tier.Seconds()})
		}
	}
	var got map[rollup.Key]*rollup.Row
	err := db.Write(context.Background(), func(tx ingest.Tx) error {
		var err error
		got, err = tx.LoadRollups(ask)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, r := range got {
		if !want[k] {
			t.Errorf("LoadRollups returned %v, not asked for or missing", k)
		} else if r.Started != stored[k].Started {
			t.Errorf("%v: started %d, want %d", k, r.Started, stored[k].Started)
		}
	}
	for k := range want {
		if got[k] == nil {
			t.Errorf("LoadRollups lacks %v", k)
		}
	}
}

// TestLookupPlans checks that the writer's lookups probe primary keys
// whatever the planner knows: on tables never analyzed (autovacuum may be
// off) and with connections that plan every statement for its arguments
// (a generic plan made while a table was small outlives its use).
func TestLookupPlans(t *testing.T) {
	db := open(t, freshDSN(t))
	ctx := context.Background()
	var mode string
	if err := db.Pool().QueryRow(ctx, `SHOW plan_cache_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "force_custom_plan" {
		t.Errorf("plan_cache_mode = %s, want force_custom_plan", mode)
	}
	// Enough rows that scanning a workspace or hashing a table is
	// plainly worse than a probe per key, and no statistics.
	if _, err := db.Pool().Exec(ctx, `INSERT INTO executions (workspace_id, execution_id, agent_id, status, sort_at_ns, updated_at)
		SELECT 'ws-' || i % 3, 'x' || i, 'a', 'completed', i, now() FROM generate_series(1, 60000) AS i`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `INSERT INTO execution_metrics_minute (workspace_id, bucket, agent_id, started, completed,
		failed, timed_out, cancelled, peak_minute, credits, tokens, dur_count, dur_sum, dur_min, dur_max,
		qw_count, qw_sum, qw_min, qw_max)
		SELECT 'ws-' || i % 3, i / 3 * 60, 'a', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM generate_series(1, 60000) AS i`); err != nil {
		t.Fatal(err)
	}
	var wss, ids []string
	for i := 30000; i < 30500; i++ {
		wss, ids = append(wss, fmt.Sprintf("ws-%d", i%3)), append(ids, fmt.Sprintf("x%d", i))
	}
	keys := make([]rollup.Key, 0, 1500)
	for i := range 500 {
		for _, ws := range []string{"ws-0", "ws-1", "ws-2"} {
			keys = append(keys, rollup.Key{WorkspaceID: ws, Tier: rollup.Minute, AgentID: "a", Bucket: int64(5000+i) * 120})
		}
	}
	ranges := postgres.RollupRanges(keys)[rollup.Minute]
	for _, c := range []struct {
		name, sql string
		args      []any
		index     string
	}{
		{"executions", postgres.LoadExecutionsSQL, []any{wss, ids}, "executions_pkey"},
		{"rollups", postgres.LoadRollupsSQL("execution_metrics_minute"), []any{ranges[0], ranges[1], ranges[2], ranges[3]}, "execution_metrics_minute_pkey"},
	} {
		rows, err := db.Pool().Query(ctx, `EXPLAIN `+c.sql, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, c.index) || strings.Contains(text, "Seq Scan") || strings.Contains(text, "Hash") {
			t.Errorf("%s lookup plan, wanted probes of %s:\n%s", c.name, c.index, text)
		}
	}
	if len(ranges[0].([]string)) >= len(keys) {
		t.Errorf("%d keys of consecutive buckets read as %d ranges", len(keys), len(ranges[0].([]string)))
	}
}
