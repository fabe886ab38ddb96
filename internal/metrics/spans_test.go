package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/resources"
	"github.com/shadower/shadower/internal/rollup"
)

// rowStore is an in-memory rollup store that counts its reads holding a
// whole chunk the cache could keep: an hour of minutes or a day of hours
// or days, ended before now.
type rowStore struct {
	mu       sync.Mutex
	rows     map[rollup.Key]*rollup.Row
	now      time.Time
	dayReads int
	onRead   func() // called during every such read, when set
}

// noWorkers is a workspace without workers.
type noWorkers struct{}

func (noWorkers) Workers(context.Context, string, time.Time) ([]resources.Worker, error) {
	return nil, nil
}

func (s *rowStore) RollupRange(_ context.Context, ws string, tier rollup.Tier, from, to int64, agents []string, sketches bool) ([]*rollup.Row, error) {
	s.mu.Lock()
	var out []*rollup.Row
	for k, r := range s.rows {
		if k.WorkspaceID == ws && k.Tier == tier && k.Bucket >= from && k.Bucket < to &&
			(len(agents) == 0 || slices.Contains(agents, k.AgentID)) {
			c := r.Clone()
			if !sketches {
				c.Duration.SetEncoded(nil)
				c.QueueWait.SetEncoded(nil)
				c.Errors = nil
			}
			out = append(out, c)
		}
	}
	width := chunk(tier)
	ended := ceilDiv(from, width)*width+width <= min(to, tier.Bucket(s.now))
	if ended {
		s.dayReads++
	}
	hook := s.onRead
	s.mu.Unlock()
	if hook != nil && ended {
		hook()
	}
	return out, nil
}

// finish stores one execution of agent finishing at at, as ingest would.
func (s *rowStore) finish(t *testing.T, ws, agent string, at time.Time, ms float64, st execution.Status) execution.Update {
	t.Helper()
	started := at.Add(-time.Duration(ms * float64(time.Millisecond)))
	d := rollup.NewDelta()
	d.Start(ws, agent, started)
	d.QueueWait(ws, agent, started, ms/10)
	errType := ""
	if st == execution.StatusFailed {
		errType = "tool_error"
	}
	d.Finish(ws, agent, at, st, errType)
	d.Duration(ws, agent, at, ms)
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := d.Apply(s.rows)
	if err != nil {
		t.Fatal(err)
	}
	for k, r := range out {
		s.rows[k] = r
	}
	return execution.Update{Execution: execution.Execution{WorkspaceID: ws, AgentID: agent,
		SeenAt: started, StartedAt: started, FinishedAt: at, Status: st}}
}

func (s *rowStore) reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dayReads
}

