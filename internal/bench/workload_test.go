package bench

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
)

// TestEventsDecode cuts the stream at arbitrary points and checks every
// piece is a valid batch holding exactly its events, as the server decodes it.
func TestEventsDecode(t *testing.T) {
	end := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	w := Workload{Seed: 1, Workspaces: 3, Agents: 10, Span: 90 * 24 * time.Hour, End: end, Sizes: []int{1000, 3000}}
	seen := map[string]bool{}
	for _, cut := range [][2]int{{0, 1000}, {1000, 2000}, {2000, 2001}, {2001, 3000}} {
		body := w.Events(cut[0], cut[1])
		evs, err := ingest.Decode(strings.NewReader(string(body)), false, false, end)
		if err != nil {
			t.Fatalf("events %v: %v", cut, err)
		}
		if len(evs) != cut[1]-cut[0] {
			t.Fatalf("events %v: decoded %d", cut, len(evs))
		}
		for _, e := range evs {
			if seen[e.EventID] {
				t.Fatalf("event %s twice", e.EventID)
			}
			seen[e.EventID] = true
		}
	}
	// Execution 5 decodes to what At says.
	var raw []map[string]any
	json.Unmarshal(w.Events(15, 18), &raw)
	x := w.At(5)
	if raw[0]["type"] != "queued" || raw[2]["type"] != x.Status || raw[1]["execution_id"] != x.ID {
		t.Fatalf("execution 5 = %v, want %+v", raw, x)
	}
	// The times are those the events carry, to the millisecond.
	for _, ev := range raw {
		ts, _ := time.Parse(time.RFC3339Nano, ev["timestamp"].(string))
		if want := map[any]time.Time{"queued": x.Queued, "started": x.Started, x.Status: x.Finished}[ev["type"]]; !ts.Equal(want) {
			t.Fatalf("execution 5's %s event at %v, At says %v", ev["type"], ts, want)
		}
	}
	if x.Duration() <= 0 || x.Started.Before(x.Queued) || x.Finished.After(end) || x.Finished.Before(end.Add(-w.Span)) {
		t.Fatalf("execution 5 times %+v", x)
	}
	if x.Status != string(execution.StatusCompleted) && x.Status != "failed" && x.Status != "timed_out" && x.Status != "cancelled" {
		t.Fatalf("status %q", x.Status)
	}
}

// TestLiveBatches checks the live stream holds every event of its
// executions exactly once, each execution's in three consecutive batches in
// the order queued, started, terminal.
func TestLiveBatches(t *testing.T) {
	end := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	w := Workload{Seed: 1, Workspaces: 3, Agents: 10, Span: 10 * time.Minute, End: end, Sizes: []int{100, 1100}}
	const from, to, wave = 100, 1100, 300 // the last wave is short
	batchOf := map[string]int{}
	total := 0
	for j := range (to-from+wave-1)/wave + 2 {
		body, n := w.LiveBatch(from, to, wave, j)
		evs, err := ingest.Decode(strings.NewReader(string(body)), false, false, end)
		if err != nil {
			t.Fatalf("batch %d: %v", j, err)
		}
		if len(evs) != n || n == 0 {
			t.Fatalf("batch %d: %d events decoded, %d said", j, len(evs), n)
		}
		total += n
		for _, e := range evs {
			if _, ok := batchOf[e.EventID]; ok {
				t.Fatalf("event %s twice", e.EventID)
			}
			batchOf[e.EventID] = j
		}
	}
	if total != 3*(to-from) {
		t.Fatalf("%d events, want %d", total, 3*(to-from))
	}
	for i := from; i < to; i++ {
		id := w.At(i).ID
		q, s, f := batchOf[id+"-q"], batchOf[id+"-s"], batchOf[id+"-f"]
		if s != q+1 || f != q+2 {
			t.Fatalf("execution %d in batches %d, %d, %d", i, q, s, f)
		}
	}
}

// TestRandomIDs checks the random ids are UUIDs of version 4, the same
// every run and unique.
func TestRandomIDs(t *testing.T) {
	w := Workload{Seed: 1, Workspaces: 3, Agents: 10, Span: time.Hour, End: time.Unix(1e9, 0), Sizes: []int{10_000}, RandomIDs: true}
	form := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := range 10_000 {
		id := w.At(i).ID
		if !form.MatchString(id) {
			t.Fatalf("execution %d: id %q is not a UUIDv4", i, id)
		}
		if seen[id] {
			t.Fatalf("execution %d: id %q made twice", i, id)
		}
		seen[id] = true
		if again := w.At(i).ID; again != id {
			t.Fatalf("execution %d: id %q, then %q", i, id, again)
		}
	}
}
