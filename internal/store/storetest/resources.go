package storetest

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/patterns"
	"github.com/shadower/shadower/internal/resources"
	"github.com/shadower/shadower/internal/rollup"
)

func heartbeat(t *testing.T, ws, worker string, at time.Time, capacity, busy int64, extra string) *resources.Heartbeat {
	t.Helper()
	body := fmt.Sprintf(`{"workspace_id":%q,"worker_id":%q,"capacity_slots":%d,"busy_slots":%d,"timestamp":%q%s}`,
		ws, worker, capacity, busy, at.Format(time.RFC3339Nano), extra)
	hbs, err := resources.Decode(strings.NewReader(body), at)
	if err != nil {
		t.Fatal(err)
	}
	return hbs[0]
}

func testHeartbeats(t *testing.T, s Store) {
	t0 := Base.Add(10 * time.Hour)
	must(t, s.RecordHeartbeats(ctx, []*resources.Heartbeat{
		heartbeat(t, "w1", "a", t0, 8, 2, `,"cpu_percent":40,"memory_bytes":1000,"memory_limit_bytes":4000,"labels":{"zone":"eu"},"interval_seconds":10`),
		heartbeat(t, "w1", "b", t0, 4, 4, ``),
		heartbeat(t, "w2", "a", t0, 1, 1, ``),
	}))
	// A later report replaces the current figures; a late, older one only
	// moves first_seen back.
	must(t, s.RecordHeartbeats(ctx, []*resources.Heartbeat{heartbeat(t, "w1", "a", t0.Add(time.Minute), 8, 5, `,"cpu_percent":90.5,"interval_seconds":10`)}))
	must(t, s.RecordHeartbeats(ctx, []*resources.Heartbeat{heartbeat(t, "w1", "a", t0.Add(-time.Minute), 8, 0, `,"interval_seconds":60`)}))

	got, err := s.Workers(ctx, "w1", t0.Add(-time.Hour))
	must(t, err)
	if len(got) != 2 || got[0].WorkerID != "a" || got[1].WorkerID != "b" {
		t.Fatalf("workers = %+v, want a and b of w1 only", got)
	}
	a := got[0]
	if a.BusySlots != 5 || a.CapacitySlots != 8 || a.CPUPercent == nil || *a.CPUPercent != 90.5 || a.MemoryBytes != nil ||
		a.IntervalSeconds != 10 || !a.LastSeen.Equal(t0.Add(time.Minute)) || !a.FirstSeen.Equal(t0.Add(-time.Minute)) || len(a.Labels) != 0 {
		t.Errorf("worker a = %+v, want the report of t0+1m (busy 5, cpu 90.5, no memory, no labels) first seen t0-1m", a)
	}
	if got, err = s.Workers(ctx, "w1", t0.Add(30*time.Second)); err != nil || len(got) != 1 || got[0].WorkerID != "a" {
		t.Errorf("workers seen since t0+30s = %+v, %v; want a", got, err)
	}
	wss, err := s.Workspaces(ctx)
	must(t, err)
	if !reflect.DeepEqual(wss, []string{"w1", "w2"}) {
		t.Errorf("workspaces = %v, want the heartbeats' w1 and w2", wss)
	}

	// The readings reach every tier.
	for _, tier := range rollup.Tiers {
		rows, err := s.GaugeRange(ctx, "w1", tier, tier.Bucket(t0.Add(-time.Hour)), tier.Bucket(t0)+2*tier.Seconds(),
			[]string{rollup.GaugeWorkerBusy})
		must(t, err)
		sum := map[string]float64{}
		n := map[string]int64{}
		for _, r := range rows {
			sum[r.Key] += r.Sum
			n[r.Key] += r.Samples
		}
		if n["a"] != 3 || sum["a"] != 7 || n["b"] != 1 || sum["b"] != 4 {
			t.Errorf("%s busy readings: samples %v sums %v, want a: 3 summing 7, b: 1 of 4", tier, n, sum)
		}
	}
}

