package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/auth"
	"github.com/shadower/shadower/internal/metrics"
	"github.com/shadower/shadower/internal/patterns"
)

// clock is a present tests move by hand.
type clock struct{ ns atomic.Int64 }

func (c *clock) set(t time.Time) { c.ns.Store(t.UnixNano()) }
func (c *clock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }

func startAt(t *testing.T, dir string, c *clock) *Server {
	t.Helper()
	cfg := Config{Addr: "127.0.0.1:0", AdminKey: operator, Now: c.now, Quiet: true, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	storeConfig(t, &cfg, dir)
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// steady sends, for each minute in [from, to), runs of agents at their
// per-minute rates (Poisson), each started within the minute and running
// 0.5 to 2.5 s, or run long.
func steady(t *testing.T, c client, ws string, from, to time.Time, rates map[string]func(time.Time) float64, rng *rand.Rand, long ...time.Duration) int {
	t.Helper()
	var batch []map[string]any
	sent := 0
	flush := func() {
		if len(batch) == 0 {
			return
		}
		body, _ := json.Marshal(batch)
		if code := c.do("POST", "/api/v1/events", operator, body, nil); code != 200 {
			t.Fatalf("ingest: %d", code)
		}
		sent += len(batch)
		batch = batch[:0]
	}
	n := 0
	agents := slices.Sorted(maps.Keys(rates)) // the same draws every run
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		for _, agent := range agents {
			for range poisson(rng, rates[agent](m)) {
				n++
				id := fmt.Sprintf("%s-%d", agent, n)
				startAt := m.Add(time.Duration(rng.IntN(50_000)) * time.Millisecond)
				dur := time.Duration(500+rng.IntN(2000)) * time.Millisecond
				if len(long) > 0 {
					dur = long[0]
				}
				for _, e := range []struct {
					typ string
					at  time.Time
				}{{"started", startAt}, {"completed", startAt.Add(dur)}} {
					batch = append(batch, map[string]any{"event_id": id + e.typ, "type": e.typ, "execution_id": id,
						"workspace_id": ws, "agent_id": agent, "timestamp": e.at.Format(time.RFC3339Nano)})
				}
				if len(batch) >= 2000 {
					flush()
				}
			}
		}
	}
	flush()
	return sent
}

func poisson(rng *rand.Rand, mean float64) int {
	n := 0
	for t := rng.ExpFloat64(); t < mean; t += rng.ExpFloat64() {
		n++
	}
	return n
}

// TestDetectionAsDataArrives sends two days of steady work, then a burst of
// one agent, and checks the burst is found at the first check after its
// first minute closes: stored, in the patterns section with the agent that
// caused it, and pushed to an open dashboard.
func TestDetectionAsDataArrives(t *testing.T) {
	var clk clock
	burst := time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC)
	clk.set(burst.Add(10 * time.Minute)) // events may not come from the future
	s := startAt(t, t.TempDir(), &clk)
	defer stop(t, s)
	c := client{t: t, base: "http://" + s.Addr()}
	rng := rand.New(rand.NewPCG(5, 6))
	rates := map[string]func(time.Time) float64{
		"mailer": func(m time.Time) float64 {
			if !m.Before(burst) && m.Before(burst.Add(5*time.Minute)) {
				return 90
			}
			return 12
		},
		"planner": func(time.Time) float64 { return 6 },
	}
	steady(t, c, "alpha", burst.Add(-48*time.Hour), burst.Add(10*time.Minute), rates, rng)

	ctx := context.Background()
	// The detector starts just before the burst: it reads the history.
	clk.set(burst.Add(5 * time.Second))
	if err := s.watcher.Step(ctx); err != nil {
		t.Fatal(err)
	}
	key := auth.Secret(createKey(t, c, operator, "alpha", "read").Key)
	conn, _, err := dial(t, s, "alpha", key)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()

	var p metrics.Patterns
	c.do("GET", "/api/v1/metrics/execution/patterns?workspace_id=alpha&timeframe=24h", operator, nil, &p)
	for _, f := range p.Anomalies {
		if f.Metric == "throughput" && !f.Start.Before(burst.Add(-time.Hour)) {
			t.Fatalf("a throughput finding before the burst: %+v", f)
		}
	}
	if !p.Detector.Running || p.Detector.EvaluatedThrough == nil || !p.Detector.EvaluatedThrough.Equal(burst.Add(-time.Minute)) {
		t.Fatalf("detector = %+v, want running through 13:59", p.Detector)
	}

	// The burst's first minute closes at 14:01; the check after its grace finds it.
	clk.set(burst.Add(time.Minute + patterns.Grace))
	if err := s.watcher.Step(ctx); err != nil {
		t.Fatal(err)
	}
	c.do("GET", "/api/v1/metrics/execution/patterns?workspace_id=alpha&timeframe=1h", operator, nil, &p)
	var ws, agent *patterns.Record
	for i, f := range p.Bursts {
		if f.AgentID == nil {
			ws = &p.Bursts[i]
		} else if *f.AgentID == "mailer" {
			agent = &p.Bursts[i]
		}
	}
	if ws == nil || agent == nil {
		t.Fatalf("bursts = %+v, want the workspace's and mailer's", p.Bursts)
	}
	if !ws.Start.Equal(burst) || !ws.Ongoing || ws.Observed < 40 || ws.Expected > 25 || len(ws.Contributors) == 0 ||
		ws.Contributors[0].AgentID != "mailer" || ws.Contributors[0].Share < 0.8 {
		t.Errorf("workspace burst = %+v, want from 14:00, ongoing, ~96/min against ~18, mostly mailer", ws)
	}
	for _, f := range p.Anomalies {
		if f.AgentID != nil && *f.AgentID == "planner" && f.Metric == "throughput" {
			t.Errorf("planner did not change, yet: %+v", f)
		}
	}
	var list struct{ Items []patterns.Record }
	c.do("GET", "/api/v1/patterns?workspace_id=alpha&timeframe=1h&agent_id=mailer&metric=throughput", operator, nil, &list)
	if len(list.Items) != 2 {
		t.Errorf("patterns for mailer = %+v, want its own burst and the workspace's it contributed to", list.Items)
	}
	// Pushed on the open dashboard.
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := read(t, conn, time.Until(deadline))
		if err != nil {
			t.Fatalf("no anomaly_detected message: %v", err)
		}
		if m.Type != "anomaly_detected" {
			continue
		}
		var r patterns.Record
		json.Unmarshal(m.Data, &r)
		if r.Metric == "throughput" && r.Start.Equal(burst) {
			break
		}
	}

	// The burst ends at 14:05; a few normal minutes later the finding is closed.
	clk.set(burst.Add(10*time.Minute + patterns.Grace))
	if err := s.watcher.Step(ctx); err != nil {
		t.Fatal(err)
	}
	c.do("GET", "/api/v1/patterns?workspace_id=alpha&timeframe=1h&metric=throughput", operator, nil, &list)
	for _, f := range list.Items {
		if f.AgentID == nil && f.Start.Equal(burst) {
			if f.Ongoing || !f.End.Equal(burst.Add(5*time.Minute)) {
				t.Errorf("after the burst: %+v, want closed at 14:05", f)
			}
		}
	}
}

