package postgres_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/rollup"
	"github.com/shadower/shadower/internal/store/sqlite"
)

// TestSameAsSQLite ingests the same events into both stores through the
// ingest service and compares the reads outside the conformance suite:
// RawRange, ExecutionsByID, ExecutionsPage, and the rollups after ReplaceRollups with a
// recomputation (the "rollups rebuild" path).
func TestSameAsSQLite(t *testing.T) {
	ctx := context.Background()
	pg := open(t, freshDSN(t))
	lite, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()

	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var evs []*execution.Event
	for i := range 300 {
		id := fmt.Sprintf("x-%03d", i)
		at := day.Add(time.Duration(i)*4*time.Minute + time.Duration(i)*time.Nanosecond)
		run := runEvents("ws", fmt.Sprintf("agent-%d", i%4), id, at, i)
		if i%7 == 0 {
			tokens := float64(i)
			run[2].Tokens = &tokens
			run[2].Type = execution.Failed
		}
		if i%11 == 0 {
			run = run[1:] // never queued
		}
		evs = append(evs, run...)
	}
	for _, db := range []ingest.Store{pg, lite} {
		svc := ingest.New(db, ingest.Options{Now: func() time.Time { return day.Add(25 * time.Hour) }})
		for start := 0; start < len(evs); start += 97 {
			if _, err := svc.Ingest(ctx, evs[start:min(start+97, len(evs))]); err != nil {
				t.Fatal(err)
			}
		}
		svc.Close()
	}

	from, to := day.Add(6*time.Hour), day.Add(18*time.Hour)
	px, pu, err := pg.RawRange(ctx, "ws", from, to)
	if err != nil {
		t.Fatal(err)
	}
	lx, lu, err := lite.RawRange(ctx, "ws", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(px) != len(lx) || len(px) == 0 {
		t.Errorf("RawRange executions: %d, SQLite %d", len(px), len(lx))
	}
	for id, x := range lx {
		if g, w := fmtExec(px[id]), fmtExec(x); g != w {
			t.Errorf("RawRange %s:\n got %s\nwant %s", id, g, w)
		}
	}
	usage := func(evs []execution.Event) []string {
		var out []string
		for _, e := range evs {
			b, _ := e.Timestamp.MarshalText()
			out = append(out, e.EventID+"@"+string(b)+fmt.Sprint(e.Credits != nil, e.Tokens != nil))
		}
		sort.Strings(out)
		return out
	}
	if g, w := fmt.Sprint(usage(pu)), fmt.Sprint(usage(lu)); g != w || len(pu) == 0 {
		t.Errorf("RawRange usage:\n got %s\nwant %s", g, w)
	}

	ids := []string{"x-000", "x-150", "x-299", "missing"}
	pb, err := pg.ExecutionsByID(ctx, "ws", ids)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := lite.ExecutionsByID(ctx, "ws", ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(pb) != 3 || len(lb) != 3 || fmtExec(pb["x-150"]) != fmtExec(lb["x-150"]) {
		t.Errorf("ExecutionsByID: %d, %s; SQLite %d, %s", len(pb), fmtExec(pb["x-150"]), len(lb), fmtExec(lb["x-150"]))
	}

	var pp, lp []string
	for after := ""; ; {
		xs, err := pg.ExecutionsPage(ctx, "ws", after, 64)
		if err != nil {
			t.Fatal(err)
		}
		if len(xs) == 0 {
			break
		}
		for _, x := range xs {
			pp = append(pp, fmtExec(x))
		}
		after = xs[len(xs)-1].ExecutionID
	}
	for after := ""; ; {
		xs, err := lite.ExecutionsPage(ctx, "ws", after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(xs) == 0 {
			break
		}
		for _, x := range xs {
			lp = append(lp, fmtExec(x))
		}
		after = xs[len(xs)-1].ExecutionID
	}
	if len(pp) != 300 || fmt.Sprint(pp) != fmt.Sprint(lp) {
		t.Errorf("ExecutionsPage: %d executions, SQLite %d, or they differ", len(pp), len(lp))
	}

	// Rebuild the day from raw rows: equal to what ingest wrote, in both.
	dayFrom, dayTo := day, day.Add(24*time.Hour)
	snapshot := func(db interface {
		RollupRange(context.Context, string, rollup.Tier, int64, int64, []string, bool) ([]*rollup.Row, error)
	}) string {
		var out []string
		for _, tier := range rollup.Tiers {
			rows, err := db.RollupRange(ctx, "ws", tier, dayFrom.Unix(), dayTo.Unix(), nil, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				errs, _ := r.ErrorCounts()
				out = append(out, fmt.Sprintf("%s/%d/%s s%d c%d f%d p%d cr%v tk%v e%v d%d/%v q%d/%v", r.Tier, r.Bucket, r.AgentID,
					r.Started, r.Completed, r.Failed, r.PeakMinute, r.Credits, r.Tokens, errs,
					r.Duration.Count, r.Duration.Sum, r.QueueWait.Count, r.QueueWait.Sum))
			}
		}
		sort.Strings(out)
		return fmt.Sprint(out)
	}
	before := snapshot(pg)
	if before != snapshot(lite) {
		t.Fatalf("rollups differ from SQLite's:\n got %s\nwant %s", before, snapshot(lite))
	}
	xs, us, err := pg.RawRange(ctx, "ws", dayFrom, dayTo)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := rollup.Recompute(xs, us, dayFrom, dayTo)
	if err != nil {
		t.Fatal(err)
	}
	// Spoil a row first: the replace must put it right.
	k := rollup.Key{WorkspaceID: "ws", Tier: rollup.Hour, Bucket: day.Add(3 * time.Hour).Unix(), AgentID: rollup.AllAgents}
	if err := pg.ReplaceRollups(ctx, "ws", day.Add(3*time.Hour), day.Add(4*time.Hour),
		map[rollup.Key]*rollup.Row{k: {Key: k, Started: 999}}); err != nil {
		t.Fatal(err)
	}
	if snapshot(pg) == before {
		t.Fatal("the spoilt row did not change the rollups")
	}
	if err := pg.ReplaceRollups(ctx, "ws", dayFrom, dayTo, rows); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(pg); after != before {
		t.Errorf("after ReplaceRollups with the recomputation:\n got %s\nwant %s", after, before)
	}
}

// fmtExec prints an execution with what its pointers point to.
func fmtExec(x *execution.Execution) string {
	if x == nil {
		return "nil"
	}
	c := *x
	var p, e string
	if c.Progress != nil {
		p = fmt.Sprint(*c.Progress)
	}
	if c.Error != nil {
		e = fmt.Sprintf("%+v", *c.Error)
	}
	c.Progress, c.Error = nil, nil
	return fmt.Sprintf("%+v progress=%s error=%s", c, p, e)
}
