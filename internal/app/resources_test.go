package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/auth"
	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/metrics"
)

func beat(ws, worker string, at time.Time, capacity, busy int, extra string) string {
	return fmt.Sprintf(`{"workspace_id":%q,"worker_id":%q,"timestamp":%q,"capacity_slots":%d,"busy_slots":%d%s}`,
		ws, worker, at.Format(time.RFC3339), capacity, busy, extra)
}

func TestHeartbeats(t *testing.T) {
	s := start(t, t.TempDir())
	defer stop(t, s)
	c := client{t: t, base: "http://" + s.Addr()}
	ingest := auth.Secret(createKey(t, c, operator, "alpha", "ingest").Key)
	betaIngest := auth.Secret(createKey(t, c, operator, "beta", "ingest").Key)

	var res struct{ Accepted int }
	body := "[" + beat("alpha", "w-1", now, 4, 1, "") + "," + beat("alpha", "w-2", now, 2, 2, "") + "]"
	if code := c.do("POST", "/api/v1/workers/heartbeat", ingest, []byte(body), &res); code != 200 || res.Accepted != 2 {
		t.Fatalf("heartbeats: %d accepted %d, want 200 and 2", code, res.Accepted)
	}

	var bad struct {
		Error struct {
			Code    string
			Where   string
			Details []execution.Detail
		}
	}
	body = "[" + beat("alpha", "w-3", now, 4, 1, "") + "," + beat("alpha", "w-4", now, 2, 3, "") + "]"
	if code := c.do("POST", "/api/v1/workers/heartbeat", ingest, []byte(body), &bad); code != 400 ||
		bad.Error.Code != "invalid_request" || len(bad.Error.Details) != 1 || bad.Error.Details[0].Index != 1 ||
		bad.Error.Details[0].Field != "busy_slots" {
		t.Fatalf("busy over capacity: %d %+v, want 400 naming heartbeat 1's busy_slots", code, bad.Error)
	}
	if code := c.do("POST", "/api/v1/workers/heartbeat", betaIngest, []byte(beat("alpha", "w-5", now, 1, 0, "")), &bad); code != 403 {
		t.Fatalf("another workspace's key: %d, want 403", code)
	}
	if code := c.do("POST", "/api/v1/workers/heartbeat", ingest, []byte(`{"workspace_id":"alpha"`), &bad); code != 400 || bad.Error.Where != "body" {
		t.Fatalf("broken JSON: %d %+v, want 400 on the body", code, bad.Error)
	}
	var r metrics.Resources
	c.do("GET", "/api/v1/metrics/execution/resources?workspace_id=alpha&timeframe=1h", operator, nil, &r)
	var ids []string
	for _, w := range r.Workers {
		ids = append(ids, w.WorkerID)
	}
	if strings.Join(ids, ",") != "w-1,w-2" {
		t.Fatalf("workers = %v: refused batches must store nothing", ids)
	}
}