// answers is every section that reads rollups over ended days, as JSON.
func answers(t *testing.T, e *Engine, ws, query string) string {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ParseWindow(q, e.now())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out []any
	for _, f := range []func() (any, error){
		func() (any, error) { return e.Latency(ctx, ws, w) },
		func() (any, error) { return e.Performance(ctx, ws, w) },
		func() (any, error) { return e.Comparison(ctx, ws, w) },
		func() (any, error) { return e.Throughput(ctx, ws, w) },
		func() (any, error) { return e.Forecast(ctx, ws, w.Agents) },
	} {
		v, err := f()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// differ says where two answers part, briefly.
func differ(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(i-150, 0)
	return fmt.Sprintf("at byte %d:\n got …%s\nwant …%s", i, got[lo:min(i+150, len(got))], want[lo:min(i+150, len(want))])
}

func TestSpanCacheAnswersAsTheStoreDoes(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 34, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := &rowStore{rows: map[rollup.Key]*rollup.Row{}, now: now}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 4000 {
		at := now.Add(-time.Duration(rng.Int64N(int64(95 * 24 * time.Hour))))
		st := execution.StatusCompleted
		if i%7 == 0 {
			st = execution.StatusFailed
		}
		store.finish(t, "ws-a", []string{"a1", "a2", "a3"}[i%3], at, 50+rng.ExpFloat64()*2000, st)
		store.finish(t, "ws-b", "b1", at, 100, st)
	}
	plain := NewEngine(Sources{Rollups: store, Workers: noWorkers{}}, clock)
	spans := NewSpanCache(clock)
	cached := NewEngine(Sources{Rollups: store, Workers: noWorkers{}, Spans: spans}, clock)

	for _, tf := range []string{"timeframe=1h", "timeframe=6h", "timeframe=24h", "timeframe=7d", "timeframe=30d", "timeframe=90d",
		"timeframe=30d&agent_id=a1&agent_id=a3", "from=2026-01-02T05:00:00Z&to=2026-02-20T13:17:00Z&step=3600"} {
		want := answers(t, plain, "ws-a", tf)
		if got := answers(t, cached, "ws-a", tf); got != want {
			t.Fatalf("%s, first read through the cache %s", tf, differ(got, want))
		}
		before := store.reads()
		if got := answers(t, cached, "ws-a", tf); got != want {
			t.Fatalf("%s, from the cache %s", tf, differ(got, want))
		}
		if store.reads() != before {
			t.Errorf("%s: a second ask read %d day spans again; want none", tf, store.reads()-before)
		}
	}

	// Live traffic lands in the current day: nothing kept is dropped, and
	// the answers include it.
	u := store.finish(t, "ws-a", "a1", now.Add(-time.Minute), 123, execution.StatusCompleted)
	spans.Forget([]execution.Update{u})
	before := store.reads()
	if got, want := answers(t, cached, "ws-a", "timeframe=30d"), answers(t, plain, "ws-a", "timeframe=30d"); got != want {
		t.Fatalf("after a live event %s", differ(got, want))
	}
	plainReads := store.reads() - before
	before = store.reads()
	answers(t, plain, "ws-a", "timeframe=30d")
	if n := store.reads() - before; n != plainReads {
		t.Errorf("after a live event, the cached engine read ended days %d times; want none", plainReads-n)
	}

	// A late event for a day that has ended is in the next answer; the
	// other workspace's spans are kept.
	bBefore := answers(t, cached, "ws-b", "timeframe=30d")
	u = store.finish(t, "ws-a", "a2", now.Add(-10*24*time.Hour), 99_999, execution.StatusFailed)
	spans.Forget([]execution.Update{u})
	for _, tf := range []string{"timeframe=24h", "timeframe=30d", "timeframe=90d", "timeframe=30d&agent_id=a2"} {
		if got, want := answers(t, cached, "ws-a", tf), answers(t, plain, "ws-a", tf); got != want {
			t.Fatalf("%s after a late event %s", tf, differ(got, want))
		}
	}
	before = store.reads()
	if got := answers(t, cached, "ws-b", "timeframe=30d"); got != bBefore {
		t.Fatalf("ws-b changed after ws-a's late event %s", differ(got, bBefore))
	}
	if n := store.reads() - before; n != 0 {
		t.Errorf("ws-b's spans were read %d times after ws-a's late event; want 0", n)
	}
}

func TestSpanCacheDoesNotKeepAMergeACommitOverlapped(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := &rowStore{rows: map[rollup.Key]*rollup.Row{}, now: now}
	for d := range 40 {
		store.finish(t, "ws", "a", now.Add(-time.Duration(d)*24*time.Hour), 100, execution.StatusCompleted)
	}
	spans := NewSpanCache(clock)
	cached := NewEngine(Sources{Rollups: store, Spans: spans}, clock)
	plain := NewEngine(Sources{Rollups: store}, clock)

	// A late event commits while the span is being read: the merge read
	// before it must not be kept.
	var late execution.Update
	store.onRead = func() {
		store.onRead = nil
		late = store.finish(t, "ws", "a", now.Add(-5*24*time.Hour), 5000, execution.StatusCompleted)
		spans.Forget([]execution.Update{late})
	}
	w, err := ParseWindow(url.Values{"timeframe": {"30d"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cached.Latency(context.Background(), "ws", w); err != nil {
		t.Fatal(err)
	}
	got, err := cached.Latency(context.Background(), "ws", w)
	if err != nil {
		t.Fatal(err)
	}
	want, err := plain.Latency(context.Background(), "ws", w)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != want.Count || *got.MaxMs != *want.MaxMs {
		t.Fatalf("after a commit during the read: count %d max %v; want %d %v", got.Count, *got.MaxMs, want.Count, *want.MaxMs)
	}
}

func TestSpanCacheBounded(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	spans := NewSpanCache(func() time.Time { return now })
	spans.max = 100_000
	row := func(i int) []*rollup.Row {
		r := &rollup.Row{Key: rollup.Key{WorkspaceID: "ws", Tier: rollup.Day, AgentID: "a"}}
		for v := range 1000 {
			r.Duration.Add(float64(v*i + 1))
		}
		return []*rollup.Row{r}
	}
	var kept []spanKey
	for i := range 200 {
		k := spanKey{ws: "ws", tier: rollup.Day, from: int64(i) * 86400, to: int64(i+1) * 86400}
		rows := row(i + 1)
		b, _ := rows[0].Duration.Encoded()
		spans.keep(k, spans.epoch, rows, rowSize+len(b))
		kept = append(kept, k)
	}
	total := 0
	for _, el := range spans.entries {
		total += el.Value.(*spanEntry).size
	}
	if total != spans.bytes || spans.bytes > spans.max || spans.order.Len() != len(spans.entries) {
		t.Fatalf("%d bytes counted, %d summed, max %d; %d entries, %d in order", spans.bytes, total, spans.max, len(spans.entries), spans.order.Len())
	}
	// The newest stay, the oldest went.
	if _, ok := spans.entries[kept[len(kept)-1]]; !ok {
		t.Fatal("the newest entry was dropped")
	}
	if _, ok := spans.entries[kept[0]]; ok {
		t.Fatal("the oldest entry was kept")
	}
}
