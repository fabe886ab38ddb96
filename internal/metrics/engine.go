package metrics

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/shadower/shadower/internal/patterns"
	"github.com/shadower/shadower/internal/realtime"
	"github.com/shadower/shadower/internal/resources"
	"github.com/shadower/shadower/internal/rollup"
)

// Rollups reads rollup rows.
type Rollups interface {
	// RollupRange returns rows of one tier with buckets in [from, to), for
	// the given agents (all rows when agents is empty). Error counts come
	// only with the sketches.
	RollupRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, agents []string, sketches bool) ([]*rollup.Row, error)
}

// Gauges reads gauge rows (sampled values: workers' load, the backlog).
type Gauges interface {
	GaugeRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, gauges []string) ([]rollup.GaugeRow, error)
}

// Workers reads the workers' latest heartbeats.
type Workers interface {
	Workers(ctx context.Context, ws string, since time.Time) ([]resources.Worker, error)
}

// Live is the in-memory view of what runs and waits now.
type Live interface {
	Queue(ws string, agents []string) realtime.Queue
	RunningByWorker(ws string) map[string]int
}

// Findings reads the anomaly detector's findings and state.
type Findings interface {
	Findings(ctx context.Context, ws string, from, to time.Time) ([]patterns.Record, error)
}

// Detector tells how far the anomaly detector has got with a workspace.
type Detector interface {
	Status(ws string) patterns.Status
}

// Sources is everything the engine reads.
type Sources struct {
	Rollups  Rollups
	Gauges   Gauges
	Workers  Workers
	Findings Findings
	Live     Live
	Detector Detector
	// Host is the latest sample of the service's own host.
	Host func() resources.Host
	// Spans, when set, keeps merged spans of ended days across requests;
	// whoever commits events must tell it what changed (SpanCache.Forget).
	Spans *SpanCache
}

// Engine computes the window sections.
type Engine struct {
	rollups Rollups
	src     Sources
	now     func() time.Time
}

// NewEngine returns an engine reading from src.
func NewEngine(src Sources, now func() time.Time) *Engine {
	if now == nil {
		now = time.Now
	}
	e := &Engine{rollups: src.Rollups, src: src, now: now}
	if src.Spans != nil {
		e.rollups = &cachedRollups{src: src.Rollups, spans: src.Spans}
	}
	return e
}

// elapsed is how much of the window has passed.
func (e *Engine) elapsed(w Window) time.Duration {
	end := e.now()
	if end.After(w.To) {
		end = w.To
	}
	return end.Sub(w.From)
}

// selection is the agents a window's totals are read for: the workspace
// total row when no filter is given.
func selection(w Window) []string {
	if len(w.Agents) == 0 {
		return []string{rollup.AllAgents}
	}
	return w.Agents
}