func testGauges(t *testing.T, s Store) {
	t0 := Base.Add(3*time.Hour + 30*time.Second)
	var samples []rollup.GaugeSample
	for i, v := range []float64{4, 10, 1, 7} {
		samples = append(samples, rollup.GaugeSample{WorkspaceID: "w1", Gauge: rollup.GaugeBacklog, Key: rollup.AllAgents,
			At: t0.Add(time.Duration(i) * 20 * time.Second), Value: v})
	}
	samples = append(samples,
		rollup.GaugeSample{WorkspaceID: "w1", Gauge: rollup.GaugeOldestWait, Key: rollup.AllAgents, At: t0, Value: 1500},
		rollup.GaugeSample{WorkspaceID: "w2", Gauge: rollup.GaugeBacklog, Key: rollup.AllAgents, At: t0, Value: 99})
	must(t, s.RecordGauges(ctx, samples))
	must(t, s.RecordGauges(ctx, nil))

	rows, err := s.GaugeRange(ctx, "w1", rollup.Minute, Base.Unix(), Base.Add(4*time.Hour).Unix(), []string{rollup.GaugeBacklog})
	must(t, err)
	sort.Slice(rows, func(i, j int) bool { return rows[i].Bucket < rows[j].Bucket })
	// 03:00:30, :50, 03:01:10, :30: two minutes.
	want := []rollup.GaugeRow{
		{Gauge: rollup.GaugeBacklog, Key: "*", Tier: rollup.Minute, Bucket: Base.Add(3 * time.Hour).Unix(), Samples: 2, Sum: 14, Min: 4, Max: 10},
		{Gauge: rollup.GaugeBacklog, Key: "*", Tier: rollup.Minute, Bucket: Base.Add(3*time.Hour + time.Minute).Unix(), Samples: 2, Sum: 8, Min: 1, Max: 7},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("minute rows = %+v, want %+v", rows, want)
	}
	rows, err = s.GaugeRange(ctx, "w1", rollup.Hour, Base.Unix(), Base.Add(4*time.Hour).Unix(), []string{rollup.GaugeBacklog, rollup.GaugeOldestWait})
	must(t, err)
	sort.Slice(rows, func(i, j int) bool { return rows[i].Gauge < rows[j].Gauge })
	want = []rollup.GaugeRow{
		{Gauge: rollup.GaugeBacklog, Key: "*", Tier: rollup.Hour, Bucket: Base.Add(3 * time.Hour).Unix(), Samples: 4, Sum: 22, Min: 1, Max: 10},
		{Gauge: rollup.GaugeOldestWait, Key: "*", Tier: rollup.Hour, Bucket: Base.Add(3 * time.Hour).Unix(), Samples: 1, Sum: 1500, Min: 1500, Max: 1500},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("hour rows = %+v, want %+v", rows, want)
	}
	// Bounds are [from, to), and other gauges and workspaces stay out.
	rows, err = s.GaugeRange(ctx, "w1", rollup.Minute, Base.Add(3*time.Hour+time.Minute).Unix(), Base.Add(4*time.Hour).Unix(), []string{rollup.GaugeWorkerBusy, rollup.GaugeBacklog})
	must(t, err)
	if len(rows) != 1 || rows[0].Sum != 8 {
		t.Errorf("rows from 03:01 = %+v, want the one of 03:01", rows)
	}
}

func finding(ws, agent string, start time.Time, minutes int, ongoing bool) patterns.Record {
	r := patterns.Record{WorkspaceID: ws, Metric: "throughput", Direction: "up", Start: start,
		End: start.Add(time.Duration(minutes) * time.Minute), Ongoing: ongoing, Observed: 40, Expected: 10, Score: 9.5,
		Severity: "critical", Baseline: "seasonal", Explanation: "x", Contributors: []patterns.Contributor{}, UpdatedAt: start}
	if agent != "" {
		r.AgentID = &agent
	} else {
		r.Contributors = []patterns.Contributor{{AgentID: "mailer", Observed: 30, Expected: 5, Share: 0.8}}
	}
	r.ID = patterns.RecordID(ws, agent, r.Metric, r.Direction, start)
	return r
}

