package patterns

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shadower/shadower/internal/rollup"
)

// Watching: how often the watcher looks, how long it waits for a minute's
// late events before judging it, and how much it reads when it starts.
const (
	Tick    = 15 * time.Second
	Grace   = 10 * time.Second
	History = 28 * 24 * time.Hour // hour rows read as baseline history
	Replay  = 24 * time.Hour      // minutes judged again at start
	window  = 5                   // minutes behind error rate and the p95s
	// maxContributors caps the agents an explanation names.
	maxContributors = 3
)

// Source is what the watcher reads and writes.
type Source interface {
	RollupRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, agents []string, sketches bool) ([]*rollup.Row, error)
	Workspaces(ctx context.Context) ([]string, error)
	SaveFindings(ctx context.Context, rs []Record) error
}

// Watcher runs detection as data arrives: every minute, once its late
// events have had Grace to land, each workspace and each of its agents is
// judged on every metric, and findings are stored and announced.
type Watcher struct {
	src      Source
	now      func() time.Time
	announce Announce
	log      *slog.Logger

	mu  sync.Mutex
	wss map[string]*watched
	gen int // counts Reseed calls: a seed begun before one is dropped
}

type watched struct {
	scopes map[string]*scope // only the watcher's goroutine touches them

	// What Status tells, set under Watcher.mu.
	through      time.Time // end of the last minute judged
	baseline     string
	historyHours float64
}

// scope is the series of the workspace (rollup.AllAgents) or one agent.
type scope struct {
	series map[Metric]*Series
	last   map[Metric]Assessment
	open   map[Metric]*Record // findings still growing
	drift  map[Metric]*driftState
}

// scope returns the scope of agent, new if need be.
func (st *watched) scope(agent string) *scope {
	sc := st.scopes[agent]
	if sc == nil {
		sc = &scope{series: map[Metric]*Series{}, last: map[Metric]Assessment{}, open: map[Metric]*Record{},
			drift: map[Metric]*driftState{}}
		for _, m := range Metrics {
			sc.series[m] = NewSeries(m)
		}
		st.scopes[agent] = sc
	}
	return sc
}

// Announce is how the watcher tells the rest of the service what it finds.
// Either may be nil.
type Announce struct {
	// Finding is told of each new finding and of each that turns critical.
	Finding func(ws string, r Record)
	// Replayed is told that n findings of past minutes (distinct ids) were
	// stored while history was read: old news, for open pages to show but
	// not to raise.
	Replayed func(ws string, n int)
}

// NewWatcher returns a watcher that tells announce what it finds.
func NewWatcher(src Source, now func() time.Time, announce Announce, log *slog.Logger) *Watcher {
	return &Watcher{src: src, now: now, announce: announce, log: log, wss: map[string]*watched{}}
}

