package execution

import "time"

// Status is where an execution stands.
type Status string

// Statuses. Stale is never stored: it is how a running execution older than
// the maximum run time is reported.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
	StatusTimedOut  Status = "timed_out"
	StatusCancelled Status = "cancelled"
	StatusStale     Status = "stale"
)

// ParseStatus returns the status named s, or false when there is none.
func ParseStatus(s string) (Status, bool) {
	switch st := Status(s); st {
	case StatusQueued, StatusRunning, StatusCompleted, StatusFailed, StatusTimedOut, StatusCancelled, StatusStale:
		return st, true
	}
	return "", false
}

// Finished reports whether st is a terminal status.
func (st Status) Finished() bool {
	switch st {
	case StatusCompleted, StatusFailed, StatusTimedOut, StatusCancelled:
		return true
	}
	return false
}

// Execution is one run of an agent, folded from its events. Zero times are
// unknown: events arrive in any order, so any of them may still be missing.
type Execution struct {
	WorkspaceID string
	ExecutionID string
	AgentID     string
	Status      Status
	SeenAt      time.Time // earliest event timestamp
	QueuedAt    time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	WorkerID    string
	Trigger     string
	Progress    *float64
	ProgressAt  time.Time
	Error       *ErrorInfo
	Credits     float64
	Tokens      float64
}

// Change is what one event did to an execution, in the terms the rollups count.
type Change struct {
	Started      bool          // first started event: one start at StartedAt
	Finished     bool          // first terminal event: one finish with Status at FinishedAt
	Conflict     bool          // a terminal event after the first: ignored
	HasDuration  bool          // run time became known: count it at FinishedAt
	Duration     time.Duration //
	HasQueueWait bool          // queue wait became known: count it at StartedAt
	QueueWait    time.Duration //
}

// SortAt is the time an execution is listed by: its latest known state.
func (x *Execution) SortAt() time.Time {
	for _, t := range []time.Time{x.FinishedAt, x.StartedAt, x.QueuedAt} {
		if !t.IsZero() {
			return t
		}
	}
	return x.SeenAt
}

// DurationMs is the run time in milliseconds, when both ends are known.
func (x *Execution) DurationMs() (float64, bool) {
	if x.StartedAt.IsZero() || x.FinishedAt.IsZero() || x.FinishedAt.Before(x.StartedAt) {
		return 0, false
	}
	return Millis(x.FinishedAt.Sub(x.StartedAt)), true
}

// QueueWaitMs is the time between queued and started in milliseconds, when both are known.
func (x *Execution) QueueWaitMs() (float64, bool) {
	if x.QueuedAt.IsZero() || x.StartedAt.IsZero() || x.StartedAt.Before(x.QueuedAt) {
		return 0, false
	}
	return Millis(x.StartedAt.Sub(x.QueuedAt)), true
}

// Millis converts a duration to fractional milliseconds.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Apply folds one event into the execution and says what changed. The rules:
// the first terminal event to arrive decides the status and later ones are
// conflicts; the first queued and started events set their times; a duration
// or queue wait is reported exactly once, by whichever event completes it. A
// negative duration or wait (clocks disagreeing) is never reported.
func (x *Execution) Apply(ev *Event) Change {
	var c Change
	if x.ExecutionID == "" {
		x.WorkspaceID, x.ExecutionID, x.AgentID = ev.WorkspaceID, ev.ExecutionID, ev.AgentID
	}
	if ev.Type.Terminal() && !x.FinishedAt.IsZero() {
		c.Conflict = true
		return c
	}
	if x.SeenAt.IsZero() || ev.Timestamp.Before(x.SeenAt) {
		x.SeenAt = ev.Timestamp
	}
	// The worker that started the execution is the one it ran on.
	if ev.WorkerID != "" && (x.WorkerID == "" || (ev.Type == Started && x.StartedAt.IsZero())) {
		x.WorkerID = ev.WorkerID
	}
	if ev.Trigger != "" && x.Trigger == "" {
		x.Trigger = ev.Trigger
	}
	if ev.Credits != nil {
		x.Credits += *ev.Credits
	}
	if ev.Tokens != nil {
		x.Tokens += *ev.Tokens
	}
	if ev.Progress != nil && !ev.Timestamp.Before(x.ProgressAt) {
		p := *ev.Progress
		x.Progress, x.ProgressAt = &p, ev.Timestamp
	}

	switch {
	case ev.Type == Queued:
		if x.QueuedAt.IsZero() {
			x.QueuedAt = ev.Timestamp
			c.QueueWait, c.HasQueueWait = x.queueWait()
		}
	case ev.Type == Started:
		if x.StartedAt.IsZero() {
			x.StartedAt = ev.Timestamp
			c.Started = true
			c.QueueWait, c.HasQueueWait = x.queueWait()
			c.Duration, c.HasDuration = x.duration()
		}
	case ev.Type.Terminal():
		x.FinishedAt = ev.Timestamp
		x.Status = Status(ev.Type)
		if ev.Error != nil {
			e := *ev.Error
			x.Error = &e
		}
		c.Finished = true
		c.Duration, c.HasDuration = x.duration()
	}
	if !x.Status.Finished() {
		switch {
		case !x.StartedAt.IsZero() || x.Progress != nil:
			x.Status = StatusRunning
		default:
			x.Status = StatusQueued
		}
	}
	return c
}

func (x *Execution) duration() (time.Duration, bool) {
	if x.StartedAt.IsZero() || x.FinishedAt.IsZero() || x.FinishedAt.Before(x.StartedAt) {
		return 0, false
	}
	return x.FinishedAt.Sub(x.StartedAt), true
}

func (x *Execution) queueWait() (time.Duration, bool) {
	if x.QueuedAt.IsZero() || x.StartedAt.IsZero() || x.StartedAt.Before(x.QueuedAt) {
		return 0, false
	}
	return x.StartedAt.Sub(x.QueuedAt), true
}

// Update is one accepted event with the execution as it stood after it and
// what it changed; the live views consume these after each commit. Event is
// nil for updates learnt from another node.
type Update struct {
	Event     *Event
	Execution Execution
	Change    Change
}

// ListFilter selects executions for listing, newest first.
type ListFilter struct {
	WorkspaceID string
	Status      Status   // "" for any
	AgentIDs    []string // empty for any
	From, To    time.Time
	// StaleBefore is the start time before which an unfinished execution
	// counts as stale (now minus the maximum run time).
	StaleBefore time.Time
	Limit       int
	// After continues a listing after this execution (its SortAt and id).
	AfterAt time.Time
	AfterID string
}

// StoredEvent is an event as stored, with the time the service received it.
type StoredEvent struct {
	Event
	ReceivedAt time.Time `json:"received_at"`
}
