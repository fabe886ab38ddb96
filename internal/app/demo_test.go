package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/patterns"
	"github.com/shadower/shadower/internal/resources"
	"github.com/shadower/shadower/internal/sim"
)

// TestDemoPatternsFound runs the demo's week of history and checks what the
// detector makes of it: globex's daily burst, and sql-analyst degrading.
func TestDemoPatternsFound(t *testing.T) {
	if onPostgres {
		t.Skip("detection does not depend on the store; the embedded run covers it")
	}
	var clk clock
	present := time.Date(2026, 3, 4, 18, 0, 0, 0, time.UTC) // a Wednesday, three hours after the burst
	clk.set(present)
	s := startAt(t, t.TempDir(), &clk)
	defer stop(t, s)
	ctx := context.Background()

	platform := sim.NewPlatform(1)
	var beats []*resources.Heartbeat
	platform.OnBeat(5*time.Minute, func(bs []sim.Beat) error {
		for _, b := range bs {
			capacity, busy, every, at := int64(b.Slots), int64(b.Busy), int64(b.Every/time.Second), b.At
			beats = append(beats, &resources.Heartbeat{WorkspaceID: b.Workspace, WorkerID: b.Worker, CapacitySlots: &capacity,
				BusySlots: &busy, IntervalSeconds: &every, Timestamp: &at})
		}
		return nil
	})
	err := platform.History(present.Add(-DemoHistory), present, 5000, func(evs []execution.Event) error {
		batch := make([]*execution.Event, len(evs))
		for i := range evs {
			batch[i] = &evs[i]
		}
		_, err := s.ingest.Ingest(ctx, batch)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.RecordHeartbeats(ctx, beats); err != nil {
		t.Fatal(err)
	}
	if err := s.watcher.Step(ctx); err != nil {
		t.Fatal(err)
	}

	burst := present.Truncate(24 * time.Hour).Add(sim.BurstAt)
	found, err := s.db.Findings(ctx, sim.BurstWorkspace, burst.Add(-time.Hour), burst.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var gotBurst bool
	for _, f := range found {
		if f.Metric == "throughput" && f.Direction == "up" && f.AgentID == nil &&
			!f.Start.Before(burst) && f.Start.Before(burst.Add(5*time.Minute)) && len(f.Contributors) > 0 {
			gotBurst = true
			t.Logf("burst: %s", f.Explanation)
		}
	}
	if !gotBurst {
		t.Errorf("no workspace throughput burst found at %v in %s: %+v", burst, sim.BurstWorkspace, found)
	}

	found, err = s.db.Findings(ctx, "initech", present.Add(-24*time.Hour), present)
	if err != nil {
		t.Fatal(err)
	}
	var degrading bool
	for _, f := range found {
		if f.AgentID != nil && *f.AgentID == "sql-analyst" && f.Metric == string(patterns.DurationP95) && f.Direction == "up" {
			degrading = true
			t.Logf("degrading: %s", f.Explanation)
		}
	}
	if !degrading {
		var got []string
		for _, f := range found {
			got = append(got, f.Explanation)
		}
		t.Errorf("sql-analyst's growing run time not found; initech's findings:\n%s", strings.Join(got, "\n"))
	}
}
