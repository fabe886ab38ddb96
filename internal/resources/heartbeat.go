// Package resources is what the workers running executions report about
// themselves (heartbeats: capacity, busy slots, CPU, memory), the gauges kept
// from those reports, and the service's own host: the resources section.
package resources

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

// Limits of a heartbeat batch and its fields.
const (
	MaxBatch       = 1000
	MaxBodyBytes   = 1 << 20
	MaxCapacity    = 100_000
	MaxLabels      = 16
	MaxLabelKey    = 64
	MaxLabelValue  = 256
	DefaultEvery   = 15 * time.Second
	MaxEvery       = time.Hour
	MaxAhead       = 5 * time.Minute
	MaxBehind      = 14 * 24 * time.Hour
	LostAfterBeats = 3 // a worker silent for this many intervals is lost
)

// Heartbeat is one report of a worker.
type Heartbeat struct {
	WorkspaceID      string            `json:"workspace_id"`
	WorkerID         string            `json:"worker_id"`
	CapacitySlots    *int64            `json:"capacity_slots"`
	BusySlots        *int64            `json:"busy_slots"`
	CPUPercent       *float64          `json:"cpu_percent"`
	MemoryBytes      *int64            `json:"memory_bytes"`
	MemoryLimitBytes *int64            `json:"memory_limit_bytes"`
	Labels           map[string]string `json:"labels"`
	IntervalSeconds  *int64            `json:"interval_seconds"`
	Timestamp        *time.Time        `json:"timestamp"`
}

// At is when the heartbeat was taken (set by Decode).
func (h *Heartbeat) At() time.Time { return *h.Timestamp }

// Every is when the next heartbeat is due (set by Decode).
func (h *Heartbeat) Every() time.Duration { return time.Duration(*h.IntervalSeconds) * time.Second }

// Decode reads one heartbeat object or an array of them, checks every field
// and fills the defaults. On any problem nothing is returned: the error
// lists every fault with the heartbeat's index.
func Decode(body io.Reader, now time.Time) ([]*Heartbeat, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, &execution.Error{Code: execution.EInvalid, Message: "the body is empty; send a heartbeat object or an array of them", Where: "body"}
	}
	var hbs []*Heartbeat
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if raw[0] == '[' {
		err = dec.Decode(&hbs)
	} else {
		var h Heartbeat
		err = dec.Decode(&h)
		hbs = []*Heartbeat{&h}
	}
	if err == nil && dec.More() {
		err = fmt.Errorf("unexpected data after the JSON value")
	}
	if err != nil {
		return nil, &execution.Error{Code: execution.EInvalid, Message: "the body is not valid heartbeat JSON: " + err.Error(), Where: "body"}
	}
	if len(hbs) == 0 {
		return nil, &execution.Error{Code: execution.EInvalid, Message: "the array holds no heartbeat", Where: "body"}
	}
	if len(hbs) > MaxBatch {
		return nil, &execution.Error{Code: execution.ETooLarge, Message: fmt.Sprintf("a batch holds at most %d heartbeats", MaxBatch), Where: "body"}
	}
	var details []execution.Detail
	for i, h := range hbs {
		if h == nil {
			details = append(details, execution.Detail{Index: i, Field: "", Message: "must be an object"})
			continue
		}
		for _, d := range h.check(now) {
			d.Index = i
			details = append(details, d)
		}
	}
	if len(details) > 0 {
		return nil, &execution.Error{Code: execution.EInvalid, Message: "heartbeats break the rules; nothing was stored", Details: details, Where: "body"}
	}
	return hbs, nil
}

// check validates h and fills its defaults.
func (h *Heartbeat) check(now time.Time) []execution.Detail {
	var ds []execution.Detail
	bad := func(field, format string, args ...any) {
		ds = append(ds, execution.Detail{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	const idRule = "must be 1-128 characters of [A-Za-z0-9._:@/-]"
	if !execution.ValidID(h.WorkspaceID) {
		bad("workspace_id", idRule)
	}
	if !execution.ValidID(h.WorkerID) {
		bad("worker_id", idRule)
	}
	switch {
	case h.CapacitySlots == nil:
		bad("capacity_slots", "is required")
	case *h.CapacitySlots < 0 || *h.CapacitySlots > MaxCapacity:
		bad("capacity_slots", "must be 0 to %d", MaxCapacity)
	}
	switch {
	case h.BusySlots == nil:
		bad("busy_slots", "is required")
	case *h.BusySlots < 0:
		bad("busy_slots", "must not be negative")
	case h.CapacitySlots != nil && *h.BusySlots > *h.CapacitySlots:
		bad("busy_slots", "must not exceed capacity_slots (%d)", *h.CapacitySlots)
	}
	if c := h.CPUPercent; c != nil && (math.IsNaN(*c) || *c < 0 || *c > 100) {
		bad("cpu_percent", "must be 0 to 100")
	}
	if m := h.MemoryBytes; m != nil && *m < 0 {
		bad("memory_bytes", "must not be negative")
	}
	if l := h.MemoryLimitBytes; l != nil {
		switch {
		case *l <= 0:
			bad("memory_limit_bytes", "must be positive")
		case h.MemoryBytes != nil && *h.MemoryBytes > *l:
			bad("memory_limit_bytes", "must not be below memory_bytes")
		}
	}
	if len(h.Labels) > MaxLabels {
		bad("labels", "at most %d labels", MaxLabels)
	}
	for k, v := range h.Labels {
		if k == "" || len(k) > MaxLabelKey {
			bad("labels", "keys must be 1-%d bytes", MaxLabelKey)
		}
		if len(v) > MaxLabelValue {
			bad("labels", "values must be at most %d bytes", MaxLabelValue)
		}
	}
	if h.IntervalSeconds == nil {
		every := int64(DefaultEvery / time.Second)
		h.IntervalSeconds = &every
	} else if *h.IntervalSeconds < 1 || *h.IntervalSeconds > int64(MaxEvery/time.Second) {
		bad("interval_seconds", "must be 1 to %d", int64(MaxEvery/time.Second))
	}
	if h.Timestamp == nil {
		t := now.UTC()
		h.Timestamp = &t
	} else {
		t := h.Timestamp.UTC()
		h.Timestamp = &t
		if t.After(now.Add(MaxAhead)) {
			bad("timestamp", "is more than %s ahead of the server's clock", MaxAhead)
		} else if t.Before(now.Add(-MaxBehind)) {
			bad("timestamp", "is more than %s old", MaxBehind)
		}
	}
	return ds
}
