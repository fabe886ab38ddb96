package rollup

import (
	"time"

	"github.com/shadower/shadower/internal/execution"
)

// Recompute derives from raw rows the rollup rows of the whole days
// [from, to): starts and queue waits at each start, finishes, durations and
// error types at each finish, credits and tokens at each event that
// reported them (except terminal events that lost to an earlier one). xs
// must hold every execution started or finished in the range and every
// execution of usage; usage the events in the range with credits or tokens.
// The result is what ingest would have written, so it checks the rollups
// and repairs them.
func Recompute(xs map[string]*execution.Execution, usage []execution.Event, from, to time.Time) (map[Key]*Row, error) {
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	d := NewDelta()
	for _, x := range xs {
		ws, agent := x.WorkspaceID, x.AgentID
		if in(x.StartedAt) {
			d.Start(ws, agent, x.StartedAt)
			if ms, ok := x.QueueWaitMs(); ok {
				d.QueueWait(ws, agent, x.StartedAt, ms)
			}
		}
		if x.Status.Finished() && in(x.FinishedAt) {
			d.Finish(ws, agent, x.FinishedAt, x.Status, ErrorType(x))
			if ms, ok := x.DurationMs(); ok {
				d.Duration(ws, agent, x.FinishedAt, ms)
			}
		}
	}
	for _, ev := range usage {
		x := xs[ev.ExecutionID]
		if x == nil || !in(ev.Timestamp) || (ev.Credits == nil && ev.Tokens == nil) {
			continue
		}
		if ev.Type.Terminal() && !(execution.Status(ev.Type) == x.Status && ev.Timestamp.Equal(x.FinishedAt)) {
			continue // a conflicting terminal event: ingest ignored it
		}
		d.Usage(ev.WorkspaceID, x.AgentID, ev.Timestamp, deref(ev.Credits), deref(ev.Tokens))
	}
	return d.Apply(nil)
}

// ErrorType is the error type a finished execution counts under: its
// error's, "unknown" for a failure that gave none, "" otherwise.
func ErrorType(x *execution.Execution) string {
	if x.Error != nil {
		return x.Error.Type
	}
	if x.Status == execution.StatusFailed || x.Status == execution.StatusTimedOut {
		return "unknown"
	}
	return ""
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