// TestReplayedFindingsReachOpenPages starts the detector on a history that
// holds a burst: what it finds there is stored without an anomaly_detected
// each (old news), and an open dashboard is told once to refresh.
func TestReplayedFindingsReachOpenPages(t *testing.T) {
	var clk clock
	burst := time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC)
	now := burst.Add(3 * time.Hour)
	clk.set(now)
	s := startAt(t, t.TempDir(), &clk)
	defer stop(t, s)
	c := client{t: t, base: "http://" + s.Addr()}
	rng := rand.New(rand.NewPCG(7, 8))
	steady(t, c, "alpha", now.Add(-48*time.Hour), now, map[string]func(time.Time) float64{
		"mailer": func(m time.Time) float64 {
			if !m.Before(burst) && m.Before(burst.Add(5*time.Minute)) {
				return 90
			}
			return 12
		},
	}, rng)
	conn, _, err := dial(t, s, "alpha", auth.Secret(createKey(t, c, operator, "alpha", "read").Key))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()

	if err := s.watcher.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	var list struct{ Items []patterns.Record }
	c.do("GET", "/api/v1/patterns?workspace_id=alpha&timeframe=24h&metric=throughput", operator, nil, &list)
	if len(list.Items) == 0 {
		t.Fatal("the burst in the history was not found")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := read(t, conn, time.Until(deadline))
		if err != nil {
			t.Fatalf("no anomalies_replayed message: %v", err)
		}
		if m.Type == "anomaly_detected" {
			t.Fatalf("a finding of the history was announced as new: %s", m.Data)
		}
		if m.Type != "anomalies_replayed" {
			continue
		}
		var d struct{ Findings int }
		json.Unmarshal(m.Data, &d)
		if d.Findings < len(list.Items) {
			t.Fatalf("anomalies_replayed %s, want at least the %d stored", m.Data, len(list.Items))
		}
		break
	}
}