// Run watches until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(Tick)
	defer t.Stop()
	for {
		if err := w.Step(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("anomaly detection", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step judges every minute that has closed since the last step.
func (w *Watcher) Step(ctx context.Context) error {
	wss, err := w.src.Workspaces(ctx)
	if err != nil {
		return err
	}
	until := w.now().Add(-Grace).Truncate(time.Minute)
	for _, ws := range wss {
		w.mu.Lock()
		st, gen := w.wss[ws], w.gen
		w.mu.Unlock()
		if st == nil {
			if err := w.seed(ctx, ws, until, gen); err != nil {
				return fmt.Errorf("workspace %s: %w", ws, err)
			}
			continue
		}
		if err := w.judge(ctx, ws, st, until, true); err != nil {
			return fmt.Errorf("workspace %s: %w", ws, err)
		}
	}
	return nil
}

// Reseed forgets what the watcher learnt, so the next step reads history
// again: after a bulk import of past events.
func (w *Watcher) Reseed() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.wss = map[string]*watched{}
	w.gen++
}

// Status tells how far detection has got with ws.
func (w *Watcher) Status(ws string) Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.wss[ws]
	if st == nil {
		return Status{Baseline: BaselineNone}
	}
	through := st.through
	return Status{Running: true, EvaluatedThrough: &through, Baseline: st.baseline, HistoryHours: st.historyHours}
}

// seed reads the hour rows of History as baseline, then judges the minutes
// of Replay without announcing what it finds (that is old news).
func (w *Watcher) seed(ctx context.Context, ws string, until time.Time, gen int) error {
	replayFrom := until.Add(-Replay).Truncate(time.Hour)
	st := &watched{through: replayFrom, scopes: map[string]*scope{}, baseline: BaselineNone}
	rows, err := w.src.RollupRange(ctx, ws, rollup.Hour, replayFrom.Add(-History).Unix(), replayFrom.Unix(), nil, true)
	if err != nil {
		return err
	}
	byAgent := map[string][]*rollup.Row{}
	for _, r := range rows {
		byAgent[r.AgentID] = append(byAgent[r.AgentID], r)
	}
	for agent, rs := range byAgent {
		sc := st.scope(agent)
		sort.Slice(rs, func(i, j int) bool { return rs[i].Bucket < rs[j].Bucket })
		// Throughput: an hour without a row finished nothing.
		next := rs[0].Bucket
		for _, r := range rs {
			for ; next < r.Bucket; next += 3600 {
				sc.series[Throughput].SeedHour(time.Unix(next, 0).UTC(), 0, 0)
			}
			next = r.Bucket + 3600
			at := time.Unix(r.Bucket, 0).UTC()
			v, err := measure(r, 60)
			if err != nil {
				return err
			}
			for _, m := range Metrics {
				if p := v[m]; m == Throughput || p.N > 0 {
					sc.series[m].SeedHour(at, p.Value, p.N)
				}
			}
		}
		for ; next < replayFrom.Unix(); next += 3600 {
			sc.series[Throughput].SeedHour(time.Unix(next, 0).UTC(), 0, 0)
		}
	}
	if err := w.judge(ctx, ws, st, until, false); err != nil {
		return err
	}
	w.mu.Lock()
	if w.gen == gen {
		w.wss[ws] = st
	}
	w.mu.Unlock()
	return nil
}

// judge feeds every minute from st.through to until to the series, reading
// rows a few hours at a time.
func (w *Watcher) judge(ctx context.Context, ws string, st *watched, until time.Time, announce bool) error {
	const chunk = 6 * time.Hour
	replayed := map[string]bool{} // ids of findings stored unannounced, told once at the end
	for st.through.Before(until) {
		end := st.through.Add(chunk)
		if end.After(until) {
			end = until
		}
		rows, err := w.src.RollupRange(ctx, ws, rollup.Minute, st.through.Add(-(window-1)*time.Minute).Unix(), end.Unix(), nil, true)
		if err != nil {
			return err
		}
		byMinute := map[int64]map[string]*rollup.Row{}
		for _, r := range rows {
			if byMinute[r.Bucket] == nil {
				byMinute[r.Bucket] = map[string]*rollup.Row{}
			}
			byMinute[r.Bucket][r.AgentID] = r
			st.scope(r.AgentID)
		}
		var found []Record
		var news []Record
		// The hour rows every drift check of the chunk reads, read once at
		// its first whole hour.
		var byHour map[string]map[int64]*rollup.Row
		for m := st.through; m.Before(end); m = m.Add(time.Minute) {
			f, n, err := w.minute(ws, st, m, byMinute)
			if err != nil {
				return err
			}
			found, news = append(found, f...), append(news, n...)
			if next := m.Add(time.Minute); next.Truncate(time.Hour).Equal(next) {
				if byHour == nil {
					if byHour, err = w.hourRows(ctx, ws, next.Add(-DriftSpan-DriftDays*24*time.Hour), end.Truncate(time.Hour)); err != nil {
						return err
					}
				}
				f, n, err := w.judgeDriftHour(ws, st, next, byHour)
				if err != nil {
					return err
				}
				found, news = append(found, f...), append(news, n...)
			}
		}
		if len(found) > 0 {
			if err := w.src.SaveFindings(ctx, found); err != nil {
				return err
			}
		}
		baseline, hours := BaselineNone, 0.0
		if sc := st.scopes[rollup.AllAgents]; sc != nil {
			baseline, hours = sc.series[Throughput].Baseline(), math.Round(sc.series[Throughput].HistoryHours()*10)/10
		}
		w.mu.Lock()
		st.through, st.baseline, st.historyHours = end, baseline, hours
		w.mu.Unlock()
		switch {
		case !announce:
			for _, r := range found {
				replayed[r.ID] = true
			}
		case w.announce.Finding != nil:
			for _, r := range news {
				w.announce.Finding(ws, r)
			}
		}
	}
	if len(replayed) > 0 && w.announce.Replayed != nil {
		w.announce.Replayed(ws, len(replayed))
	}
	return nil
}

// hourRows reads the hour rows of ws in [from, to), by agent and bucket.
func (w *Watcher) hourRows(ctx context.Context, ws string, from, to time.Time) (map[string]map[int64]*rollup.Row, error) {
	rows, err := w.src.RollupRange(ctx, ws, rollup.Hour, from.Unix(), to.Unix(), nil, true)
	if err != nil {
		return nil, err
	}
	byAgent := map[string]map[int64]*rollup.Row{}
	for _, r := range rows {
		if byAgent[r.AgentID] == nil {
			byAgent[r.AgentID] = map[int64]*rollup.Row{}
		}
		byAgent[r.AgentID][r.Bucket] = r
	}
	return byAgent, nil
}

// minute judges minute m in every scope. It returns the findings that
// changed, and those worth announcing (new, or turned critical).
func (w *Watcher) minute(ws string, st *watched, m time.Time, byMinute map[int64]map[string]*rollup.Row) (changed, news []Record, err error) {
	points := map[string]map[Metric]Point{}
	for agent := range st.scopes {
		total := &rollup.Row{}
		for k := 0; k < window; k++ {
			if r := byMinute[m.Add(-time.Duration(k)*time.Minute).Unix()][agent]; r != nil {
				if err := total.Merge(r); err != nil {
					return nil, nil, err
				}
			}
		}
		v, err := measure(total, 1)
		if err != nil {
			return nil, nil, err
		}
		var now float64 // throughput is the minute's own count
		if r := byMinute[m.Unix()][agent]; r != nil {
			now = float64(r.Finished())
		}
		v[Throughput] = Point{Value: now, N: now}
		points[agent] = v
	}
	type result struct {
		agent string
		m     Metric
		f     *Finding
	}
	var results []result
	for agent, sc := range st.scopes {
		for _, metric := range Metrics {
			p := points[agent][metric]
			p.T = m
			a, f := sc.series[metric].Add(p)
			sc.last[metric] = a
			if f != nil {
				results = append(results, result{agent, metric, f})
			}
		}
	}
	// Explanations read every agent's assessment of the minute, so they
	// are written once all scopes have been judged.
	for _, res := range results {
		if res.f.Direction == "down" && res.m != Throughput {
			// Shorter runs, shorter waits, fewer errors: good news, not
			// something to act on.
			continue
		}
		sc := st.scopes[res.agent]
		prev := sc.open[res.m]
		// Contributors are those of the finding's most extreme minute.
		var contrib []Contributor
		if prev != nil && prev.Score == round(res.f.Score) {
			contrib = prev.Contributors
		} else if res.agent == rollup.AllAgents {
			contrib = contributors(st, res.m, res.f.Direction)
		}
		rec := w.record(ws, res.agent, res.m, res.f, contrib)
		if prev == nil || prev.ID != rec.ID {
			news = append(news, rec)
		} else if prev.Severity != rec.Severity && rec.Severity == "critical" {
			news = append(news, rec)
		}
		if rec.Ongoing {
			sc.open[res.m] = &rec
		} else {
			delete(sc.open, res.m)
		}
		changed = append(changed, rec)
	}
	return changed, news, nil
}

// measure reads the metrics of a row spanning minutes minutes.
func measure(r *rollup.Row, minutes float64) (map[Metric]Point, error) {
	v := map[Metric]Point{}
	fin := float64(r.Finished())
	v[Throughput] = Point{Value: fin / minutes, N: fin}
	if den := float64(r.Completed + r.Failed + r.TimedOut); den > 0 {
		v[ErrorRate] = Point{Value: float64(r.Failed+r.TimedOut) / den, N: den}
	}
	for m, s := range map[Metric]*rollup.Stat{DurationP95: &r.Duration, QueueWaitP95: &r.QueueWait} {
		if s.Count == 0 {
			continue
		}
		q, ok, err := s.Quantile(0.95)
		if err != nil {
			return nil, err
		}
		if ok {
			v[m] = Point{Value: q, N: float64(s.Count)}
		}
	}
	return v, nil
}

// record makes the stored form of a finding, with its explanation.
func (w *Watcher) record(ws, agent string, m Metric, f *Finding, contrib []Contributor) Record {
	r, subject := w.newRecord(ws, agent, string(m), string(m), f.Direction, f.Start)
	r.End, r.Ongoing, r.Observed, r.Expected, r.Score = f.End, f.Ongoing, round(f.Observed), round(f.Expected), round(f.Score)
	r.Severity, r.Baseline = f.Severity, f.Baseline
	if contrib != nil {
		r.Contributors = contrib
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s was %s against %s expected", subject, describe(m), format(m, f.Observed), format(m, f.Expected))
	if f.Expected > 0 {
		fmt.Fprintf(&b, " (%s)", relative(f.Observed/f.Expected))
	}
	fmt.Fprintf(&b, " from %s UTC", f.Start.UTC().Format("Jan 2 15:04"))
	if !f.Ongoing {
		fmt.Fprintf(&b, " to %s", f.End.UTC().Format("15:04"))
	}
	if len(r.Contributors) > 0 {
		parts := make([]string, len(r.Contributors))
		for i, c := range r.Contributors {
			parts[i] = fmt.Sprintf("%s (%.0f%%)", c.AgentID, c.Share*100)
		}
		fmt.Fprintf(&b, "; mostly %s", strings.Join(parts, ", "))
	}
	b.WriteString(".")
	r.Explanation = b.String()
	return r
}

// newRecord starts the record of a finding of agent (rollup.AllAgents for
// the workspace) on metric, with its id, which kind names (the check that
// found it), and the subject its explanation opens with.
func (w *Watcher) newRecord(ws, agent, metric, kind, direction string, start time.Time) (Record, string) {
	r := Record{ID: RecordID(ws, agent, kind, direction, start), WorkspaceID: ws, Metric: metric, Direction: direction,
		Start: start, Contributors: []Contributor{}, UpdatedAt: w.now().UTC()}
	if agent == rollup.AllAgents {
		return r, "The workspace's"
	}
	r.AgentID = &agent
	return r, "Agent " + agent + "'s"
}

// contributors are the agents whose own deviation in the finding's
// direction makes up most of the workspace's, largest first.
func contributors(st *watched, m Metric, direction string) []Contributor {
	sign := 1.0
	if direction == "down" {
		sign = -1
	}
	type part struct {
		agent  string
		a      Assessment
		excess float64
	}
	var parts []part
	var total float64
	for agent, sc := range st.scopes {
		a, ok := sc.last[m]
		if agent == rollup.AllAgents || !ok || !a.Judged {
			continue
		}
		excess := sign * (a.Observed - a.Expected)
		if excess <= 0 {
			continue
		}
		parts = append(parts, part{agent, a, excess})
		total += excess
	}
	sort.Slice(parts, func(i, j int) bool {
		if parts[i].excess != parts[j].excess {
			return parts[i].excess > parts[j].excess
		}
		return parts[i].agent < parts[j].agent
	})
	out := []Contributor{}
	for _, p := range parts {
		share := p.excess / total
		if len(out) == maxContributors || share < 0.1 {
			break
		}
		out = append(out, Contributor{AgentID: p.agent, Observed: round(p.a.Observed), Expected: round(p.a.Expected),
			Share: math.Round(share*1000) / 1000})
	}
	return out
}

func describe(m Metric) string {
	switch m {
	case Throughput:
		return "throughput"
	case ErrorRate:
		return "error rate (last 5 minutes)"
	case DurationP95:
		return "p95 run time (last 5 minutes)"
	default:
		return "p95 queue wait (last 5 minutes)"
	}
}

func format(m Metric, v float64) string {
	switch m {
	case Throughput:
		return fmt.Sprintf("%.0f/min", v)
	case ErrorRate:
		return fmt.Sprintf("%.1f%%", v*100)
	default:
		if v >= 1000 {
			return fmt.Sprintf("%.1f s", v/1000)
		}
		return fmt.Sprintf("%.0f ms", v)
	}
}

func relative(x float64) string {
	if x >= 2 {
		return fmt.Sprintf("%.1f×", x)
	}
	return fmt.Sprintf("%+.0f%%", (x-1)*100)
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }
