package ingest

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/rollup"
)

// memStore is a store in memory whose first commit waits for a gate, so a
// test can queue batches behind it and see them committed as one group.
type memStore struct {
	gate    chan struct{}
	mu      sync.Mutex
	commits int
	ids     map[string]bool
	calls   [][]string // event ids of each InsertEvents call
}

func (m *memStore) Write(_ context.Context, fn func(Tx) error) error {
	m.mu.Lock()
	m.commits++
	first := m.commits == 1
	m.mu.Unlock()
	if first {
		<-m.gate
	}
	return fn(memTx{m})
}

func (m *memStore) commitCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.commits
}

type memTx struct{ m *memStore }

func (t memTx) InsertEvents(evs []*execution.Event, _ time.Time) ([]bool, error) {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	out := make([]bool, len(evs))
	var call []string
	for i, ev := range evs {
		call = append(call, ev.EventID)
		if !t.m.ids[ev.EventID] {
			t.m.ids[ev.EventID] = true
			out[i] = true
		}
	}
	t.m.calls = append(t.m.calls, call)
	return out, nil
}

func (memTx) LoadExecutions(string, []string) (map[string]*execution.Execution, error) {
	return nil, nil
}
func (memTx) SaveExecutions([]*execution.Execution, time.Time) error { return nil }
func (memTx) LoadRollups([]rollup.Key) (map[rollup.Key]*rollup.Row, error) {
	return nil, nil
}
func (memTx) SaveRollups(map[rollup.Key]*rollup.Row) error { return nil }
func (memTx) TouchWorkspaces([]string, time.Time) error    { return nil }

// TestGroupSharesOneInsertAndCountsPerBatch queues two batches behind a
// commit, so the writer commits them together: their events are inserted in
// one call, in arrival order, and each batch is answered with its own
// counts, a repeat across the two counted as a duplicate of the later one.
func TestGroupSharesOneInsertAndCountsPerBatch(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ev := func(id string) *execution.Event {
		return &execution.Event{EventID: id, Type: execution.Queued, ExecutionID: "x-" + id,
			WorkspaceID: "ws", AgentID: "a", Timestamp: now}
	}
	m := &memStore{gate: make(chan struct{}), ids: map[string]bool{}}
	s := New(m, Options{Now: func() time.Time { return now }})
	defer s.Close()

	results := make([]Result, 3)
	var wg sync.WaitGroup
	ingest := func(i int, evs ...*execution.Event) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Ingest(context.Background(), evs)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	waitQueued := func(n int) {
		for deadline := time.Now().Add(5 * time.Second); len(s.reqs) != n; {
			if time.Now().After(deadline) {
				t.Fatalf("%d batches queued, want %d", len(s.reqs), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	ingest(0, ev("e0"))
	// The first commit has begun and waits at the gate.
	for m.commitCount() == 0 {
		time.Sleep(time.Millisecond)
	}
	ingest(1, ev("e1"), ev("e2"))
	waitQueued(1)
	ingest(2, ev("e2"), ev("e3"), ev("e1"), ev("e3"))
	waitQueued(2)
	close(m.gate)
	wg.Wait()

	want := []Result{{Accepted: 1}, {Accepted: 2}, {Accepted: 1, Duplicates: 3}}
	for i := range want {
		if results[i] != want[i] {
			t.Errorf("batch %d: %+v, want %+v", i, results[i], want[i])
		}
	}
	wantCalls := [][]string{{"e0"}, {"e1", "e2", "e2", "e3", "e1", "e3"}}
	if !slices.EqualFunc(m.calls, wantCalls, slices.Equal) {
		t.Fatalf("InsertEvents calls %v, want %v", m.calls, wantCalls)
	}
}

// execStore keeps executions, counts the ids read back, and fails the
// commit while fail is set (after its function ran, as a failed COMMIT).
type execStore struct {
	mu    sync.Mutex
	execs map[string]execution.Execution
	asked []string
	fail  bool
}

func (m *execStore) Write(_ context.Context, fn func(Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &execTx{m: m, saved: map[string]execution.Execution{}}
	if err := fn(tx); err != nil {
		return err
	}
	if m.fail {
		return context.DeadlineExceeded
	}
	maps.Copy(m.execs, tx.saved)
	return nil
}

type execTx struct {
	memTx
	m     *execStore
	saved map[string]execution.Execution
}

func (t *execTx) InsertEvents(evs []*execution.Event, _ time.Time) ([]bool, error) {
	out := make([]bool, len(evs))
	for i := range out {
		out[i] = true
	}
	return out, nil
}

func (t *execTx) LoadExecutions(_ string, ids []string) (map[string]*execution.Execution, error) {
	t.m.asked = append(t.m.asked, ids...)
	out := map[string]*execution.Execution{}
	for _, id := range ids {
		if x, ok := t.m.execs[id]; ok {
			out[id] = &x
		}
	}
	return out, nil
}

func (t *execTx) SaveExecutions(xs []*execution.Execution, _ time.Time) error {
	for _, x := range xs {
		t.saved[x.ExecutionID] = *x
	}
	return nil
}

// TestRecentExecutionsAreNotReadBack sends an execution's events in
// separate batches: the writer takes what it committed from memory, for a
// minute, and never what a failed commit left.
func TestRecentExecutionsAreNotReadBack(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	var started []string
	m := &execStore{execs: map[string]execution.Execution{}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(m, Options{Now: func() time.Time { return now }, Logger: quiet, Observe: func(us []execution.Update) {
		for _, u := range us {
			if u.Change.Started {
				started = append(started, u.Execution.ExecutionID)
			}
		}
	}})
	defer s.Close()
	send := func(typ execution.Type, id string, at time.Time) error {
		_, err := s.Ingest(context.Background(), []*execution.Event{{EventID: id + string(typ), Type: typ,
			ExecutionID: id, WorkspaceID: "ws", AgentID: "a", Timestamp: at}})
		return err
	}
	asked := func(want ...string) {
		t.Helper()
		if !slices.Equal(m.asked, want) {
			t.Fatalf("read back %v, want %v", m.asked, want)
		}
		m.asked = nil
	}

	if err := send(execution.Queued, "x1", t0); err != nil {
		t.Fatal(err)
	}
	asked("x1") // unknown: looked for in the store
	now = t0.Add(10 * time.Second)
	if err := send(execution.Started, "x1", now); err != nil {
		t.Fatal(err)
	}
	asked() // committed 10 s ago: from memory
	if x := m.execs["x1"]; x.Status != execution.StatusRunning || !x.QueuedAt.Equal(t0) || !x.StartedAt.Equal(now) {
		t.Fatalf("x1 = %+v, want running, queued at %v, started at %v", x, t0, now)
	}

	// A failed commit changes nothing: the retry starts x2 once more.
	if err := send(execution.Queued, "x2", now); err != nil {
		t.Fatal(err)
	}
	m.fail = true
	if err := send(execution.Started, "x2", now); err == nil {
		t.Fatal("the commit failed, yet the batch was acknowledged")
	}
	m.fail = false
	if err := send(execution.Started, "x2", now); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(started, []string{"x1", "x2"}) {
		t.Fatalf("starts observed: %v, want x1 then x2 once", started)
	}
	asked("x2")

	// Past a minute, what memory holds is not trusted.
	now = now.Add(recentFor)
	if err := send(execution.Completed, "x1", now); err != nil {
		t.Fatal(err)
	}
	asked("x1")
	if x := m.execs["x1"]; x.Status != execution.StatusCompleted || !x.QueuedAt.Equal(t0) {
		t.Fatalf("x1 = %+v, want completed, queued at %v", x, t0)
	}
}
