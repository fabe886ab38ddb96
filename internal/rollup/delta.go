package rollup

import (
	"sync"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

// Delta collects what a batch of events adds to the rollups: for every
// change, one row per tier for the agent and one for the workspace total.
// Writing a whole batch's delta at once keeps the writes per commit
// proportional to the buckets touched, not to the events.
type Delta struct {
	rows map[Key]*Row
}

// NewDelta returns an empty delta.
func NewDelta() *Delta { return &Delta{rows: map[Key]*Row{}} }

// Len is the number of rows the delta touches.
func (d *Delta) Len() int { return len(d.rows) }

// Keys lists the rows the delta touches.
func (d *Delta) Keys() []Key {
	keys := make([]Key, 0, len(d.rows))
	for k := range d.rows {
		keys = append(keys, k)
	}
	return keys
}

func (d *Delta) each(ws, agent string, at time.Time, f func(*Row)) {
	for _, t := range Tiers {
		b := t.Bucket(at)
		for _, a := range [2]string{agent, AllAgents} {
			k := Key{WorkspaceID: ws, Tier: t, Bucket: b, AgentID: a}
			r := d.rows[k]
			if r == nil {
				r = &Row{Key: k}
				d.rows[k] = r
			}
			f(r)
		}
	}
}

// Start counts an execution starting at at.
func (d *Delta) Start(ws, agent string, at time.Time) {
	d.each(ws, agent, at, func(r *Row) { r.Started++ })
}

// Finish counts an execution finishing at at with status st.
func (d *Delta) Finish(ws, agent string, at time.Time, st execution.Status, errType string) {
	d.each(ws, agent, at, func(r *Row) { r.AddFinish(st, errType) })
}

// Duration records a run time, counted in the bucket of the finish.
func (d *Delta) Duration(ws, agent string, finishedAt time.Time, ms float64) {
	d.each(ws, agent, finishedAt, func(r *Row) { r.Duration.Add(ms) })
}

// QueueWait records a queue wait, counted in the bucket of the start.
func (d *Delta) QueueWait(ws, agent string, startedAt time.Time, ms float64) {
	d.each(ws, agent, startedAt, func(r *Row) { r.QueueWait.Add(ms) })
}

// Usage adds credits and tokens reported by an event at at.
func (d *Delta) Usage(ws, agent string, at time.Time, credits, tokens float64) {
	d.each(ws, agent, at, func(r *Row) { r.Credits += credits; r.Tokens += tokens })
}

// Update counts what one ingested event did to its execution: a start and
// its queue wait at the start, a finish and its run time at the finish,
// credits and tokens at the event. A conflicting terminal event counts
// nothing.
func (d *Delta) Update(u execution.Update) {
	x, c, ev := &u.Execution, u.Change, u.Event
	if c.Conflict {
		return
	}
	ws, agent := x.WorkspaceID, x.AgentID
	if c.Started {
		d.Start(ws, agent, x.StartedAt)
	}
	if c.Finished {
		d.Finish(ws, agent, x.FinishedAt, x.Status, ErrorType(x))
	}
	if c.HasDuration {
		d.Duration(ws, agent, x.FinishedAt, execution.Millis(c.Duration))
	}
	if c.HasQueueWait {
		d.QueueWait(ws, agent, x.StartedAt, execution.Millis(c.QueueWait))
	}
	if ev != nil && (ev.Credits != nil || ev.Tokens != nil) {
		d.Usage(ws, agent, ev.Timestamp, deref(ev.Credits), deref(ev.Tokens))
	}
}

// ChangedFrom is the earliest time whose buckets u may change: what Update
// counts it at, or, for an update that does not carry its event (another
// node's), the execution's first event, since every row it can change is
// at one of its events. It is false when u changes no row.
func ChangedFrom(u execution.Update) (time.Time, bool) {
	x, c := &u.Execution, u.Change
	var first time.Time
	at := func(t time.Time) {
		if !t.IsZero() && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	switch {
	case u.Event == nil:
		at(x.SeenAt)
		at(x.QueuedAt)
		at(x.StartedAt)
		at(x.FinishedAt)
	case c.Conflict:
	default:
		if c.Started || c.HasQueueWait {
			at(x.StartedAt)
		}
		if c.Finished || c.HasDuration {
			at(x.FinishedAt)
		}
		if u.Event.Credits != nil || u.Event.Tokens != nil {
			at(u.Event.Timestamp)
		}
	}
	return first, !first.IsZero()
}

// Apply merges the delta into the current rows (base; a missing key is an
// empty row) and returns the resulting rows. Base rows are not modified.
// Peaks are kept current: a minute's peak is its own total, and an hour or
// day keeps the largest total any of its minutes has reached. Counts only
// grow, so the running maximum is exact.
func (d *Delta) Apply(base map[Key]*Row) (map[Key]*Row, error) {
	out := make(map[Key]*Row, len(d.rows))
	for k, dr := range d.rows {
		var r *Row
		if b := base[k]; b != nil {
			r = b.Clone()
		} else {
			r = &Row{Key: k}
		}
		if err := r.Merge(dr); err != nil {
			return nil, err
		}
		out[k] = r
	}
	for k, dr := range d.rows {
		if k.Tier != Minute || dr.Finished() == 0 {
			continue
		}
		total := out[k].Finished()
		out[k].PeakMinute = total
		for _, t := range []Tier{Hour, Day} {
			up := out[Key{WorkspaceID: k.WorkspaceID, Tier: t, Bucket: floor(k.Bucket, t.Seconds()), AgentID: k.AgentID}]
			up.PeakMinute = max(up.PeakMinute, total)
		}
	}
	return out, nil
}

// Cache holds recently written rows so a commit rarely reads a row back
// before changing it. Rows in it are never modified, only replaced; it can
// drop any row at any time, since the store has them all.
type Cache struct {
	mu   sync.Mutex
	rows map[Key]*Row
	max  int
}

// NewCache returns a cache of at most max rows.
func NewCache(max int) *Cache { return &Cache{rows: map[Key]*Row{}, max: max} }

// Get returns the cached rows among keys, and the keys it lacks.
func (c *Cache) Get(keys []Key) (map[Key]*Row, []Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hit := make(map[Key]*Row, len(keys))
	var miss []Key
	for _, k := range keys {
		if r, ok := c.rows[k]; ok {
			hit[k] = r
		} else {
			miss = append(miss, k)
		}
	}
	return hit, miss
}

// Put stores rows, making room by dropping arbitrary older entries.
func (c *Cache) Put(rows map[Key]*Row) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rows)+len(rows) > c.max {
		// Drop at least half, and enough to fit the new rows.
		keep := min(len(c.rows)/2, c.max-len(rows))
		for k := range c.rows {
			if len(c.rows) <= keep {
				break
			}
			delete(c.rows, k)
		}
	}
	for k, r := range rows {
		if len(c.rows) >= c.max {
			break
		}
		c.rows[k] = r
	}
}
