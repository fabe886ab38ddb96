// Package rolluptest checks stored rollups against a recomputation from the
// raw rows they came from.
package rolluptest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/rollup"
)

// Store is what both stores offer to check rollups against raw rows.
type Store interface {
	RawRange(ctx context.Context, ws string, from, to time.Time) (map[string]*execution.Execution, []execution.Event, error)
	RollupRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, agents []string, sketches bool) ([]*rollup.Row, error)
}

// MatchRaw recomputes the rollups of the whole days [from, to) from ws's
// raw rows and compares them row by row, every tier, with those stored. It
// returns how many executions the raw rows hold.
func MatchRaw(t testing.TB, db Store, ws string, from, to time.Time) int {
	t.Helper()
	ctx := context.Background()
	xs, usage, err := db.RawRange(ctx, ws, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want, err := rollup.Recompute(xs, usage, from, to)
	if err != nil {
		t.Fatal(err)
	}
	got := map[rollup.Key]*rollup.Row{}
	for _, tier := range rollup.Tiers {
		rows, err := db.RollupRange(ctx, ws, tier, from.Unix(), to.Unix(), nil, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			got[r.Key] = r
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d rollup rows stored, recomputation from raw rows gives %d", ws, len(got), len(want))
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }
	for k, w := range want {
		g := got[k]
		if g == nil {
			t.Fatalf("%s: no stored row %+v", ws, k)
		}
		ge, err := g.ErrorCounts()
		if err != nil {
			t.Fatal(err)
		}
		we, _ := w.ErrorCounts()
		if g.Started != w.Started || g.Completed != w.Completed || g.Failed != w.Failed || g.TimedOut != w.TimedOut ||
			g.Cancelled != w.Cancelled || g.PeakMinute != w.PeakMinute ||
			g.Duration.Count != w.Duration.Count || g.QueueWait.Count != w.QueueWait.Count ||
			g.Duration.Min != w.Duration.Min || g.Duration.Max != w.Duration.Max ||
			g.QueueWait.Min != w.QueueWait.Min || g.QueueWait.Max != w.QueueWait.Max ||
			!near(g.Duration.Sum, w.Duration.Sum) || !near(g.QueueWait.Sum, w.QueueWait.Sum) ||
			!near(g.Credits, w.Credits) || !near(g.Tokens, w.Tokens) || len(ge) != len(we) {
			t.Fatalf("%s %+v:\n stored     %+v\n recomputed %+v", ws, k, g, w)
		}
		for typ, n := range we {
			if ge[typ] != n {
				t.Fatalf("%s %+v: %d errors of type %s stored, %d recomputed", ws, k, ge[typ], typ, n)
			}
		}
		for _, q := range []float64{0.5, 0.9, 0.99} {
			for _, st := range [][2]*rollup.Stat{{&g.Duration, &w.Duration}, {&g.QueueWait, &w.QueueWait}} {
				gq, _, err := st[0].Quantile(q)
				if err != nil {
					t.Fatal(err)
				}
				wq, _, _ := st[1].Quantile(q)
				if gq != wq {
					t.Fatalf("%s %+v: p%v %v stored, %v recomputed", ws, k, q*100, gq, wq)
				}
			}
		}
	}
	return len(xs)
}