func TestForecastSection(t *testing.T) {
	var clk clock
	end := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	clk.set(end.Add(30 * time.Minute))
	s := startAt(t, t.TempDir(), &clk)
	defer stop(t, s)
	c := client{t: t, base: "http://" + s.Addr()}

	var f metrics.Forecast
	if code := c.do("GET", "/api/v1/metrics/execution/forecast?workspace_id=alpha", operator, nil, &f); code != 200 || f.Available || f.Reason == "" {
		t.Fatalf("forecast without history: %d %+v, want unavailable with a reason", code, f)
	}
	// Four days: 2 runs a minute by day (08-20 UTC), none at night.
	rng := rand.New(rand.NewPCG(1, 2))
	steady(t, c, "alpha", end.Add(-96*time.Hour), end, map[string]func(time.Time) float64{
		"a": func(m time.Time) float64 {
			if h := m.Hour(); h >= 8 && h < 20 {
				return 2
			}
			return 0
		}}, rng)
	// One worker with 1 slot: with runs of ~1.5 s it can do ~2,400 an hour.
	if code := c.do("POST", "/api/v1/workers/heartbeat", operator, []byte(beat("alpha", "w-1", clk.now(), 1, 0, "")), nil); code != 200 {
		t.Fatal(code)
	}
	if code := c.do("GET", "/api/v1/metrics/execution/forecast?workspace_id=alpha", operator, nil, &f); code != 200 || !f.Available {
		t.Fatalf("forecast: %d %+v", code, f)
	}
	if len(f.Series) != 24 || !f.Series[0].T.Equal(end) || f.HistoryHours < 84 || f.StepSeconds != 3600 {
		t.Fatalf("series of %d from %v, history %d: want 24 hours from %v", len(f.Series), f.Series[0].T, f.HistoryHours, end)
	}
	for _, p := range f.Series {
		day := p.T.Hour() >= 8 && p.T.Hour() < 20
		if p.Lower > p.Expected || p.Expected > p.Upper || p.Lower < 0 {
			t.Errorf("%v: interval %v..%v around %v", p.T, p.Lower, p.Upper, p.Expected)
		}
		if day && (p.Expected < 80 || p.Expected > 160) {
			t.Errorf("%v (day): expected %v, want about 120 an hour", p.T, p.Expected)
		}
		if !day && p.Expected > 10 {
			t.Errorf("%v (night): expected %v, want about 0", p.T, p.Expected)
		}
	}
	if f.CapacityPerHour == nil || *f.CapacityPerHour < 1500 || *f.CapacityPerHour > 3600 || f.CapacityWarning != nil {
		t.Errorf("capacity %v warning %+v, want ~2,400 an hour and no warning", f.CapacityPerHour, f.CapacityWarning)
	}
	if f.BacktestMAPEPct == nil {
		t.Error("no backtest error with 4 days of history")
	}

	// Beta's runs take a minute and its one worker has one slot: 60 an
	// hour, when 120 are expected from 08:00.
	steady(t, c, "beta", end.Add(-96*time.Hour), end.Add(-time.Hour), map[string]func(time.Time) float64{
		"a": func(m time.Time) float64 {
			if h := m.Hour(); h >= 8 && h < 20 {
				return 2
			}
			return 0
		}}, rng, time.Minute)
	if code := c.do("POST", "/api/v1/workers/heartbeat", operator, []byte(beat("beta", "w-1", clk.now(), 1, 1, "")), nil); code != 200 {
		t.Fatal(code)
	}
	c.do("GET", "/api/v1/metrics/execution/forecast?workspace_id=beta", operator, nil, &f)
	if f.CapacityPerHour == nil || *f.CapacityPerHour != 60 || f.CapacityWarning == nil || f.CapacityWarning.CapacityPerHour != 60 {
		t.Fatalf("capacity %v warning %+v, want 60 an hour and a warning", f.CapacityPerHour, f.CapacityWarning)
	}
	if w := f.CapacityWarning; w.Expected <= 60 || w.T.Before(end) || w.T.Hour() < 8 || w.T.Hour() >= 20 {
		t.Errorf("warning %+v, want the first busy hour, expected over 60", w)
	}
}
