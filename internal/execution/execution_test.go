package execution

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ev(typ Type, at time.Duration) *Event {
	return &Event{EventID: fmt.Sprintf("%s-%d", typ, at), Type: typ, ExecutionID: "x1", WorkspaceID: "ws", AgentID: "a", Timestamp: t0.Add(at)}
}

// permutations calls f with every order of evs.
func permutations(evs []*Event, f func([]*Event)) {
	var rec func(int)
	rec = func(k int) {
		if k == len(evs) {
			f(append([]*Event(nil), evs...))
			return
		}
		for i := k; i < len(evs); i++ {
			evs[k], evs[i] = evs[i], evs[k]
			rec(k + 1)
			evs[k], evs[i] = evs[i], evs[k]
		}
	}
	rec(0)
}

// TestApplyEveryOrder folds every arrival order of an execution's events and
// checks what the rollups rely on: one start, one finish, the duration and
// queue wait exactly once with the right value, the first terminal to
// arrive deciding the status, and every later terminal a conflict.
func TestApplyEveryOrder(t *testing.T) {
	cases := []struct {
		name      string
		events    []*Event
		duration  time.Duration // 0: none expected
		queueWait time.Duration
	}{
		{"full life", []*Event{ev(Queued, 0), ev(Started, 2*time.Second), ev(Progress, 5*time.Second), ev(Completed, 9*time.Second)}, 7 * time.Second, 2 * time.Second},
		{"two terminals", []*Event{ev(Queued, 0), ev(Started, time.Second), ev(Failed, 4*time.Second), ev(Cancelled, 6*time.Second)}, 0, time.Second},
		{"no queued", []*Event{ev(Started, 0), ev(TimedOut, 30*time.Second)}, 30 * time.Second, 0},
		{"no started", []*Event{ev(Queued, 0), ev(Cancelled, time.Second)}, 0, 0},
		{"three terminals", []*Event{ev(Started, 0), ev(Completed, time.Second), ev(Failed, 2*time.Second), ev(TimedOut, 3*time.Second)}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			orders := 0
			permutations(tc.events, func(order []*Event) {
				orders++
				var x Execution
				var starts, finishes, conflicts, durations, waits int
				var firstTerminal *Event
				var gotDur, gotWait time.Duration
				terminals := 0
				for _, e := range order {
					if e.Type.Terminal() {
						terminals++
						if firstTerminal == nil {
							firstTerminal = e
						}
					}
					c := x.Apply(e)
					if c.Started {
						starts++
					}
					if c.Finished {
						finishes++
					}
					if c.Conflict {
						conflicts++
					}
					if c.HasDuration {
						durations++
						gotDur = c.Duration
					}
					if c.HasQueueWait {
						waits++
						gotWait = c.QueueWait
					}
				}
				desc := fmt.Sprint(types(order))
				if finishes != 1 || conflicts != terminals-1 {
					t.Fatalf("%s: finishes=%d conflicts=%d, want 1 and %d", desc, finishes, conflicts, terminals-1)
				}
				if x.Status != Status(firstTerminal.Type) || !x.FinishedAt.Equal(firstTerminal.Timestamp) {
					t.Fatalf("%s: status %s at %v, want %s (first terminal to arrive)", desc, x.Status, x.FinishedAt, firstTerminal.Type)
				}
				hasStart := 0
				for _, e := range order {
					if e.Type == Started {
						hasStart = 1
					}
				}
				if starts != hasStart {
					t.Fatalf("%s: %d starts, want %d", desc, starts, hasStart)
				}
				// The duration is defined by the winning terminal event.
				wantDur := time.Duration(0)
				if hasStart == 1 {
					wantDur = firstTerminal.Timestamp.Sub(x.StartedAt)
				}
				if (wantDur > 0) != (durations == 1) || durations > 1 || gotDur != wantDur {
					t.Fatalf("%s: %d durations of %v, want %v", desc, durations, gotDur, wantDur)
				}
				if tc.duration > 0 && gotDur != tc.duration {
					t.Fatalf("%s: duration %v, want %v", desc, gotDur, tc.duration)
				}
				if (tc.queueWait > 0) != (waits == 1) || waits > 1 || gotWait != tc.queueWait {
					t.Fatalf("%s: %d queue waits of %v, want %v", desc, waits, gotWait, tc.queueWait)
				}
			})
			if orders < 2 {
				t.Fatal("no permutations ran")
			}
		})
	}
}

func types(evs []*Event) []Type {
	out := make([]Type, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

func TestStatusBeforeFinish(t *testing.T) {
	var x Execution
	x.Apply(ev(Queued, 0))
	if x.Status != StatusQueued {
		t.Fatalf("after queued: %s", x.Status)
	}
	pe := ev(Progress, time.Second)
	pe.Progress = new(float64)
	x.Apply(pe)
	if x.Status != StatusRunning {
		t.Fatalf("after progress: %s", x.Status)
	}
	var y Execution
	y.Apply(ev(Started, 0))
	if y.Status != StatusRunning {
		t.Fatalf("after started: %s", y.Status)
	}
}

func TestNegativeDurationNotReported(t *testing.T) {
	var x Execution
	x.Apply(ev(Completed, 0))
	if c := x.Apply(ev(Started, time.Second)); c.HasDuration || !c.Started {
		t.Fatalf("started after finish: %+v", c)
	}
}

func TestLatestProgressWins(t *testing.T) {
	var x Execution
	p := func(v float64, at time.Duration) *Event { e := ev(Progress, at); e.Progress = &v; return e }
	x.Apply(p(60, 10*time.Second))
	x.Apply(p(30, 5*time.Second)) // late, older
	if *x.Progress != 60 {
		t.Fatalf("progress %v, want 60", *x.Progress)
	}
}