func testFindings(t *testing.T, s Store) {
	t0 := Base.Add(5 * time.Hour)
	a := finding("w1", "", t0, 3, true)
	b := finding("w1", "mailer", t0.Add(time.Hour), 10, false)
	c := finding("w2", "", t0, 3, false)
	must(t, s.SaveFindings(ctx, []patterns.Record{a, b, c}))
	// The finding grows: same id, new end and figures.
	a.End, a.Ongoing, a.Observed, a.Explanation, a.UpdatedAt = t0.Add(7*time.Minute), false, 55, "grown", t0.Add(7*time.Minute)
	must(t, s.SaveFindings(ctx, []patterns.Record{a}))

	got, err := s.Findings(ctx, "w1", Base, Base.Add(24*time.Hour))
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("findings = %+v, want 2", got)
	}
	if !reflect.DeepEqual(got[0], b) {
		t.Errorf("newest = %+v, want %+v", got[0], b)
	}
	if !reflect.DeepEqual(got[1], a) {
		t.Errorf("grown = %+v, want %+v", got[1], a)
	}
	// Overlap: a finding ending at from, or starting at to, is out.
	if got, _ := s.Findings(ctx, "w1", t0.Add(7*time.Minute), t0.Add(time.Hour)); len(got) != 0 {
		t.Errorf("findings in [a's end, b's start) = %+v, want none", got)
	}
	if got, _ := s.Findings(ctx, "w1", t0.Add(6*time.Minute), t0.Add(time.Hour+time.Second)); len(got) != 2 {
		t.Errorf("findings touching both = %d, want 2", len(got))
	}
}

func testExpireResources(t *testing.T, s Store) {
	old, recent := Base.Add(time.Hour), Base.Add(20*24*time.Hour)
	for _, at := range []time.Time{old, recent} {
		must(t, s.RecordGauges(ctx, []rollup.GaugeSample{{WorkspaceID: "w1", Gauge: rollup.GaugeBacklog, Key: "*", At: at, Value: 1}}))
		must(t, s.SaveFindings(ctx, []patterns.Record{finding("w1", "", at, 5, false)}))
	}
	must(t, s.RecordHeartbeats(ctx, []*resources.Heartbeat{heartbeat(t, "w1", "gone", recent.Add(-13*24*time.Hour), 1, 0, ``)}))
	must(t, s.RecordHeartbeats(ctx, []*resources.Heartbeat{heartbeat(t, "w1", "here", recent, 1, 0, ``)}))
	cut := Base.Add(10 * 24 * time.Hour).Unix()
	if _, err := s.Expire(ctx, map[rollup.Tier]int64{rollup.Minute: cut, rollup.Hour: cut, rollup.Day: Base.Unix()},
		Base.Add(15*24*time.Hour).Unix()); err != nil {
		t.Fatal(err)
	}
	for _, tier := range rollup.Tiers {
		rows, err := s.GaugeRange(ctx, "w1", tier, 0, recent.Add(48*time.Hour).Unix(), []string{rollup.GaugeBacklog})
		must(t, err)
		want := 1
		if tier == rollup.Day {
			want = 2 // the day tier's cutoff is before both
		}
		if len(rows) != want {
			t.Errorf("%s gauge rows after expiry = %d, want %d", tier, len(rows), want)
		}
	}
	if got, _ := s.Findings(ctx, "w1", Base, recent.Add(time.Hour)); len(got) != 1 || !got[0].Start.Equal(recent) {
		t.Errorf("findings after expiry = %+v, want the recent one", got)
	}
	if got, _ := s.Workers(ctx, "w1", Base); len(got) != 1 || got[0].WorkerID != "here" {
		t.Errorf("workers after expiry = %+v, want only the one seen after the raw cutoff", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
