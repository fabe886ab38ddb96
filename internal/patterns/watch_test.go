package patterns

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/rollup"
)

// rowsSource serves minute and hour rows of one agent finishing n runs a
// minute, and keeps what the watcher saves.
type rowsSource struct {
	n     int64
	mu    sync.Mutex
	saved []Record
}

func (s *rowsSource) RollupRange(_ context.Context, ws string, tier rollup.Tier, from, to int64, _ []string, _ bool) ([]*rollup.Row, error) {
	var out []*rollup.Row
	for b := from; b < to; b += tier.Seconds() {
		for _, agent := range []string{rollup.AllAgents, "a"} {
			r := &rollup.Row{Key: rollup.Key{WorkspaceID: ws, Tier: tier, AgentID: agent, Bucket: b}}
			for range s.n * tier.Seconds() / 60 {
				r.AddFinish(execution.StatusCompleted, "")
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *rowsSource) Workspaces(context.Context) ([]string, error) { return []string{"w"}, nil }

func (s *rowsSource) SaveFindings(_ context.Context, rs []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saved = append(s.saved, rs...)
	return nil
}

// TestWatcherStatusWhileJudging reads the status while the watcher works
// (the race detector checks they share nothing unguarded), and checks what
// it says afterwards.
func TestWatcherStatusWhileJudging(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 30, 0, time.UTC)
	src := &rowsSource{n: 10}
	w := NewWatcher(src, func() time.Time { return now }, Announce{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan error)
	go func() { done <- w.Step(context.Background()) }()
	for {
		w.Status("w")
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			st := w.Status("w")
			if !st.Running || !st.EvaluatedThrough.Equal(now.Add(-Grace).Truncate(time.Minute)) || st.Baseline != BaselineSeasonal || st.HistoryHours < 24*27 {
				t.Fatalf("status = %+v, want running through 11:59 on a seasonal baseline of four weeks", st)
			}
			if len(src.saved) != 0 {
				t.Fatalf("a steady series gave findings: %+v", src.saved)
			}
			return
		default:
		}
	}
}