// cover reads the fewest rows that tile [from, to) exactly. A span of ended
// buckets may come merged, one row per agent: callers only add rows up.
func (e *Engine) cover(ctx context.Context, ws string, from, to time.Time, max rollup.Tier, agents []string, sketches bool) ([]*rollup.Row, error) {
	var out []*rollup.Row
	for _, sp := range e.spans(rollup.Cover(from.Unix(), to.Unix(), max)) {
		read := func(ctx context.Context) ([]*rollup.Row, error) {
			return e.rollups.RollupRange(ctx, ws, sp.Tier, sp.From, sp.To, agents, sketches)
		}
		var rows []*rollup.Row
		var err error
		if e.src.Spans != nil && sp.To <= e.src.Spans.ended(sp.Tier) {
			rows, err = e.src.Spans.merged(ctx, ws, sp, agents, sketches, read)
		} else {
			rows, err = read(ctx)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// spans splits each span reaching into its tier's open bucket there, so
// the part that has ended can come from the span cache.
func (e *Engine) spans(cover []rollup.Span) []rollup.Span {
	if e.src.Spans == nil {
		return cover
	}
	var out []rollup.Span
	for _, sp := range cover {
		if open := e.src.Spans.ended(sp.Tier); sp.From < open && open < sp.To {
			out = append(out, rollup.Span{Tier: sp.Tier, From: sp.From, To: open}, rollup.Span{Tier: sp.Tier, From: open, To: sp.To})
		} else {
			out = append(out, sp)
		}
	}
	return out
}

func sum(rows []*rollup.Row) (*rollup.Row, error) {
	total := &rollup.Row{}
	for _, r := range rows {
		if err := total.Merge(r); err != nil {
			return nil, err
		}
	}
	return total, nil
}

// Throughput computes the throughput section.
func (e *Engine) Throughput(ctx context.Context, ws string, w Window) (*Throughput, error) {
	sel := selection(w)
	tier := rollup.TierFor(w.Step)
	rows, err := e.rollups.RollupRange(ctx, ws, tier, w.From.Unix(), w.To.Unix(), sel, false)
	if err != nil {
		return nil, err
	}
	n := (w.To.Unix() - w.From.Unix()) / w.Step
	t := &Throughput{From: w.From, To: w.To, StepSeconds: w.Step, Series: make([]Point, n)}
	for i := range t.Series {
		t.Series[i].T = w.From.Add(time.Duration(int64(i)*w.Step) * time.Second)
	}
	// Per bucket, a single row's peak is exact; several agents' minute
	// totals add up exactly, and their coarser peaks add up to a bound.
	type bucketKey = int64
	peaks := map[bucketKey]int64{}
	for _, r := range rows {
		p := &t.Series[(r.Bucket-w.From.Unix())/w.Step]
		p.Started += r.Started
		p.Completed += r.Completed
		p.Failed += r.Failed
		p.TimedOut += r.TimedOut
		p.Cancelled += r.Cancelled
		p.Total += r.Finished()
		if tier == rollup.Minute {
			peaks[r.Bucket] += r.Finished()
		} else {
			peaks[r.Bucket] += r.PeakMinute
		}
	}
	for _, p := range t.Series {
		t.Started += p.Started
		t.Completed += p.Completed
		t.Failed += p.Failed
		t.TimedOut += p.TimedOut
		t.Cancelled += p.Cancelled
		t.Total += p.Total
	}
	for _, v := range peaks {
		t.PeakPerMinute = max(t.PeakPerMinute, v)
	}
	// Averages are over the time that has passed, not the part of the
	// last bucket still to come.
	elapsed := e.elapsed(w)
	if elapsed > 0 {
		t.PerMinute = float64(t.Total) / elapsed.Minutes()
		t.PerHour = float64(t.Total) / elapsed.Hours()
		t.PerDay = float64(t.Total) / (elapsed.Hours() / 24)
	}
	prev := w.Previous()
	prevRows, err := e.cover(ctx, ws, prev.From, prev.To, rollup.Day, sel, false)
	if err != nil {
		return nil, err
	}
	for _, r := range prevRows {
		t.PreviousTotal += r.Finished()
	}
	t.TrendPct = pctChange(float64(t.Total), float64(t.PreviousTotal))
	return t, nil
}

var quantiles = []float64{0.50, 0.75, 0.90, 0.95, 0.99}

// Latency computes the latency section.
func (e *Engine) Latency(ctx context.Context, ws string, w Window) (*Latency, error) {
	rows, err := e.cover(ctx, ws, w.From, w.To, rollup.Day, selection(w), true)
	if err != nil {
		return nil, err
	}
	total, err := sum(rows)
	if err != nil {
		return nil, err
	}
	return latencyOf(total)
}

func latencyOf(total *rollup.Row) (*Latency, error) {
	d := &total.Duration
	l := &Latency{Count: d.Count, Distribution: []HistBucket{}}
	qs, err := percentiles(d)
	if err != nil {
		return nil, err
	}
	l.P50Ms, l.P75Ms, l.P90Ms, l.P95Ms, l.P99Ms = qs[0], qs[1], qs[2], qs[3], qs[4]
	if d.Count > 0 {
		l.MinMs, l.MaxMs, l.MeanMs = ms(d.Min), ms(d.Max), ms(d.Mean())
		sk, err := d.Sketch()
		if err != nil {
			return nil, err
		}
		bounds := logBounds(d.Min, d.Max)
		for i, c := range sk.Histogram(bounds) {
			l.Distribution = append(l.Distribution, HistBucket{FromMs: bounds[i], ToMs: bounds[i+1], Count: c})
		}
	}
	q := &total.QueueWait
	l.QueueWait.Count = q.Count
	if q.Count > 0 {
		qs, err := percentiles(q)
		if err != nil {
			return nil, err
		}
		l.QueueWait.P50Ms, l.QueueWait.P75Ms, l.QueueWait.P90Ms, l.QueueWait.P95Ms, l.QueueWait.P99Ms = qs[0], qs[1], qs[2], qs[3], qs[4]
		l.QueueWait.MinMs, l.QueueWait.MaxMs, l.QueueWait.MeanMs = ms(q.Min), ms(q.Max), ms(q.Mean())
	}
	return l, nil
}

func percentiles(s *rollup.Stat) ([]*float64, error) {
	out := make([]*float64, len(quantiles))
	for i, q := range quantiles {
		v, ok, err := s.Quantile(q)
		if err != nil {
			return nil, err
		}
		if ok {
			out[i] = ms(v)
		}
	}
	return out, nil
}

// logBounds are 1-2-5 bounds from at or below lo to above hi, so the
// histogram reads well on a log axis whatever the range.
func logBounds(lo, hi float64) []float64 {
	var bounds []float64
	v := 1.0
	if lo < 1 {
		bounds = append(bounds, 0)
	} else {
		dec := decade(lo)
		v = dec
		for _, m := range []float64{5, 2} {
			if dec*m <= lo {
				v = dec * m
				break
			}
		}
	}
	for {
		bounds = append(bounds, v)
		if v > hi {
			return bounds
		}
		dec := decade(v)
		switch math.Round(v / dec) {
		case 1:
			v = 2 * dec
		case 2:
			v = 5 * dec
		default:
			v = 10 * dec
		}
	}
}

// decade is the power of ten at or below v (v >= 1).
func decade(v float64) float64 { return math.Pow(10, math.Floor(math.Log10(v)+1e-9)) }

// Performance computes the performance section.
func (e *Engine) Performance(ctx context.Context, ws string, w Window) (*Performance, error) {
	// The hours of the day read other rows: they are folded meanwhile.
	type hoursResult struct {
		hours []HourPerf
		err   error
	}
	hoursDone := make(chan hoursResult, 1)
	go func() {
		h, err := e.byHour(ctx, ws, w)
		hoursDone <- hoursResult{h, err}
	}()
	rows, err := e.cover(ctx, ws, w.From, w.To, rollup.Day, nil, true)
	if err != nil {
		return nil, err // the buffered channel lets the fold end on its own
	}
	wanted := map[string]bool{}
	for _, a := range selection(w) {
		wanted[a] = true
	}
	perAgent := map[string]*rollup.Row{}
	total := &rollup.Row{}
	for _, r := range rows {
		if wanted[r.AgentID] {
			if err := total.Merge(r); err != nil {
				return nil, err
			}
		}
		if r.AgentID == rollup.AllAgents || (len(w.Agents) > 0 && !wanted[r.AgentID]) {
			continue
		}
		a := perAgent[r.AgentID]
		if a == nil {
			a = &rollup.Row{}
			perAgent[r.AgentID] = a
		}
		if err := a.Merge(r); err != nil {
			return nil, err
		}
	}
	p := &Performance{
		Total: total.Finished(), Completed: total.Completed, Failed: total.Failed, TimedOut: total.TimedOut,
		Cancelled: total.Cancelled, SuccessRate: successRate(total), TZ: w.TZ.String(),
		ByAgent: []AgentPerf{}, ByErrorType: []ErrorCount{},
	}
	for id, a := range perAgent {
		qs, err := percentiles(&a.Duration)
		if err != nil {
			return nil, err
		}
		ap := AgentPerf{AgentID: id, Total: a.Finished(), Completed: a.Completed, Failed: a.Failed,
			TimedOut: a.TimedOut, Cancelled: a.Cancelled, SuccessRate: successRate(a),
			P50Ms: qs[0], P95Ms: qs[3], P99Ms: qs[4]}
		if a.Duration.Count > 0 {
			ap.MeanMs = ms(a.Duration.Mean())
		}
		p.ByAgent = append(p.ByAgent, ap)
	}
	sort.Slice(p.ByAgent, func(i, j int) bool {
		if p.ByAgent[i].Total != p.ByAgent[j].Total {
			return p.ByAgent[i].Total > p.ByAgent[j].Total
		}
		return p.ByAgent[i].AgentID < p.ByAgent[j].AgentID
	})
	errs, err := total.ErrorCounts()
	if err != nil {
		return nil, err
	}
	for t, n := range errs {
		p.ByErrorType = append(p.ByErrorType, ErrorCount{ErrorType: t, Count: n})
	}
	sort.Slice(p.ByErrorType, func(i, j int) bool {
		if p.ByErrorType[i].Count != p.ByErrorType[j].Count {
			return p.ByErrorType[i].Count > p.ByErrorType[j].Count
		}
		return p.ByErrorType[i].ErrorType < p.ByErrorType[j].ErrorType
	})
	h := <-hoursDone
	p.ByHour = h.hours
	return p, h.err
}

// byHour folds hour (and edge minute) rows into the 24 hours of the day in
// w.TZ. In a zone whose offset is not whole hours, an hour row counts in
// the local hour where it begins.
func (e *Engine) byHour(ctx context.Context, ws string, w Window) ([]HourPerf, error) {
	var rows []*rollup.Row
	for _, sp := range rollup.Cover(w.From.Unix(), w.To.Unix(), rollup.Hour) {
		// Row by row, not merged: each counts in the hour it begins.
		part, err := e.rollups.RollupRange(ctx, ws, sp.Tier, sp.From, sp.To, selection(w), false)
		if err != nil {
			return nil, err
		}
		rows = append(rows, part...)
	}
	hours := make([]rollup.Row, 24)
	for _, r := range rows {
		h := time.Unix(r.Bucket, 0).In(w.TZ).Hour()
		hours[h].Completed += r.Completed
		hours[h].Failed += r.Failed
		hours[h].TimedOut += r.TimedOut
		hours[h].Cancelled += r.Cancelled
	}
	out := make([]HourPerf, 24)
	for h := range hours {
		r := &hours[h]
		out[h] = HourPerf{Hour: h, Total: r.Finished(), Completed: r.Completed, Failed: r.Failed,
			TimedOut: r.TimedOut, Cancelled: r.Cancelled, SuccessRate: successRate(r)}
	}
	return out, nil
}

// Comparison sets the window's headline figures beside the previous window's.
func (e *Engine) Comparison(ctx context.Context, ws string, w Window) (*Comparison, error) {
	prev := w.Previous()
	figures := func(win Window) (*rollup.Row, error) {
		rows, err := e.cover(ctx, ws, win.From, win.To, rollup.Day, selection(w), true)
		if err != nil {
			return nil, err
		}
		return sum(rows)
	}
	cur, err := figures(w)
	if err != nil {
		return nil, err
	}
	old, err := figures(prev)
	if err != nil {
		return nil, err
	}
	c := &Comparison{From: w.From, To: w.To, PreviousFrom: prev.From, PreviousTo: prev.To}
	count := func(f func(*rollup.Row) int64) Change {
		return change(ptr(float64(f(cur))), ptr(float64(f(old))))
	}
	c.Total = count(func(r *rollup.Row) int64 { return r.Finished() })
	c.Completed = count(func(r *rollup.Row) int64 { return r.Completed })
	c.Failed = count(func(r *rollup.Row) int64 { return r.Failed })
	c.TimedOut = count(func(r *rollup.Row) int64 { return r.TimedOut })
	c.Cancelled = count(func(r *rollup.Row) int64 { return r.Cancelled })
	c.SuccessRate = change(successRate(cur), successRate(old))
	curElapsed := e.elapsed(w).Hours()
	c.PerHour = change(perHour(cur.Finished(), curElapsed), perHour(old.Finished(), prev.To.Sub(prev.From).Hours()))
	mean := func(r *rollup.Row) *float64 {
		if r.Duration.Count == 0 {
			return nil
		}
		return ms(r.Duration.Mean())
	}
	c.MeanMs = change(mean(cur), mean(old))
	for _, f := range []struct {
		dst  *Change
		q    float64
		stat func(*rollup.Row) *rollup.Stat
	}{
		{&c.P50Ms, 0.50, func(r *rollup.Row) *rollup.Stat { return &r.Duration }},
		{&c.P95Ms, 0.95, func(r *rollup.Row) *rollup.Stat { return &r.Duration }},
		{&c.P99Ms, 0.99, func(r *rollup.Row) *rollup.Stat { return &r.Duration }},
		{&c.QueueWaitP95Ms, 0.95, func(r *rollup.Row) *rollup.Stat { return &r.QueueWait }},
	} {
		a, err := quantile(f.stat(cur), f.q)
		if err != nil {
			return nil, err
		}
		b, err := quantile(f.stat(old), f.q)
		if err != nil {
			return nil, err
		}
		*f.dst = change(a, b)
	}
	return c, nil
}

func quantile(s *rollup.Stat, q float64) (*float64, error) {
	v, ok, err := s.Quantile(q)
	if err != nil || !ok {
		return nil, err
	}
	return ms(v), nil
}

func perHour(n int64, hours float64) *float64 {
	if hours <= 0 {
		return nil
	}
	return ptr(float64(n) / hours)
}

func change(cur, prev *float64) Change {
	c := Change{Current: cur, Previous: prev}
	if cur != nil && prev != nil {
		c.Change = ptr(*cur - *prev)
		c.ChangePct = pctChange(*cur, *prev)
	}
	return c
}

func pctChange(cur, prev float64) *float64 {
	if prev == 0 {
		return nil
	}
	return ptr(math.Round((cur-prev)/prev*100*100) / 100)
}

// successRate is completed / (completed + failed + timed_out); cancelled
// executions are neither success nor failure.
func successRate(r *rollup.Row) *float64 {
	den := r.Completed + r.Failed + r.TimedOut
	if den == 0 {
		return nil
	}
	return ptr(float64(r.Completed) / float64(den))
}

// ms rounds a millisecond value to the microsecond.
func ms(v float64) *float64 { return ptr(math.Round(v*1000) / 1000) }

func ptr(v float64) *float64 { return &v }
