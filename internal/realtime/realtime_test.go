package realtime

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func apply(s *State, evs ...*execution.Event) {
	xs := map[string]*execution.Execution{}
	var ups []execution.Update
	for _, ev := range evs {
		x := xs[ev.ExecutionID]
		if x == nil {
			x = &execution.Execution{}
			xs[ev.ExecutionID] = x
		}
		c := x.Apply(ev)
		ups = append(ups, execution.Update{Event: ev, Execution: *x, Change: c})
	}
	s.Observe(ups)
}

func ev(id, agent string, typ execution.Type, at time.Duration) *execution.Event {
	return &execution.Event{EventID: id + string(typ), ExecutionID: id, WorkspaceID: "ws", AgentID: agent, Type: typ, Timestamp: now.Add(at)}
}

func TestSnapshot(t *testing.T) {
	s := New(time.Hour, func() time.Time { return now })
	// 60 running, started one second apart; the oldest are listed first.
	for i := 0; i < 60; i++ {
		apply(s, ev(fmt.Sprintf("r%02d", i), "a", execution.Started, -time.Duration(60-i)*time.Second))
	}
	apply(s,
		ev("q1", "b", execution.Queued, -30*time.Second),
		ev("q2", "b", execution.Queued, -90*time.Second),
		ev("stale", "a", execution.Started, -2*time.Hour),
		ev("f1", "a", execution.Started, -10*time.Second), ev("f1", "a", execution.Failed, -5*time.Second),
		ev("f2", "b", execution.Started, -10*time.Second), ev("f2", "b", execution.TimedOut, -3*time.Second),
		ev("old", "b", execution.Started, -200*time.Second), ev("old", "b", execution.Completed, -100*time.Second),
		// A finish stamped in the future must not disturb the last minute.
		ev("fut", "a", execution.Started, -time.Second), ev("fut", "a", execution.Completed, 4*time.Minute),
	)
	got := s.Snapshot("ws", nil)
	if got.Running != 60 || got.Queued != 2 || got.Stale != 1 {
		t.Fatalf("running %d queued %d stale %d, want 60 2 1", got.Running, got.Queued, got.Stale)
	}
	if got.OldestQueuedAgeMs == nil || *got.OldestQueuedAgeMs != 90_000 {
		t.Fatalf("oldest queued %v, want 90000", got.OldestQueuedAgeMs)
	}
	if len(got.RunningExecutions) != MaxListed || got.RunningExecutions[0].ExecutionID != "r00" ||
		got.RunningExecutions[0].ElapsedMs != 60_000 || got.RunningExecutions[49].ExecutionID != "r49" {
		t.Fatalf("listed %d, first %+v, last %+v", len(got.RunningExecutions), got.RunningExecutions[0], got.RunningExecutions[len(got.RunningExecutions)-1])
	}
	// Started in the last minute: r01..r59 (r00 started exactly 60 s ago is out), f1, f2, fut.
	if got.StartedLastMinute != 62 || got.FinishedLastMinute != 2 || got.FailedLastMinute != 1 || got.TimedOutLastMinute != 1 {
		t.Fatalf("last minute: started %d finished %d failed %d timed out %d", got.StartedLastMinute, got.FinishedLastMinute, got.FailedLastMinute, got.TimedOutLastMinute)
	}
	b := s.Snapshot("ws", []string{"b"})
	if b.Running != 0 || b.Queued != 2 || b.FinishedLastMinute != 1 || b.TimedOutLastMinute != 1 || b.FailedLastMinute != 0 {
		t.Fatalf("agent b: %+v", b)
	}
	if other := s.Snapshot("other", nil); other.Running != 0 || other.RunningExecutions == nil {
		t.Fatalf("another workspace: %+v", other)
	}
	s.Forget(now.Add(-time.Hour))
	if got := s.Snapshot("ws", nil); got.Stale != 0 || got.Running != 60 {
		t.Fatalf("after Forget: %+v", got)
	}
}

func TestLoadMatchesObserve(t *testing.T) {
	observed := New(time.Hour, func() time.Time { return now })
	x := &execution.Execution{}
	for _, e := range []*execution.Event{ev("x", "a", execution.Queued, -20*time.Second), ev("x", "a", execution.Started, -10*time.Second)} {
		x.Apply(e)
	}
	y := &execution.Execution{}
	for _, e := range []*execution.Event{ev("y", "a", execution.Started, -10*time.Second), ev("y", "a", execution.Failed, -5*time.Second)} {
		y.Apply(e)
	}
	observed.Load([]*execution.Execution{x, y})
	got := observed.Snapshot("ws", nil)
	if got.Running != 1 || got.StartedLastMinute != 2 || got.FailedLastMinute != 1 {
		t.Fatalf("after Load: %+v", got)
	}
}

// TestOpenSetMatchesAMap: after any mix of puts, replacements and removes,
// the set holds what a map would, each at the position it records.
func TestOpenSetMatchesAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var set openSet
	want := map[string]string{}
	for range 20000 {
		id := fmt.Sprintf("x%d", rng.IntN(300))
		if rng.IntN(3) == 0 {
			set.remove(id)
			delete(want, id)
			continue
		}
		agent := fmt.Sprintf("a%d", rng.IntN(1000))
		set.put(openExec{id: id, agent: agent})
		want[id] = agent
	}
	if len(set.items) != len(want) || len(set.at) != len(want) {
		t.Fatalf("%d items, %d positions, want %d", len(set.items), len(set.at), len(want))
	}
	for i, o := range set.items {
		if want[o.id] != o.agent || set.at[o.id] != i {
			t.Fatalf("item %d: %+v (position %d), want agent %q", i, o, set.at[o.id], want[o.id])
		}
	}
}