func TestResourcesSection(t *testing.T) {
	s := start(t, t.TempDir())
	defer stop(t, s)
	c := client{t: t, base: "http://" + s.Addr()}

	m := now.Truncate(time.Minute) // 12:07
	beats := []string{
		// w-1: two beats in 12:06, one in 12:07.
		beat("alpha", "w-1", m.Add(-50*time.Second), 4, 1, `,"cpu_percent":20,"memory_bytes":1000,"labels":{"zone":"eu"},"interval_seconds":10`),
		beat("alpha", "w-1", m.Add(-20*time.Second), 4, 3, `,"cpu_percent":60,"memory_bytes":3000,"interval_seconds":10`),
		beat("alpha", "w-1", m.Add(20*time.Second), 4, 4, `,"cpu_percent":90,"memory_bytes":4000,"memory_limit_bytes":8000,"interval_seconds":10`),
		// w-2: one beat in 12:06.
		beat("alpha", "w-2", m.Add(-30*time.Second), 2, 2, `,"cpu_percent":50,"memory_bytes":500,"interval_seconds":30`),
		// w-old: silent for 5 minutes with a 60 s interval: lost.
		beat("alpha", "w-old", now.Add(-5*time.Minute), 8, 8, `,"interval_seconds":60`),
		// beta's worker stays in beta.
		beat("beta", "w-9", m, 100, 50, ""),
	}
	if code := c.do("POST", "/api/v1/workers/heartbeat", operator, []byte("["+strings.Join(beats, ",")+"]"), nil); code != 200 {
		t.Fatalf("heartbeats: %d", code)
	}
	// Two executions run on w-1 now.
	evs := fmt.Sprintf(`[{"event_id":"s1","type":"started","execution_id":"x1","workspace_id":"alpha","agent_id":"a","worker_id":"w-1","timestamp":%q},
		{"event_id":"s2","type":"started","execution_id":"x2","workspace_id":"alpha","agent_id":"a","worker_id":"w-1","timestamp":%q}]`,
		now.Add(-time.Minute).Format(time.RFC3339), now.Add(-time.Minute).Format(time.RFC3339))
	if code := c.do("POST", "/api/v1/events", operator, []byte(evs), nil); code != 200 {
		t.Fatalf("events: %d", code)
	}

	var r metrics.Resources
	if code := c.do("GET", "/api/v1/metrics/execution/resources?workspace_id=alpha&timeframe=1h", operator, nil, &r); code != 200 {
		t.Fatalf("resources: %d", code)
	}
	// Now: w-1 (4 slots, 4 busy, 90%, 4000 B) and w-2 (2, 2, 50%, 500 B) are active, w-old is lost.
	if r.WorkersActive != 2 || r.WorkersLost != 1 || r.CapacitySlots != 6 || r.BusySlots != 6 || *r.Utilization != 1 ||
		*r.CPUPercent != 70 || r.MemoryBytes != 4500 {
		t.Errorf("totals = active %d lost %d capacity %d busy %d util %v cpu %v memory %d, want 2 1 6 6 1 70 4500",
			r.WorkersActive, r.WorkersLost, r.CapacitySlots, r.BusySlots, *r.Utilization, *r.CPUPercent, r.MemoryBytes)
	}
	if len(r.Workers) != 3 || r.Workers[2].WorkerID != "w-old" || !r.Workers[2].Lost {
		t.Fatalf("workers = %+v, want w-1, w-2, then the lost w-old", r.Workers)
	}
	w1 := r.Workers[0]
	if w1.WorkerID != "w-1" || w1.Running != 2 || w1.Lost || *w1.MemoryLimitBytes != 8000 || *w1.Utilization != 1 ||
		!w1.FirstSeen.Equal(m.Add(-50*time.Second)) || !w1.LastSeen.Equal(m.Add(20*time.Second)) || len(w1.Labels) != 0 {
		t.Errorf("w-1 = %+v, want 2 running, its latest beat's figures, first seen 12:06:10", w1)
	}
	// History: 12:06 holds w-1's two beats (means: capacity 4, busy 2, cpu 40,
	// memory 2000) and w-2's one; 12:07 only w-1's last.
	byT := map[time.Time]metrics.ResourcePoint{}
	for _, p := range r.Series {
		byT[p.T] = p
	}
	p := byT[m.Add(-time.Minute)]
	if p.Workers != 2 || *p.CapacitySlots != 6 || *p.BusySlots != 4 || *p.Utilization != 0.6667 || *p.CPUPercent != 45 || *p.MemoryBytes != 2500 {
		t.Errorf("12:06 = workers %d capacity %v busy %v util %v cpu %v memory %v, want 2 6 4 0.6667 45 2500",
			p.Workers, *p.CapacitySlots, *p.BusySlots, *p.Utilization, *p.CPUPercent, *p.MemoryBytes)
	}
	if p := byT[m]; p.Workers != 1 || *p.BusySlots != 4 {
		t.Errorf("12:07 = %+v, want w-1 alone with 4 busy", p)
	}
	if p := byT[m.Add(-10*time.Minute)]; p.Workers != 0 || p.CapacitySlots != nil {
		t.Errorf("11:57 = %+v, want no data", p)
	}
	if r.Host.CPULimitCores <= 0 || r.Host.MemoryBytes == nil || r.Host.SampledAt.IsZero() {
		t.Errorf("host = %+v, want the machine's figures", r.Host)
	}
	var beta metrics.Resources
	c.do("GET", "/api/v1/metrics/execution/resources?workspace_id=beta&timeframe=1h", operator, nil, &beta)
	if len(beta.Workers) != 1 || beta.Workers[0].WorkerID != "w-9" {
		t.Errorf("beta's workers = %+v, want w-9 alone", beta.Workers)
	}
}

