package resources

import (
	"time"

	"github.com/shadower/shadower/internal/rollup"
)

// Worker is what the latest heartbeat of a worker said.
type Worker struct {
	WorkspaceID      string
	WorkerID         string
	CapacitySlots    int64
	BusySlots        int64
	CPUPercent       *float64
	MemoryBytes      *int64
	MemoryLimitBytes *int64
	Labels           map[string]string
	IntervalSeconds  int64
	FirstSeen        time.Time
	LastSeen         time.Time
}

// Lost reports whether the worker has been silent for LostAfterBeats intervals.
func (w *Worker) Lost(now time.Time) bool {
	return now.Sub(w.LastSeen) > time.Duration(LostAfterBeats*w.IntervalSeconds)*time.Second
}

// Samples are the gauge readings a heartbeat brings.
func (h *Heartbeat) Samples() []rollup.GaugeSample {
	s := []rollup.GaugeSample{
		{Gauge: rollup.GaugeWorkerCapacity, Value: float64(*h.CapacitySlots)},
		{Gauge: rollup.GaugeWorkerBusy, Value: float64(*h.BusySlots)},
	}
	if h.CPUPercent != nil {
		s = append(s, rollup.GaugeSample{Gauge: rollup.GaugeWorkerCPU, Value: *h.CPUPercent})
	}
	if h.MemoryBytes != nil {
		s = append(s, rollup.GaugeSample{Gauge: rollup.GaugeWorkerMemory, Value: float64(*h.MemoryBytes)})
	}
	for i := range s {
		s[i].WorkspaceID, s[i].Key, s[i].At = h.WorkspaceID, h.WorkerID, h.At()
	}
	return s
}
