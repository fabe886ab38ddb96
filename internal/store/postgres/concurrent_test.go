package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/rollup"
	"github.com/shadower/shadower/internal/store/postgres"
)

// runEvents are the events of one execution: queued, started (1 s later)
// and completed (2 s plus i ms later), with credits on the start.
func runEvents(ws, agent, id string, at time.Time, i int) []*execution.Event {
	credits := 0.5
	return []*execution.Event{
		{EventID: id + "-q", Type: execution.Queued, ExecutionID: id, WorkspaceID: ws, AgentID: agent, Timestamp: at},
		{EventID: id + "-s", Type: execution.Started, ExecutionID: id, WorkspaceID: ws, AgentID: agent,
			Timestamp: at.Add(time.Second), WorkerID: "w", Credits: &credits},
		{EventID: id + "-c", Type: execution.Completed, ExecutionID: id, WorkspaceID: ws, AgentID: agent,
			Timestamp: at.Add(2*time.Second + time.Duration(i)*time.Millisecond)},
	}
}

// TestConcurrentWriters runs two service nodes, each on its own DB handle
// (its own pool), ingesting at once: the same events (in opposite orders)
// and events only one node gets, all into the same executions' workspace
// and the same rollup rows. Every event must count once and no rollup
// update may be lost. Batches of 60 events lock each execution; batches of
// 1200 (400 executions) take the class's global lock (see locks.go).
func TestConcurrentWriters(t *testing.T) {
	for _, c := range []struct {
		name  string
		sizes [2]int
	}{{"small", [2]int{60, 60}}, {"large", [2]int{1200, 1200}}, {"mixed", [2]int{60, 1200}}} {
		t.Run(c.name, func(t *testing.T) { testConcurrentWriters(t, c.sizes) })
	}
}

