package ingest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

func TestLimiter(t *testing.T) {
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := NewLimiter(1000, 20_000, func() time.Time { return clock })
	if ok, _ := l.Allow(map[string]int{"a": 20_000}); !ok {
		t.Fatal("a full burst was refused")
	}
	ok, wait := l.Allow(map[string]int{"a": 500})
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the rate: ok=%v wait=%v, want refused for 500ms", ok, wait)
	}
	// Another workspace is not slowed, and a mixed batch is all or nothing.
	if ok, _ := l.Allow(map[string]int{"b": 10_000}); !ok {
		t.Fatal("workspace b was refused because of a")
	}
	if ok, _ := l.Allow(map[string]int{"b": 100, "a": 100}); ok {
		t.Fatal("a mixed batch passed while a is over its rate")
	}
	if ok, _ := l.Allow(map[string]int{"b": 10_000}); !ok {
		t.Fatal("b's tokens were taken by the refused mixed batch")
	}
	clock = clock.Add(time.Second)
	if ok, _ := l.Allow(map[string]int{"a": 1000}); !ok {
		t.Fatal("a second later the rate's worth was refused")
	}
	var none *Limiter
	if ok, _ := none.Allow(map[string]int{"a": 1 << 30}); !ok {
		t.Fatal("no limiter refused")
	}
	if ok, _ := NewLimiter(0, 0, nil).Allow(map[string]int{"a": 1 << 30}); !ok {
		t.Fatal("rate 0 refused")
	}
}

// TestQueueBound refuses a batch when too many events wait for the writer.
func TestQueueBound(t *testing.T) {
	block := make(chan struct{})
	s := New(blockingStore{block}, Options{MaxQueuedEvents: 3})
	defer func() { close(block); s.Close() }()
	first := make(chan error, 1)
	go func() { _, err := s.Ingest(t.Context(), evs(2)); first <- err }()
	for !s.queue.full("", 2) { // the first batch is with the writer now
		time.Sleep(time.Millisecond)
	}
	if _, err := s.Ingest(t.Context(), evs(2)); err != ErrOverloaded {
		t.Fatalf("over the bound: %v, want overloaded", err)
	}
}

// blockingStore holds every write until its channel closes, then fails it.
type blockingStore struct{ release chan struct{} }

func (b blockingStore) Write(ctx context.Context, fn func(Tx) error) error {
	<-b.release
	return errors.New("closed")
}

func evs(n int) []*execution.Event {
	out := make([]*execution.Event, n)
	for i := range out {
		out[i] = &execution.Event{EventID: fmt.Sprint(i), Type: execution.Started, ExecutionID: "x", WorkspaceID: "w", AgentID: "a", Timestamp: now}
	}
	return out
}
