package metrics

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/shadower/shadower/internal/realtime"
	"github.com/shadower/shadower/internal/rollup"
)

// Queue is the queue section: what waits now, how long work waited in the
// window, the backlog over time, and when it will be gone.
type Queue struct {
	At                      time.Time     `json:"at"`
	From                    time.Time     `json:"from"`
	To                      time.Time     `json:"to"`
	StepSeconds             int64         `json:"step_seconds"`
	Queued                  int           `json:"queued"`
	OldestWaitMs            *int64        `json:"oldest_wait_ms"`
	CompletionRatePerMinute float64       `json:"completion_rate_per_minute"`
	ArrivalRatePerMinute    float64       `json:"arrival_rate_per_minute"`
	DrainSeconds            *float64      `json:"drain_seconds"`
	Wait                    QueueWaitStat `json:"wait"`
	ByAgent                 []AgentQueue  `json:"by_agent"`
	Series                  []QueuePoint  `json:"series"`
}

// AgentQueue is one agent's queue: now, and its waits in the window.
type AgentQueue struct {
	AgentID      string   `json:"agent_id"`
	Queued       int      `json:"queued"`
	OldestWaitMs *int64   `json:"oldest_wait_ms"`
	Count        int64    `json:"count"`
	P50Ms        *float64 `json:"p50_ms"`
	P95Ms        *float64 `json:"p95_ms"`
	P99Ms        *float64 `json:"p99_ms"`
	MaxMs        *float64 `json:"max_ms"`
}

// QueuePoint is one bucket of the backlog.
type QueuePoint struct {
	T               time.Time `json:"t"`
	QueuedMax       *float64  `json:"queued_max"`
	QueuedMean      *float64  `json:"queued_mean"`
	OldestWaitMsMax *float64  `json:"oldest_wait_ms_max"`
	WaitCount       int64     `json:"wait_count"`
}

