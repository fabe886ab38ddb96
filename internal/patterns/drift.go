package patterns

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/shadower/shadower/internal/rollup"
)

// Drift: a slow change (an agent growing slower by the day) hides from the
// per-minute series, whose baselines follow it and whose five-minute
// windows hold too few runs of a quiet agent. So every closed hour the last
// DriftSpan is pooled from hour rows and set against the same hours of each
// of the DriftDays days before.
const (
	DriftSpan = 6 * time.Hour
	DriftDays = 7
	// A span is judged with at least driftMinRuns runs in it, against at
	// least driftMinPeers earlier days with driftMinPeerRuns each.
	driftMinRuns     = 100
	driftMinPeers    = 3
	driftMinPeerRuns = 30
	// A p95 has drifted when it is DriftRatio times the earlier days'
	// median and above every one of them; an error rate when it is
	// DriftErrorRise above that median (and significantly so) and above
	// every earlier day.
	DriftRatio         = 1.5
	DriftCriticalRatio = 2.0
	DriftErrorRise     = 0.05
	DriftCriticalRise  = 0.15
)

// driftMetrics are the metrics whose slow rise is a regression.
var driftMetrics = []Metric{ErrorRate, DurationP95, QueueWaitP95}

// pooled is one metric over a span.
type pooled struct {
	value, n float64
	ok       bool
}

// poolSpan merges the rows of one scope in [from, to) and measures them.
func poolSpan(rows map[int64]*rollup.Row, from, to time.Time) (map[Metric]pooled, error) {
	total := &rollup.Row{}
	for t := from; t.Before(to); t = t.Add(time.Hour) {
		if r := rows[t.Unix()]; r != nil {
			if err := total.Merge(r); err != nil {
				return nil, err
			}
		}
	}
	v, err := measure(total, 1)
	if err != nil {
		return nil, err
	}
	out := map[Metric]pooled{}
	for _, m := range driftMetrics {
		if p, ok := v[m]; ok {
			out[m] = pooled{value: p.Value, n: p.N, ok: true}
		}
	}
	return out, nil
}

// driftJudgement is the verdict on one span of one metric.
type driftJudgement struct {
	drifted            bool
	observed, expected float64
	score              float64
	critical           bool
}

// judgeDrift sets a span's value against the same span on earlier days.
func judgeDrift(m Metric, now pooled, peers []pooled) (driftJudgement, bool) {
	var vals []float64
	for _, p := range peers {
		if p.ok && p.n >= driftMinPeerRuns {
			vals = append(vals, p.value)
		}
	}
	if !now.ok || now.n < driftMinRuns || len(vals) < driftMinPeers {
		return driftJudgement{}, false
	}
	sort.Float64s(vals)
	med, hi := median(vals), vals[len(vals)-1]
	j := driftJudgement{observed: now.value, expected: med}
	if m == ErrorRate {
		noise := 3 * math.Sqrt(med*(1-med)/now.n)
		spread := math.Max(mad(vals), math.Sqrt(math.Max(med*(1-med), 1e-4)/now.n))
		j.score = (now.value - med) / spread
		j.drifted = now.value > hi && now.value-med >= math.Max(DriftErrorRise, noise)
		j.critical = now.value-med >= DriftCriticalRise
		return j, true
	}
	if med <= 0 {
		return j, true
	}
	logs := make([]float64, len(vals))
	for i, v := range vals {
		logs[i] = math.Log(math.Max(v, 1e-9))
	}
	j.score = math.Log(now.value/med) / math.Max(mad(logs), 0.05)
	j.drifted = now.value > hi && now.value >= DriftRatio*med
	j.critical = now.value >= DriftCriticalRatio*med
	return j, true
}

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// mad is the scaled median absolute deviation: a robust standard deviation.
func mad(vals []float64) float64 {
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	med := median(s)
	for i, v := range s {
		s[i] = math.Abs(v - med)
	}
	sort.Float64s(s)
	return 1.4826 * median(s)
}

// driftState is an open drift finding of one scope and metric.
type driftState struct {
	start, end time.Time // of the spans found drifted
	worst      driftJudgement
}

// judgeDriftHour judges the span ending at hour end for every scope of ws,
// from hour rows by agent and bucket, and returns the findings that changed.
func (w *Watcher) judgeDriftHour(ws string, st *watched, end time.Time, rows map[string]map[int64]*rollup.Row) ([]Record, []Record, error) {
	var changed, news []Record
	for agent, byHour := range rows {
		sc := st.scope(agent)
		now, err := poolSpan(byHour, end.Add(-DriftSpan), end)
		if err != nil {
			return nil, nil, err
		}
		peers := make(map[Metric][]pooled)
		for d := 1; d <= DriftDays; d++ {
			back := time.Duration(d) * 24 * time.Hour
			p, err := poolSpan(byHour, end.Add(-DriftSpan-back), end.Add(-back))
			if err != nil {
				return nil, nil, err
			}
			for _, m := range driftMetrics {
				peers[m] = append(peers[m], p[m])
			}
		}
		for _, m := range driftMetrics {
			j, judged := judgeDrift(m, now[m], peers[m])
			drifted := judged && j.drifted
			open := sc.drift[m]
			if open == nil && !drifted || !judged {
				continue // too few runs to say: an open finding stays open
			}
			announce := false
			switch {
			case open == nil:
				open = &driftState{start: end.Add(-DriftSpan), end: end, worst: j}
				sc.drift[m] = open
				announce = true
			case drifted:
				announce = j.critical && !open.worst.critical
				if announce || math.Abs(j.score) > math.Abs(open.worst.score) {
					open.worst = j
				}
				open.end = end
			default:
				delete(sc.drift, m)
			}
			rec := w.driftRecord(ws, agent, m, open, drifted)
			changed = append(changed, rec)
			if announce {
				news = append(news, rec)
			}
		}
	}
	return changed, news, nil
}

func (w *Watcher) driftRecord(ws, agent string, m Metric, d *driftState, ongoing bool) Record {
	j := d.worst
	end := d.end
	r, subject := w.newRecord(ws, agent, string(m), "drift."+string(m), "up", d.start)
	r.End, r.Ongoing, r.Observed, r.Expected, r.Score = end, ongoing, round(j.observed), round(j.expected), round(j.score)
	r.Severity, r.Baseline = "warning", BaselineSeasonal
	if j.critical {
		r.Severity = "critical"
	}
	r.Explanation = fmt.Sprintf("%s %s has drifted up: %s over the %d hours to %s UTC against %s on the same hours of the %d days before (%s).",
		subject, driftName(m), format(m, j.observed), int(DriftSpan.Hours()), end.UTC().Format("Jan 2 15:04"),
		format(m, j.expected), DriftDays, relative(j.observed/j.expected))
	return r
}

func driftName(m Metric) string {
	switch m {
	case ErrorRate:
		return "error rate"
	case DurationP95:
		return "p95 run time"
	default:
		return "p95 queue wait"
	}
}
