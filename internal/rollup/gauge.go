package rollup

import "time"

// A gauge is a value sampled now and then (a worker's busy slots, the
// backlog of a queue), kept per tier bucket as count, sum, minimum and
// maximum of its samples, so any bucket's mean and peak are exact.
const (
	GaugeWorkerCapacity = "worker.capacity_slots" // key: worker id
	GaugeWorkerBusy     = "worker.busy_slots"
	GaugeWorkerCPU      = "worker.cpu_percent"
	GaugeWorkerMemory   = "worker.memory_bytes"
	GaugeBacklog        = "queue.backlog"        // key: agent id, AllAgents for the workspace
	GaugeOldestWait     = "queue.oldest_wait_ms" // key: AllAgents
)

// GaugeSample is one reading.
type GaugeSample struct {
	WorkspaceID string
	Gauge       string
	Key         string
	At          time.Time
	Value       float64
}

// GaugeRow is the samples of one gauge and key in one bucket.
type GaugeRow struct {
	Gauge   string
	Key     string
	Tier    Tier
	Bucket  int64
	Samples int64
	Sum     float64
	Min     float64
	Max     float64
}

// Mean is the mean of the row's samples.
func (g *GaugeRow) Mean() float64 { return g.Sum / float64(g.Samples) }

// Add folds a sample into the row.
func (g *GaugeRow) Add(v float64) {
	if g.Samples == 0 || v < g.Min {
		g.Min = v
	}
	if g.Samples == 0 || v > g.Max {
		g.Max = v
	}
	g.Samples++
	g.Sum += v
}

// Gauges lists every gauge.
var Gauges = []string{GaugeWorkerCapacity, GaugeWorkerBusy, GaugeWorkerCPU, GaugeWorkerMemory, GaugeBacklog, GaugeOldestWait}
