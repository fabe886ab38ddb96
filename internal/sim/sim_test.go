package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

// The week every test looks at: Monday 2025-03-03 to Monday 2025-03-10 UTC.
var (
	weekFrom = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	weekTo   = weekFrom.Add(7 * 24 * time.Hour)
)

const weekSeed = 1

// summary is one execution as seen in the event stream.
type summary struct {
	id, ws, agent, trigger, worker string
	queued, started, end           time.Time
	terminal                       execution.Type
	terminals                      int
	errType, errMsg                string
	progress                       int
	credits, tokens                bool
	lastAt                         time.Time
	lastProgress                   float64
	problems                       []string
}

func (s *summary) bad(format string, args ...any) {
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

func (s *summary) duration() time.Duration { return s.end.Sub(s.started) }
func (s *summary) wait() time.Duration     { return s.started.Sub(s.queued) }

// collector folds an event stream into summaries and checks every event on the way.
type collector struct {
	execs    map[string]*summary
	order    []*summary
	events   int
	batches  []int
	ids      map[string]struct{}
	problems []string
	prevTS   time.Time
}

var idRe = regexp.MustCompile(`^[A-Za-z0-9._:@/-]{1,128}$`)

func newCollector() *collector {
	return &collector{execs: map[string]*summary{}, ids: map[string]struct{}{}}
}

func (c *collector) problem(format string, args ...any) {
	if len(c.problems) < 20 {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

func (c *collector) emit(evs []execution.Event) error {
	c.batches = append(c.batches, len(evs))
	for i := range evs {
		c.add(&evs[i])
	}
	return nil
}

func (c *collector) add(ev *execution.Event) {
	c.events++
	if ds := execution.Validate(ev, 0, ev.Timestamp); len(ds) > 0 {
		c.problem("event %s invalid: %v", ev.EventID, ds)
	}
	if ev.Timestamp.Location() != time.UTC {
		c.problem("event %s timestamp not in UTC: %v", ev.EventID, ev.Timestamp)
	}
	if ev.Timestamp.Before(c.prevTS) {
		c.problem("event %s at %v after an event at %v", ev.EventID, ev.Timestamp, c.prevTS)
	}
	c.prevTS = ev.Timestamp
	for _, id := range []string{ev.EventID, ev.ExecutionID, ev.WorkspaceID, ev.AgentID} {
		if !idRe.MatchString(id) {
			c.problem("id %q does not match the id pattern", id)
		}
	}
	if _, dup := c.ids[ev.EventID]; dup {
		c.problem("duplicate event_id %s", ev.EventID)
	}
	c.ids[ev.EventID] = struct{}{}

	s := c.execs[ev.ExecutionID]
	if s == nil {
		s = &summary{id: ev.ExecutionID, ws: ev.WorkspaceID, agent: ev.AgentID, trigger: ev.Trigger}
		c.execs[ev.ExecutionID] = s
		c.order = append(c.order, s)
		if ev.Type != execution.Queued {
			s.bad("first event is %s, not queued", ev.Type)
		}
		if want := "exec-" + ev.WorkspaceID + "-"; !strings.HasPrefix(ev.ExecutionID, want) {
			s.bad("execution id %s lacks prefix %s", ev.ExecutionID, want)
		}
	}
	if ev.WorkspaceID != s.ws || ev.AgentID != s.agent || ev.Trigger != s.trigger {
		s.bad("event %s changes workspace, agent or trigger", ev.EventID)
	}
	if want := fmt.Sprintf("%s:%s:", ev.ExecutionID, ev.Type); !strings.HasPrefix(ev.EventID, want) {
		s.bad("event id %s lacks prefix %s", ev.EventID, want)
	}
	if s.terminals > 0 {
		s.bad("%s event after the terminal event", ev.Type)
	}
	if ev.Timestamp.Before(s.lastAt) {
		s.bad("%s at %v before the previous event at %v", ev.Type, ev.Timestamp, s.lastAt)
	}
	s.lastAt = ev.Timestamp
	if (ev.Error != nil) != (ev.Type == execution.Failed || ev.Type == execution.TimedOut) {
		s.bad("%s event with error %v", ev.Type, ev.Error)
	}
	switch ev.Type {
	case execution.Queued:
		if !s.queued.IsZero() {
			s.bad("second queued event")
		}
		s.queued = ev.Timestamp
	case execution.Started:
		if !s.started.IsZero() || s.queued.IsZero() {
			s.bad("started twice or before queued")
		}
		if ev.WorkerID == "" {
			s.bad("started without worker_id")
		}
		s.started, s.worker = ev.Timestamp, ev.WorkerID
	case execution.Progress:
		if s.started.IsZero() {
			s.bad("progress before started")
		}
		if *ev.Progress < s.lastProgress {
			s.bad("progress went back from %v to %v", s.lastProgress, *ev.Progress)
		}
		s.lastProgress = *ev.Progress
		s.progress++
	default: // terminal
		if s.started.IsZero() {
			s.bad("terminal before started")
		}
		s.terminal, s.end = ev.Type, ev.Timestamp
		s.terminals++
		s.credits, s.tokens = ev.Credits != nil, ev.Tokens != nil
		if ev.Error != nil {
			s.errType, s.errMsg = ev.Error.Type, ev.Error.Message
		}
	}
	if ev.Type != execution.Queued && ev.WorkerID != s.worker {
		s.bad("%s on worker %q, started on %q", ev.Type, ev.WorkerID, s.worker)
	}
}

// The week of history, generated once for all tests.
var (
	weekOnce sync.Once
	week     *collector
	weekTook time.Duration
	weekErr  error
)

func weekData(t *testing.T) *collector {
	t.Helper()
	weekOnce.Do(func() {
		week = newCollector()
		t0 := time.Now()
		// The collector's checks are not part of the generation time.
		var evs [][]execution.Event
		weekErr = NewPlatform(weekSeed).History(weekFrom, weekTo, 1000, func(b []execution.Event) error {
			evs = append(evs, b)
			return nil
		})
		weekTook = time.Since(t0)
		for _, b := range evs {
			week.emit(b)
		}
	})
	if weekErr != nil {
		t.Fatal(weekErr)
	}
	return week
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func hashHistory(t *testing.T, seed uint64, from, to time.Time) (uint64, int) {
	t.Helper()
	h := fnv.New64a()
	n := 0
	err := NewPlatform(seed).History(from, to, 500, func(evs []execution.Event) error {
		for i := range evs {
			b, err := json.Marshal(&evs[i])
			if err != nil {
				return err
			}
			h.Write(b)
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return h.Sum64(), n
}

func TestDeterministicForSeed(t *testing.T) {
	from := weekFrom.Add(24 * time.Hour)
	to := from.Add(12 * time.Hour)
	a, n := hashHistory(t, 42, from, to)
	b, _ := hashHistory(t, 42, from, to)
	c, _ := hashHistory(t, 43, from, to)
	if n < 1000 {
		t.Fatalf("only %d events in 12 hours", n)
	}
	if a != b {
		t.Error("the same seed gave different events")
	}
	if a == c {
		t.Error("different seeds gave the same events")
	}
}

func TestWeekEventsValidAndOrdered(t *testing.T) {
	w := weekData(t)
	for _, p := range w.problems {
		t.Error(p)
	}
	bad := 0
	for _, s := range w.order {
		for _, p := range s.problems {
			if bad++; bad <= 20 {
				t.Errorf("%s: %s", s.id, p)
			}
		}
	}
	for i, n := range w.batches {
		if n < 1 || n > 1000 || n != 1000 && i != len(w.batches)-1 {
			t.Fatalf("batch %d of %d has %d events", i, len(w.batches), n)
		}
	}
}

func TestWeekLifecycles(t *testing.T) {
	w := weekData(t)
	unfinished := 0
	for _, s := range w.order {
		if s.queued.Before(weekFrom) || !s.queued.Before(weekTo) {
			t.Errorf("%s queued at %v, outside the range", s.id, s.queued)
		}
		if s.terminals == 0 {
			// Only executions still queued or running at the end may lack one.
			if unfinished++; s.queued.Before(weekTo.Add(-time.Hour)) {
				t.Errorf("%s queued at %v never finished", s.id, s.queued)
			}
			continue
		}
		if s.terminals != 1 {
			t.Errorf("%s has %d terminal events", s.id, s.terminals)
		}
		if !s.credits || !s.tokens {
			t.Errorf("%s: terminal event without credits or tokens", s.id)
		}
		switch s.terminal {
		case execution.Failed:
			if s.errType == "" || s.errType == "timeout" || s.errMsg == "" {
				t.Errorf("%s failed with error %q %q", s.id, s.errType, s.errMsg)
			}
		case execution.TimedOut:
			if s.errType != "timeout" || s.errMsg == "" {
				t.Errorf("%s timed out with error %q %q", s.id, s.errType, s.errMsg)
			}
		}
	}
	if unfinished > 100 {
		t.Errorf("%d executions unfinished at the end", unfinished)
	}
	t.Logf("%d executions unfinished at the end of the range", unfinished)
}

func TestWorkersAndSlots(t *testing.T) {
	w := weekData(t)
	p := NewPlatform(weekSeed)
	if len(p.Workspaces()) < 3 {
		t.Fatalf("workspaces: %v", p.Workspaces())
	}
	workerRe := regexp.MustCompile(`^([a-z]+)-worker-[0-9]+$`)
	type edge struct {
		at    time.Time
		delta int
	}
	edges := map[string][]edge{}
	for _, s := range w.order {
		if s.started.IsZero() {
			continue
		}
		m := workerRe.FindStringSubmatch(s.worker)
		if m == nil || m[1] != s.ws || !slices.Contains(p.Workers(s.ws), s.worker) {
			t.Fatalf("%s of %s ran on worker %q", s.id, s.ws, s.worker)
		}
		edges[s.worker] = append(edges[s.worker], edge{s.started, +1})
		if s.terminals > 0 {
			edges[s.worker] = append(edges[s.worker], edge{s.end, -1})
		}
	}
	for worker, es := range edges {
		// Ends before starts at the same instant: a freed slot is reused at once.
		slices.SortFunc(es, func(a, b edge) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return a.delta - b.delta
		})
		busy, peak := 0, 0
		for _, e := range es {
			busy += e.delta
			peak = max(peak, busy)
		}
		slots := p.Slots(strings.Split(worker, "-worker-")[0])
		if peak > slots {
			t.Errorf("worker %s ran %d executions at once, has %d slots", worker, peak, slots)
		}
		if peak < slots {
			t.Errorf("worker %s never used all its %d slots in a week (peak %d)", worker, slots, peak)
		}
	}
}

func TestWeekVolumeAndSpeed(t *testing.T) {
	w := weekData(t)
	t.Logf("7 days: %d executions, %d events, generated in %v", len(w.order), w.events, weekTook)
	if n := len(w.order); n < 100_000 || n > 200_000 {
		t.Errorf("%d executions in 7 days, want 100k-200k", n)
	}
	if w.events < 350_000 || w.events > 800_000 {
		t.Errorf("%d events in 7 days, want about 0.5M", w.events)
	}
	limit := 5 * time.Second
	if raceEnabled {
		limit *= 10
	}
	if weekTook > limit {
		t.Errorf("7 days took %v to generate, want under %v", weekTook, limit)
	}
}

func TestAgentProfiles(t *testing.T) {
	w := weekData(t)
	p := NewPlatform(weekSeed)
	agents := p.Agents()
	if len(agents) < 10 {
		t.Fatalf("%d agents, want at least 10", len(agents))
	}
	type stats struct {
		n, failed, cancelled, timedOut int
		durations                      []time.Duration
		triggers                       map[string]int
	}
	by := map[string]*stats{}
	perWS := map[string]int{}
	errTypes := map[string]int{}
	firstDay := weekFrom.Add(24 * time.Hour)
	for _, s := range w.order {
		perWS[s.ws]++
		st := by[s.agent]
		if st == nil {
			st = &stats{triggers: map[string]int{}}
			by[s.agent] = st
		}
		st.triggers[s.trigger]++
		if s.terminals == 0 || !s.queued.Before(firstDay) {
			continue // profiles as configured: the first day, before any degradation
		}
		st.n++
		switch s.terminal {
		case execution.Completed:
			st.durations = append(st.durations, s.duration())
		case execution.Failed:
			st.failed++
			errTypes[s.errType]++
		case execution.Cancelled:
			st.cancelled++
		case execution.TimedOut:
			st.timedOut++
		}
	}
	for _, a := range agents {
		st := by[a.ID]
		if st == nil || st.n < 20 {
			t.Errorf("agent %s: too few executions on the first day", a.ID)
			continue
		}
		got := median(slices.Clone(st.durations))
		want := a.Median
		if a.SlowShare > 0 {
			cut := time.Duration(math.Sqrt(float64(a.Median) * float64(a.SlowMedian)))
			slow := 0
			for _, d := range st.durations {
				if d > cut {
					slow++
				}
			}
			share := float64(slow) / float64(len(st.durations))
			if math.Abs(share-a.SlowShare) > 0.08 {
				t.Errorf("agent %s: %.2f of the runs slow, configured %.2f", a.ID, share, a.SlowShare)
			}
			// The mixture's median lies between the modes: check the fast mode's.
			var fast []time.Duration
			for _, d := range st.durations {
				if d <= cut {
					fast = append(fast, d)
				}
			}
			got = median(fast)
			want = a.Median
		}
		if r := float64(got) / float64(want); r < 0.67 || r > 1.5 {
			t.Errorf("agent %s: median duration %v, configured %v", a.ID, got, want)
		}
		failRate := float64(st.failed) / float64(st.n)
		if math.Abs(failRate-a.FailureRate) > 0.02+a.FailureRate/2 {
			t.Errorf("agent %s: failure rate %.3f, configured %.3f", a.ID, failRate, a.FailureRate)
		}
		if a.Every > 0 {
			if st.triggers["schedule"] != len(w.filter(a.ID)) {
				t.Errorf("scheduled agent %s has triggers %v", a.ID, st.triggers)
			}
		} else {
			for trig := range st.triggers {
				if !slices.ContainsFunc(a.Triggers, func(c Choice) bool { return c.Value == trig }) {
					t.Errorf("agent %s triggered by %q", a.ID, trig)
				}
			}
		}
		t.Logf("%-18s %-8s n(day1)=%5d median=%8v fail=%.3f cancel=%.3f timeout=%.3f triggers=%v",
			a.ID, a.Workspace, st.n, got.Round(time.Millisecond), failRate,
			float64(st.cancelled)/float64(st.n), float64(st.timedOut)/float64(st.n), st.triggers)
	}
	for _, ws := range p.Workspaces() {
		if perWS[ws] < 10_000 {
			t.Errorf("workspace %s has only %d executions", ws, perWS[ws])
		}
	}
	// Distinct profiles: the medians order as configured.
	order := []string{"ticket-classifier", "doc-summarizer", "deep-research"}
	for i := 1; i < len(order); i++ {
		if a, b := median(by[order[i-1]].durations), median(by[order[i]].durations); a*3 > b {
			t.Errorf("%s median %v not well below %s median %v", order[i-1], a, order[i], b)
		}
	}
	if len(errTypes) < 5 {
		t.Errorf("error types %v, want at least 5", errTypes)
	}
	total := map[execution.Type]int{}
	for _, s := range w.order {
		total[s.terminal]++
	}
	if total[execution.TimedOut] < 20 || total[execution.Cancelled] < 20 {
		t.Errorf("terminal statuses %v: want some timed_out and cancelled", total)
	}
	t.Logf("statuses %v, error types (day 1) %v", total, errTypes)
}

func (c *collector) filter(agent string) []*summary {
	var out []*summary
	for _, s := range c.order {
		if s.agent == agent {
			out = append(out, s)
		}
	}
	return out
}

func TestScheduledAgents(t *testing.T) {
	w := weekData(t)
	for _, a := range NewPlatform(weekSeed).Agents() {
		if a.Every <= 0 {
			continue
		}
		runs := w.filter(a.ID)
		if want := int(7 * 24 * time.Hour / a.Every); len(runs) != want {
			t.Errorf("%s ran %d times in a week, want %d", a.ID, len(runs), want)
		}
		for _, s := range runs {
			if s.queued.Truncate(a.Every) != s.queued || s.trigger != "schedule" {
				t.Fatalf("%s run %s queued at %v by %q", a.ID, s.id, s.queued, s.trigger)
			}
		}
	}
}

// onDemand counts the executions of on-demand agents queued in [from, to).
func onDemand(w *collector, ws string, from, to time.Time) []*summary {
	var out []*summary
	for _, s := range w.order {
		if (ws == "" || s.ws == ws) && s.trigger != "schedule" && !s.queued.Before(from) && s.queued.Before(to) {
			out = append(out, s)
		}
	}
	return out
}

func TestDailyAndWeeklyCycle(t *testing.T) {
	w := weekData(t)
	byHour := make([]int, 24)
	byDay := make([]int, 7)
	for _, s := range onDemand(w, "", weekFrom, weekTo) {
		byHour[s.queued.Hour()]++
		byDay[s.queued.Weekday()]++
	}
	night := byHour[1] + byHour[2] + byHour[3] + byHour[4]
	day := byHour[10] + byHour[11] + byHour[13] + byHour[14]
	t.Logf("by UTC hour %v", byHour)
	t.Logf("by weekday (Sunday first) %v", byDay)
	if night*3 > day {
		t.Errorf("01-05 UTC has %d executions, 10-12 and 13-15 UTC %d: want a clear daily cycle", night, day)
	}
	weekend := byDay[time.Saturday] + byDay[time.Sunday]
	weekdays := byDay[time.Tuesday] + byDay[time.Wednesday]
	if weekend*2 > weekdays {
		t.Errorf("the weekend has %d executions, Tuesday and Wednesday %d: want a quiet weekend", weekend, weekdays)
	}
}

func TestBurst(t *testing.T) {
	w := weekData(t)
	for d := range 7 {
		start := weekFrom.Add(time.Duration(d)*24*time.Hour + BurstAt)
		burst := onDemand(w, BurstWorkspace, start, start.Add(BurstLength))
		before := onDemand(w, BurstWorkspace, start.Add(-time.Hour), start.Add(-time.Hour+BurstLength))
		other := onDemand(w, "acme", start, start.Add(BurstLength))
		otherBefore := onDemand(w, "acme", start.Add(-time.Hour), start.Add(-time.Hour+BurstLength))
		var waitBurst, waitBefore time.Duration
		for _, s := range burst {
			waitBurst = max(waitBurst, s.wait())
		}
		for _, s := range before {
			waitBefore = max(waitBefore, s.wait())
		}
		t.Logf("%s: %s %d executions in the burst, %d an hour before; max queue wait %v vs %v",
			start.Weekday(), BurstWorkspace, len(burst), len(before), waitBurst, waitBefore)
		if len(burst) < 4*len(before) {
			t.Errorf("%s: %d executions in the burst, %d an hour before", start.Weekday(), len(burst), len(before))
		}
		if len(other) > 2*len(otherBefore)+10 {
			t.Errorf("%s: acme has a burst too (%d vs %d)", start.Weekday(), len(other), len(otherBefore))
		}
		if waitBurst < 30*time.Second || waitBurst < 5*waitBefore {
			t.Errorf("%s: max queue wait %v in the burst, %v an hour before", start.Weekday(), waitBurst, waitBefore)
		}
		// The wait grows through the burst: the last minutes wait longer than the first.
		var early, late []time.Duration
		for _, s := range burst {
			if s.queued.Before(start.Add(2 * time.Minute)) {
				early = append(early, s.wait())
			} else if !s.queued.Before(start.Add(BurstLength - 2*time.Minute)) {
				late = append(late, s.wait())
			}
		}
		if me, ml := median(early), median(late); ml <= me || ml < 10*time.Second {
			t.Errorf("%s: median queue wait %v early in the burst, %v late", start.Weekday(), me, ml)
		}
	}
}

func TestDegradingAgent(t *testing.T) {
	w := weekData(t)
	var degrading []Agent
	for _, a := range NewPlatform(weekSeed).Agents() {
		if a.Degrading {
			degrading = append(degrading, a)
		}
	}
	if len(degrading) == 0 {
		t.Fatal("no degrading agent")
	}
	for _, a := range degrading {
		type day struct {
			durations   []time.Duration
			n, failures int
		}
		var days [7]day
		for _, s := range w.filter(a.ID) {
			if s.terminals == 0 {
				continue
			}
			d := &days[int(s.queued.Sub(weekFrom)/(24*time.Hour))]
			d.n++
			switch s.terminal {
			case execution.Completed:
				d.durations = append(d.durations, s.duration())
			case execution.Failed, execution.TimedOut:
				d.failures++
			}
		}
		prev := time.Duration(0)
		for i := range days {
			m := median(days[i].durations)
			rate := float64(days[i].failures) / float64(days[i].n)
			t.Logf("%s day %d: %d runs, median %v, failure rate %.3f", a.ID, i+1, days[i].n, m, rate)
			if m < prev*9/10 {
				t.Errorf("%s: median fell from %v to %v on day %d", a.ID, prev, m, i+1)
			}
			prev = m
		}
		first, last := median(days[0].durations), median(days[6].durations)
		if last < 2*first {
			t.Errorf("%s: median %v on the last day, %v on the first", a.ID, last, first)
		}
		f0 := float64(days[0].failures) / float64(days[0].n)
		f6 := float64(days[6].failures) / float64(days[6].n)
		if f6 < f0+0.05 {
			t.Errorf("%s: failure rate %.3f on the last day, %.3f on the first", a.ID, f6, f0)
		}
	}
}

func TestBatchSizes(t *testing.T) {
	p := NewPlatform(5)
	c := newCollector()
	from := weekFrom.Add(2*24*time.Hour + 9*time.Hour)
	if err := p.History(from, from.Add(time.Hour), 7, c.emit); err != nil {
		t.Fatal(err)
	}
	if c.events < 100 {
		t.Fatalf("only %d events", c.events)
	}
	for i, n := range c.batches {
		if n < 1 || n > 7 || n != 7 && i != len(c.batches)-1 {
			t.Fatalf("batch %d of %d has %d events", i, len(c.batches), n)
		}
	}
	if err := p.History(from, from.Add(time.Hour), 0, c.emit); err == nil {
		t.Error("batch size 0 accepted")
	}
	// An emit error stops the generation and is returned.
	boom := fmt.Errorf("boom")
	calls := 0
	err := NewPlatform(5).History(from, from.Add(time.Hour), 10, func([]execution.Event) error { calls++; return boom })
	if err != boom || calls != 1 {
		t.Errorf("History returned %v after %d calls, want boom after 1", err, calls)
	}
}

// liveRecorder collects what Live emits, with the clock at each emission.
type liveRecorder struct {
	mu      sync.Mutex
	events  []execution.Event
	batches []int
	late    []string // events emitted before their time
}

func (r *liveRecorder) emit(now func() time.Time, size int) func([]execution.Event) error {
	return func(evs []execution.Event) error {
		at := now()
		r.mu.Lock()
		defer r.mu.Unlock()
		r.batches = append(r.batches, len(evs))
		for _, ev := range evs {
			if ev.Timestamp.After(at) {
				r.late = append(r.late, fmt.Sprintf("%s at %v emitted at %v", ev.EventID, ev.Timestamp, at))
			}
		}
		r.events = append(r.events, evs...)
		return nil
	}
}

func (r *liveRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }

func history(t *testing.T, seed uint64, from, to time.Time) []execution.Event {
	t.Helper()
	var out []execution.Event
	if err := NewPlatform(seed).History(from, to, 1000, func(evs []execution.Event) error {
		out = append(out, evs...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func countUpTo(evs []execution.Event, t time.Time) int {
	n, _ := slices.BinarySearchFunc(evs, t, func(ev execution.Event, t time.Time) int {
		if ev.Timestamp.After(t) {
			return 1
		}
		return -1
	})
	return n
}

func eventIDs(evs []execution.Event) []string {
	out := make([]string, len(evs))
	for i := range evs {
		out[i] = evs[i].EventID
	}
	return out
}

// waitFor polls until cond holds, returning how long it took, or fails after d.
func waitFor(t *testing.T, d time.Duration, cond func() bool) time.Duration {
	t.Helper()
	t0 := time.Now()
	for !cond() {
		if time.Since(t0) > d {
			t.Fatalf("condition not met after %v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(t0)
}

func TestLiveFakeClock(t *testing.T) {
	const seed, size = 3, 50
	start := weekFrom.Add(2*24*time.Hour + BurstAt - 5*time.Minute) // Wednesday, into the burst
	steps := 6
	step := 2 * time.Minute
	ref := history(t, seed, start, start.Add(time.Duration(steps)*step+time.Millisecond))

	clock := &fakeClock{}
	clock.set(start)
	rec := &liveRecorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewPlatform(seed).Live(ctx, start, clock.now, size, rec.emit(clock.now, size)) }()

	slowest := time.Duration(0)
	for i := 1; i <= steps; i++ {
		at := start.Add(time.Duration(i) * step)
		clock.set(at)
		want := countUpTo(ref, at)
		// Due events are flushed within a tick even when no batch is full.
		took := waitFor(t, 2*time.Second, func() bool { return rec.count() >= want })
		slowest = max(slowest, took)
		time.Sleep(20 * time.Millisecond)
		if n := rec.count(); n != want {
			t.Fatalf("at %v: %d events emitted, %d due", at, n, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Live returned %v", err)
	}
	t.Logf("%d events in %d batches, slowest flush %v", len(rec.events), len(rec.batches), slowest)
	if slowest > time.Second {
		t.Errorf("a flush took %v", slowest)
	}
	for _, l := range rec.late {
		t.Error("emitted early:", l)
	}
	for _, n := range rec.batches {
		if n < 1 || n > size {
			t.Fatalf("batch of %d events", n)
		}
	}
	c := newCollector()
	c.emit(rec.events) // checks validity and time order
	for _, p := range c.problems {
		t.Error(p)
	}
	if !slices.Equal(eventIDs(rec.events), eventIDs(ref)) {
		t.Error("Live emitted other events than History for the same range")
	}
}

func TestHistoryThenLiveContinues(t *testing.T) {
	const seed = 9
	from := weekFrom.Add(24 * time.Hour)
	mid := from.Add(BurstAt + 8*time.Minute) // globex is queueing
	end := mid.Add(30 * time.Minute)
	p := NewPlatform(seed)

	hist := newCollector()
	if err := p.History(from, mid, 500, hist.emit); err != nil {
		t.Fatal(err)
	}
	running, queued := 0, 0
	for _, s := range hist.order {
		switch {
		case s.terminals > 0:
		case s.started.IsZero():
			queued++
		default:
			running++
		}
	}
	t.Logf("at the boundary: %d running, %d queued", running, queued)
	if running < 5 || queued < 5 {
		t.Fatalf("only %d running and %d queued at the boundary: the test needs both", running, queued)
	}

	clock := &fakeClock{}
	clock.set(end)
	rec := &liveRecorder{}
	ref := history(t, seed, from, end.Add(time.Millisecond))
	want := len(ref) - hist.events
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Live(ctx, mid, clock.now, 200, rec.emit(clock.now, 200)) }()
	waitFor(t, 5*time.Second, func() bool { return rec.count() >= want })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Together they are exactly the history of the whole range.
	all := newCollector()
	var combined []execution.Event
	combined = append(combined, history(t, seed, from, mid)...)
	combined = append(combined, rec.events...)
	all.emit(combined)
	for _, p := range all.problems {
		t.Error(p)
	}
	if !slices.Equal(eventIDs(combined), eventIDs(ref)) {
		t.Fatalf("History+Live gave %d events, one History %d, or in another order", len(combined), len(ref))
	}
	for _, s := range hist.order {
		if s.terminals > 0 {
			continue
		}
		c := all.execs[s.id]
		if c.terminals != 1 || c.started.IsZero() {
			t.Errorf("%s, unfinished at the boundary, has %d terminal events after Live", s.id, c.terminals)
		}
		for _, p := range c.problems {
			t.Errorf("%s: %s", s.id, p)
		}
	}
	for _, ev := range rec.events {
		if ev.Timestamp.Before(mid) {
			t.Fatalf("Live re-emitted %s at %v", ev.EventID, ev.Timestamp)
		}
	}
}

func TestLiveRestartsElsewhere(t *testing.T) {
	// A Live that does not start where History ended starts afresh at its start.
	p := NewPlatform(4)
	from := weekFrom.Add(9 * time.Hour)
	if err := p.History(from, from.Add(time.Hour), 100, func([]execution.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	start := from.Add(3 * time.Hour)
	clock := &fakeClock{}
	clock.set(start.Add(10 * time.Minute))
	rec := &liveRecorder{}
	ref := history(t, 4, start, start.Add(10*time.Minute+time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Live(ctx, start, clock.now, 100, rec.emit(clock.now, 100)) }()
	waitFor(t, 5*time.Second, func() bool { return rec.count() >= len(ref) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(eventIDs(rec.events), eventIDs(ref)) {
		t.Error("Live from another start did not restart the simulation")
	}
}

func BenchmarkHistoryWeek(b *testing.B) {
	for b.Loop() {
		n := 0
		err := NewPlatform(weekSeed).History(weekFrom, weekTo, 1000, func(evs []execution.Event) error {
			n += len(evs)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n), "events")
	}
}

func TestBeatsLeaveTheExecutionsAlone(t *testing.T) {
	from := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	to := from.Add(2 * time.Hour)
	collect := func(p *Platform) []execution.Event {
		var evs []execution.Event
		if err := p.History(from, to, 1000, func(b []execution.Event) error { evs = append(evs, b...); return nil }); err != nil {
			t.Fatal(err)
		}
		return evs
	}
	plain := collect(NewPlatform(7))
	p := NewPlatform(7)
	var beats []Beat
	p.OnBeat(time.Minute, func(b []Beat) error { beats = append(beats, b...); return nil })
	withBeats := collect(p)
	if !reflect.DeepEqual(plain, withBeats) {
		t.Fatal("the events differ when workers report beats")
	}
	workers := 0
	for _, ws := range p.Workspaces() {
		workers += len(p.Workers(ws))
	}
	if len(beats) != 120*workers {
		t.Fatalf("got %d beats, want one a minute for 2 hours from each of %d workers", len(beats), workers)
	}
	busy := 0
	for i, b := range beats {
		if b.Busy < 0 || b.Busy > b.Slots || b.CPUPercent < 0 || b.CPUPercent > 100 || b.MemoryBytes > b.MemoryLimit {
			t.Fatalf("beat %d out of bounds: %+v", i, b)
		}
		if b.At.Before(from) || b.At.After(to) || b.At.Second() != 0 || b.Every != time.Minute {
			t.Fatalf("beat %d at %v every %v, want whole minutes in the range", i, b.At, b.Every)
		}
		busy += b.Busy
	}
	// 14:00-16:00 UTC on a Monday is peak time, with globex's burst: the
	// pools are far from idle.
	if busy == 0 {
		t.Fatal("no worker was ever busy at peak time")
	}
}