func TestQueueSection(t *testing.T) {
	s := start(t, t.TempDir())
	defer stop(t, s)
	c := client{t: t, base: "http://" + s.Addr()}

	// In the last hour: queue waits per agent (started - queued), exact.
	type ex struct {
		agent       string
		queued      time.Duration // before now
		wait        time.Duration // 0: still waiting
		finishedAgo time.Duration // 0: not finished
	}
	var execs []ex
	waits := map[string][]float64{}
	for i := range 40 {
		agent := []string{"a", "b"}[i%2]
		w := time.Duration(100+i*37) * time.Millisecond
		if agent == "b" {
			w *= 10
		}
		e := ex{agent: agent, queued: time.Duration(50-i) * time.Minute, wait: w}
		if i >= 30 { // ten of them finished in the last five minutes
			e.queued = time.Duration(4*60+i) * time.Second
			e.finishedAgo = time.Duration(i-29) * time.Second
			if e.finishedAgo > e.queued-e.wait {
				e.finishedAgo = 1 * time.Second
			}
		}
		execs = append(execs, e)
		waits[agent] = append(waits[agent], float64(w.Milliseconds()))
	}
	// Three wait now: two of a (since 3 and 1 minutes), one of b.
	execs = append(execs, ex{agent: "a", queued: 3 * time.Minute}, ex{agent: "a", queued: time.Minute}, ex{agent: "b", queued: 30 * time.Second})

	var evs []map[string]any
	for i, e := range execs {
		id := fmt.Sprintf("q%d", i)
		add := func(typ string, at time.Time) {
			evs = append(evs, map[string]any{"event_id": id + typ, "type": typ, "execution_id": id, "workspace_id": "alpha",
				"agent_id": e.agent, "timestamp": at.Format(time.RFC3339Nano)})
		}
		add("queued", now.Add(-e.queued))
		if e.wait > 0 {
			add("started", now.Add(-e.queued+e.wait))
		}
		if e.finishedAgo > 0 {
			add("completed", now.Add(-e.finishedAgo))
		}
	}
	body, _ := json.Marshal(evs)
	if code := c.do("POST", "/api/v1/events", operator, body, nil); code != 200 {
		t.Fatalf("events: %d", code)
	}
	// Two backlog samples at now (the sampler's clock), the oldest waiting 3 minutes.
	for range 2 {
		if err := s.sampleBacklog(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	var q metrics.Queue
	if code := c.do("GET", "/api/v1/metrics/execution/queue?workspace_id=alpha&timeframe=1h", operator, nil, &q); code != 200 {
		t.Fatalf("queue: %d", code)
	}
	if q.Queued != 3 || *q.OldestWaitMs != 3*60*1000 {
		t.Errorf("queued %d oldest %v, want 3 and 180000", q.Queued, *q.OldestWaitMs)
	}
	if q.CompletionRatePerMinute != 2 {
		t.Errorf("completion rate = %v, want 10 finished / 5 minutes = 2", q.CompletionRatePerMinute)
	}
	if q.DrainSeconds == nil || *q.DrainSeconds != 90 {
		t.Errorf("drain = %v, want 3 queued / (10 per 300 s) = 90 s", q.DrainSeconds)
	}
	all := append(append([]float64{}, waits["a"]...), waits["b"]...)
	sort.Float64s(all)
	if q.Wait.Count != 40 {
		t.Errorf("wait count = %d, want 40", q.Wait.Count)
	}
	within1pct(t, "wait p50", q.Wait.P50Ms, nearestRank(all, 0.5))
	within1pct(t, "wait p99", q.Wait.P99Ms, nearestRank(all, 0.99))
	if len(q.ByAgent) != 2 || q.ByAgent[0].AgentID != "a" || q.ByAgent[0].Queued != 2 || *q.ByAgent[0].OldestWaitMs != 180000 ||
		q.ByAgent[1].Queued != 1 || q.ByAgent[1].Count != 20 {
		t.Fatalf("by agent = %+v, want a (2 queued, oldest 3 min) then b (1 queued, 20 waits)", q.ByAgent)
	}
	for _, a := range q.ByAgent {
		ws := waits[a.AgentID]
		sort.Float64s(ws)
		within1pct(t, a.AgentID+" p95", a.P95Ms, nearestRank(ws, 0.95))
		if *a.MaxMs != ws[len(ws)-1] {
			t.Errorf("%s max = %v, want %v", a.AgentID, *a.MaxMs, ws[len(ws)-1])
		}
	}
	last := q.Series[len(q.Series)-1]
	if !last.T.Equal(now.Truncate(time.Minute)) || last.QueuedMax == nil || *last.QueuedMax != 3 || *last.QueuedMean != 3 ||
		*last.OldestWaitMsMax != 180000 {
		t.Errorf("last bucket = %+v, want 3 queued at 12:07, oldest 3 min", last)
	}
	if q.Series[0].QueuedMax != nil {
		t.Errorf("first bucket = %+v, want no sample", q.Series[0])
	}
	var waitCount int64
	for _, p := range q.Series {
		waitCount += p.WaitCount
	}
	if waitCount != 40 {
		t.Errorf("waits in the series add to %d, want 40", waitCount)
	}
	// One agent: its own backlog.
	c.do("GET", "/api/v1/metrics/execution/queue?workspace_id=alpha&timeframe=1h&agent_id=b", operator, nil, &q)
	last = q.Series[len(q.Series)-1]
	if q.Queued != 1 || len(q.ByAgent) != 1 || *last.QueuedMean != 1 || q.Wait.Count != 20 {
		t.Errorf("agent b: queued %d by agent %d mean %v waits %d, want 1 1 1 20", q.Queued, len(q.ByAgent), *last.QueuedMean, q.Wait.Count)
	}
	if math.IsNaN(q.ArrivalRatePerMinute) {
		t.Error("arrival rate is NaN")
	}
}