func testConcurrentWriters(t *testing.T, sizes [2]int) {
	dsn := freshDSN(t)
	dbs := []*postgres.DB{open(t, dsn), open(t, dsn)}
	base := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	const ws, shared, own = "ws", 400, 150

	var sharedEvs []*execution.Event
	for i := range shared {
		sharedEvs = append(sharedEvs, runEvents(ws, fmt.Sprintf("agent-%d", i%3), fmt.Sprintf("s-%04d", i), base.Add(time.Duration(i)*time.Millisecond), i)...)
	}
	ownEvs := make([][]*execution.Event, 2)
	for n := range 2 {
		for i := range own {
			ownEvs[n] = append(ownEvs[n], runEvents(ws, fmt.Sprintf("agent-%d", i%3), fmt.Sprintf("n%d-%04d", n, i), base.Add(time.Duration(i)*time.Millisecond), i)...)
		}
	}
	split := func(evs []*execution.Event, batch int) [][]*execution.Event {
		var out [][]*execution.Event
		for len(evs) > 0 {
			k := min(batch, len(evs))
			out = append(out, evs[:k])
			evs = evs[k:]
		}
		return out
	}

	var accepted, duplicates, retries atomic.Int64
	var wg sync.WaitGroup
	for n, db := range dbs {
		svc := ingest.New(db, ingest.Options{CacheRows: -1}) // other nodes write too: no rollup cache
		defer svc.Close()
		batches := split(sharedEvs, sizes[n])
		if n == 1 { // the other node gets them in the opposite order
			for i, j := 0, len(batches)-1; i < j; i, j = i+1, j-1 {
				batches[i], batches[j] = batches[j], batches[i]
			}
		}
		batches = append(batches, split(ownEvs[n], sizes[n])...)
		// Several clients per node, so commits group several batches.
		for c := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := c; i < len(batches); i += 3 {
					for try := 0; ; try++ {
						res, err := svc.Ingest(context.Background(), batches[i])
						if err == nil {
							accepted.Add(int64(res.Accepted))
							duplicates.Add(int64(res.Duplicates))
							break
						}
						// A commit aborted by a deadlock between nodes is
						// refused as a whole; the client sends it again.
						if execution.ErrorCode(err) != execution.EUnavailable || try == 20 {
							t.Errorf("node %d: %v", n, err)
							return
						}
						retries.Add(1)
						time.Sleep(10 * time.Millisecond)
					}
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("retried batches: %d", retries.Load())

	total := len(sharedEvs) + len(ownEvs[0]) + len(ownEvs[1])
	if got := accepted.Load(); got != int64(total) {
		t.Errorf("accepted %d events, want %d (each distinct event once)", got, total)
	}
	if got := accepted.Load() + duplicates.Load(); got != int64(total+len(sharedEvs)) {
		t.Errorf("accepted + duplicates = %d, want %d sent", got, total+len(sharedEvs))
	}

	ctx := context.Background()
	db := dbs[0]
	var ids, logs int
	if err := db.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM execution_event_ids), (SELECT count(*) FROM execution_logs)`).Scan(&ids, &logs); err != nil {
		t.Fatal(err)
	}
	if ids != total || logs != total {
		t.Errorf("%d event ids and %d log rows, want %d of each", ids, logs, total)
	}
	runs := shared + 2*own
	xs, err := db.Executions(ctx, execution.ListFilter{WorkspaceID: ws, Limit: 10 * runs})
	if err != nil {
		t.Fatal(err)
	}
	if len(xs) != runs {
		t.Errorf("%d executions, want %d", len(xs), runs)
	}
	for _, x := range xs {
		if x.Status != execution.StatusCompleted || x.QueuedAt.IsZero() || x.StartedAt.IsZero() || x.Credits != 0.5 {
			t.Errorf("execution %s: status %s, queued %v, started %v, credits %v; want every event applied once",
				x.ExecutionID, x.Status, x.QueuedAt, x.StartedAt, x.Credits)
		}
	}
	for _, tier := range rollup.Tiers {
		rows, err := db.RollupRange(ctx, ws, tier, 0, 1<<40, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		var sum, perAgent rollup.Row
		for _, r := range rows {
			dst := &perAgent
			if r.AgentID == rollup.AllAgents {
				dst = &sum
			}
			dst.Started += r.Started
			dst.Completed += r.Completed
			dst.Duration.Count += r.Duration.Count
			dst.QueueWait.Count += r.QueueWait.Count
			dst.Credits += r.Credits
		}
		for _, c := range []struct {
			name string
			r    rollup.Row
		}{{"total", sum}, {"agents", perAgent}} {
			if c.r.Started != int64(runs) || c.r.Completed != int64(runs) || c.r.Duration.Count != int64(runs) ||
				c.r.QueueWait.Count != int64(runs) || c.r.Credits != 0.5*float64(runs) {
				t.Errorf("%s rollups, %s: started %d, completed %d, durations %d, waits %d, credits %v; want %d each and credits %v",
					tier, c.name, c.r.Started, c.r.Completed, c.r.Duration.Count, c.r.QueueWait.Count, c.r.Credits, runs, 0.5*float64(runs))
			}
		}
	}
	if err := db.Check(ctx); err != nil {
		t.Error(err)
	}
}

// TestConcurrentRollupUpdates has two handles add to the same rollup rows
// at once through the Tx alone (load, add one, save), many times: the
// final counts are the number of increments.
func TestConcurrentRollupUpdates(t *testing.T) {
	dsn := freshDSN(t)
	dbs := []*postgres.DB{open(t, dsn), open(t, dsn)}
	keys := []rollup.Key{
		{WorkspaceID: "ws", Tier: rollup.Minute, Bucket: 600, AgentID: "a"},
		{WorkspaceID: "ws", Tier: rollup.Minute, Bucket: 600, AgentID: rollup.AllAgents},
		{WorkspaceID: "ws", Tier: rollup.Hour, Bucket: 0, AgentID: "a"},
		{WorkspaceID: "ws", Tier: rollup.Day, Bucket: 0, AgentID: rollup.AllAgents},
	}
	const rounds = 40
	var wg sync.WaitGroup
	for n, db := range dbs {
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					err := db.Write(context.Background(), func(tx ingest.Tx) error {
						// The writer's order: executions, then rollups.
						if _, err := tx.LoadExecutions("ws", []string{"x"}); err != nil {
							return err
						}
						got, err := tx.LoadRollups(keys)
						if err != nil {
							return err
						}
						rows := map[rollup.Key]*rollup.Row{}
						for _, k := range keys {
							r := &rollup.Row{Key: k}
							if old := got[k]; old != nil {
								r = old.Clone()
							}
							r.Started++
							r.Duration.Add(float64(n*1000 + g*100 + i))
							rows[k] = r
						}
						return tx.SaveRollups(rows)
					})
					if err != nil {
						t.Errorf("handle %d: %v", n, err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	for _, k := range keys {
		rows, err := dbs[1].RollupRange(context.Background(), k.WorkspaceID, k.Tier, k.Bucket, k.Bucket+1, []string{k.AgentID}, true)
		if err != nil || len(rows) != 1 {
			t.Fatalf("%+v: %d rows, %v", k, len(rows), err)
		}
		r := rows[0]
		sk, err := r.Duration.Sketch()
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(4 * rounds); r.Started != want || r.Duration.Count != want || sk.Count() != uint64(want) {
			t.Errorf("%+v: started %d, durations %d, sketch %v; want %d (no lost update)", k, r.Started, r.Duration.Count, sk.Count(), want)
		}
	}
}
