package metrics

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/shadower/shadower/internal/resources"
	"github.com/shadower/shadower/internal/rollup"
)

// LostListed is how long a lost worker stays listed after its last heartbeat.
const LostListed = 24 * time.Hour

// Resources is the resources section: the workers that run executions,
// from their heartbeats, and the service's own host.
type Resources struct {
	At            time.Time       `json:"at"`
	From          time.Time       `json:"from"`
	To            time.Time       `json:"to"`
	StepSeconds   int64           `json:"step_seconds"`
	WorkersActive int             `json:"workers_active"`
	WorkersLost   int             `json:"workers_lost"`
	CapacitySlots int64           `json:"capacity_slots"`
	BusySlots     int64           `json:"busy_slots"`
	Utilization   *float64        `json:"utilization"`
	CPUPercent    *float64        `json:"cpu_percent"`
	MemoryBytes   int64           `json:"memory_bytes"`
	Workers       []WorkerNow     `json:"workers"`
	Series        []ResourcePoint `json:"series"`
	Host          resources.Host  `json:"host"`
}

// WorkerNow is one worker as its latest heartbeat left it.
type WorkerNow struct {
	WorkerID         string            `json:"worker_id"`
	Labels           map[string]string `json:"labels"`
	CapacitySlots    int64             `json:"capacity_slots"`
	BusySlots        int64             `json:"busy_slots"`
	Utilization      *float64          `json:"utilization"`
	CPUPercent       *float64          `json:"cpu_percent"`
	MemoryBytes      *int64            `json:"memory_bytes"`
	MemoryLimitBytes *int64            `json:"memory_limit_bytes"`
	IntervalSeconds  int64             `json:"interval_seconds"`
	FirstSeen        time.Time         `json:"first_seen"`
	LastSeen         time.Time         `json:"last_seen"`
	Lost             bool              `json:"lost"`
	Running          int               `json:"running"`
}

// ResourcePoint is one bucket of the workers' history: means of the
// heartbeats in it, added up over workers (CPU: averaged over them).
type ResourcePoint struct {
	T             time.Time `json:"t"`
	Workers       int       `json:"workers"`
	CapacitySlots *float64  `json:"capacity_slots"`
	BusySlots     *float64  `json:"busy_slots"`
	Utilization   *float64  `json:"utilization"`
	CPUPercent    *float64  `json:"cpu_percent"`
	MemoryBytes   *float64  `json:"memory_bytes"`
}

// Resources computes the resources section.
func (e *Engine) Resources(ctx context.Context, ws string, w Window) (*Resources, error) {
	now := e.now().UTC()
	res := &Resources{At: now, From: w.From, To: w.To, StepSeconds: w.Step, Workers: []WorkerNow{}}
	if e.src.Host != nil {
		res.Host = e.src.Host()
	}
	workers, err := e.src.Workers.Workers(ctx, ws, now.Add(-LostListed))
	if err != nil {
		return nil, err
	}
	running := e.src.Live.RunningByWorker(ws)
	var cpuSum float64
	var cpuN int
	for _, wk := range workers {
		wn := WorkerNow{WorkerID: wk.WorkerID, Labels: wk.Labels, CapacitySlots: wk.CapacitySlots, BusySlots: wk.BusySlots,
			Utilization: ratio(float64(wk.BusySlots), float64(wk.CapacitySlots)), CPUPercent: wk.CPUPercent,
			MemoryBytes: wk.MemoryBytes, MemoryLimitBytes: wk.MemoryLimitBytes, IntervalSeconds: wk.IntervalSeconds,
			FirstSeen: wk.FirstSeen, LastSeen: wk.LastSeen, Lost: wk.Lost(now), Running: running[wk.WorkerID]}
		if wn.Labels == nil {
			wn.Labels = map[string]string{}
		}
		res.Workers = append(res.Workers, wn)
		if wn.Lost {
			res.WorkersLost++
			continue
		}
		res.WorkersActive++
		res.CapacitySlots += wk.CapacitySlots
		res.BusySlots += wk.BusySlots
		if wk.CPUPercent != nil {
			cpuSum += *wk.CPUPercent
			cpuN++
		}
		if wk.MemoryBytes != nil {
			res.MemoryBytes += *wk.MemoryBytes
		}
	}
	res.Utilization = ratio(float64(res.BusySlots), float64(res.CapacitySlots))
	if cpuN > 0 {
		res.CPUPercent = ptr(round3(cpuSum / float64(cpuN)))
	}
	sort.SliceStable(res.Workers, func(i, j int) bool { return !res.Workers[i].Lost && res.Workers[j].Lost })
	res.Series, err = e.workerSeries(ctx, ws, w)
	return res, err
}

func (e *Engine) workerSeries(ctx context.Context, ws string, w Window) ([]ResourcePoint, error) {
	tier := rollup.TierFor(w.Step)
	from, to := w.From.Unix(), w.To.Unix()
	n := (to - from) / w.Step
	series := make([]ResourcePoint, n)
	for i := range series {
		series[i].T = w.From.Add(time.Duration(int64(i)*w.Step) * time.Second)
	}
	rows, err := e.src.Gauges.GaugeRange(ctx, ws, tier, from, to, []string{
		rollup.GaugeWorkerCapacity, rollup.GaugeWorkerBusy, rollup.GaugeWorkerCPU, rollup.GaugeWorkerMemory})
	if err != nil {
		return nil, err
	}
	// First each worker's rows within a bucket merge into one mean per
	// gauge; then the workers add up.
	type wkey struct {
		i      int64
		gauge  string
		worker string
	}
	merged := map[wkey]*rollup.GaugeRow{}
	for _, g := range rows {
		k := wkey{(g.Bucket - from) / w.Step, g.Gauge, g.Key}
		m := merged[k]
		if m == nil {
			m = &rollup.GaugeRow{}
			merged[k] = m
		}
		m.Samples += g.Samples
		m.Sum += g.Sum
	}
	type acc struct {
		workers                map[string]bool
		capacity, busy, memory float64
		cpu                    float64
		cpuN                   int
		hasCapacity, hasMemory bool
	}
	accs := make([]acc, n)
	for k, m := range merged {
		a := &accs[k.i]
		if a.workers == nil {
			a.workers = map[string]bool{}
		}
		a.workers[k.worker] = true
		mean := m.Mean()
		switch k.gauge {
		case rollup.GaugeWorkerCapacity:
			a.capacity += mean
			a.hasCapacity = true
		case rollup.GaugeWorkerBusy:
			a.busy += mean
		case rollup.GaugeWorkerCPU:
			a.cpu += mean
			a.cpuN++
		case rollup.GaugeWorkerMemory:
			a.memory += mean
			a.hasMemory = true
		}
	}
	for i, a := range accs {
		if !a.hasCapacity {
			continue
		}
		p := &series[i]
		p.Workers = len(a.workers)
		p.CapacitySlots, p.BusySlots = ptr(round3(a.capacity)), ptr(round3(a.busy))
		p.Utilization = ratio(a.busy, a.capacity)
		if a.cpuN > 0 {
			p.CPUPercent = ptr(round3(a.cpu / float64(a.cpuN)))
		}
		if a.hasMemory {
			p.MemoryBytes = ptr(math.Round(a.memory))
		}
	}
	return series, nil
}

// ratio is a/b to four places, nil when b is 0.
func ratio(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	return ptr(math.Round(a/b*10000) / 10000)
}