// Queue computes the queue section.
func (e *Engine) Queue(ctx context.Context, ws string, w Window) (*Queue, error) {
	now := e.now().UTC()
	live := e.src.Live.Queue(ws, w.Agents)
	q := &Queue{At: now, From: w.From, To: w.To, StepSeconds: w.Step, Queued: live.Queued, ByAgent: []AgentQueue{}}
	if !live.Oldest.IsZero() {
		q.OldestWaitMs = ageMs(now, live.Oldest)
	}
	minutes := realtime.RecentWindow.Minutes()
	q.CompletionRatePerMinute = round3(float64(live.Finished) / minutes)
	q.ArrivalRatePerMinute = round3(float64(live.Started) / minutes)
	switch {
	case q.Queued == 0:
		q.DrainSeconds = ptr(0)
	case live.Finished > 0:
		q.DrainSeconds = ptr(math.Round(float64(q.Queued) / (float64(live.Finished) / realtime.RecentWindow.Seconds())))
	}

	// Waits in the window, in total and per agent.
	rows, err := e.cover(ctx, ws, w.From, w.To, rollup.Day, nil, true)
	if err != nil {
		return nil, err
	}
	want := realtime.Wanted(w.Agents)
	perAgent := map[string]*rollup.Stat{}
	total := &rollup.Stat{}
	for _, r := range rows {
		if r.AgentID == rollup.AllAgents {
			if len(w.Agents) == 0 {
				if err := total.Merge(&r.QueueWait); err != nil {
					return nil, err
				}
			}
			continue
		}
		if !want(r.AgentID) {
			continue
		}
		if len(w.Agents) > 0 {
			if err := total.Merge(&r.QueueWait); err != nil {
				return nil, err
			}
		}
		st := perAgent[r.AgentID]
		if st == nil {
			st = &rollup.Stat{}
			perAgent[r.AgentID] = st
		}
		if err := st.Merge(&r.QueueWait); err != nil {
			return nil, err
		}
	}
	if q.Wait, err = queueWaitOf(total); err != nil {
		return nil, err
	}
	agents := map[string]bool{}
	for a := range perAgent {
		agents[a] = true
	}
	for a := range live.ByAgent {
		agents[a] = true
	}
	for a := range agents {
		aq := AgentQueue{AgentID: a}
		if lq, ok := live.ByAgent[a]; ok {
			aq.Queued = lq.Queued
			aq.OldestWaitMs = ageMs(now, lq.Oldest)
		}
		if st := perAgent[a]; st != nil && st.Count > 0 {
			qw, err := queueWaitOf(st)
			if err != nil {
				return nil, err
			}
			aq.Count, aq.P50Ms, aq.P95Ms, aq.P99Ms, aq.MaxMs = qw.Count, qw.P50Ms, qw.P95Ms, qw.P99Ms, qw.MaxMs
		}
		if aq.Queued == 0 && aq.Count == 0 {
			continue
		}
		q.ByAgent = append(q.ByAgent, aq)
	}
	sort.Slice(q.ByAgent, func(i, j int) bool {
		a, b := q.ByAgent[i], q.ByAgent[j]
		if a.Queued != b.Queued {
			return a.Queued > b.Queued
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.AgentID < b.AgentID
	})

	q.Series, err = e.backlog(ctx, ws, w)
	return q, err
}

// backlog is the sampled queue length per bucket. The workspace's sample
// is taken every time; an agent's only while it has work waiting, so an
// agent's mean divides by the workspace's sample count. With an agent
// filter, queued_max adds the agents' peaks: an upper bound.
func (e *Engine) backlog(ctx context.Context, ws string, w Window) ([]QueuePoint, error) {
	tier := rollup.TierFor(w.Step)
	from, to := w.From.Unix(), w.To.Unix()
	n := (to - from) / w.Step
	series := make([]QueuePoint, n)
	for i := range series {
		series[i].T = w.From.Add(time.Duration(int64(i)*w.Step) * time.Second)
	}
	gauges, err := e.src.Gauges.GaugeRange(ctx, ws, tier, from, to, []string{rollup.GaugeBacklog, rollup.GaugeOldestWait})
	if err != nil {
		return nil, err
	}
	type acc struct {
		samples  int64 // of the workspace
		sum, max float64
		oldest   float64
		aged     bool
	}
	accs := make([]acc, n)
	want := realtime.Wanted(w.Agents)
	for _, g := range gauges {
		a := &accs[(g.Bucket-from)/w.Step]
		switch {
		case g.Gauge == rollup.GaugeOldestWait:
			if len(w.Agents) == 0 {
				a.oldest, a.aged = math.Max(a.oldest, g.Max), true
			}
		case g.Key == rollup.AllAgents:
			a.samples += g.Samples
			if len(w.Agents) == 0 {
				a.sum += g.Sum
				a.max = math.Max(a.max, g.Max)
			}
		case len(w.Agents) > 0 && want(g.Key):
			a.sum += g.Sum
			a.max += g.Max
		}
	}
	rows, err := e.rollups.RollupRange(ctx, ws, tier, from, to, selection(w), false)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		series[(r.Bucket-from)/w.Step].WaitCount += r.QueueWait.Count
	}
	for i, a := range accs {
		if a.samples == 0 {
			continue
		}
		series[i].QueuedMax = ptr(a.max)
		series[i].QueuedMean = ptr(round3(a.sum / float64(a.samples)))
		if a.aged {
			series[i].OldestWaitMsMax = ptr(a.oldest)
		}
	}
	return series, nil
}

func queueWaitOf(st *rollup.Stat) (QueueWaitStat, error) {
	qw := QueueWaitStat{Count: st.Count}
	if st.Count == 0 {
		return qw, nil
	}
	qs, err := percentiles(st)
	if err != nil {
		return qw, err
	}
	qw.P50Ms, qw.P75Ms, qw.P90Ms, qw.P95Ms, qw.P99Ms = qs[0], qs[1], qs[2], qs[3], qs[4]
	qw.MinMs, qw.MaxMs, qw.MeanMs = ms(st.Min), ms(st.Max), ms(st.Mean())
	return qw, nil
}

func ageMs(now, since time.Time) *int64 {
	v := max(now.Sub(since).Milliseconds(), 0)
	return &v
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
