// Package execution is the vocabulary of the service: events, executions, their
// statuses, validation and the errors every layer speaks. It depends on the
// standard library only.
package execution

import (
	"time"
)

// Type is the kind of an event.
type Type string

// The event types a worker may send.
const (
	Queued    Type = "queued"
	Started   Type = "started"
	Progress  Type = "progress"
	Completed Type = "completed"
	Failed    Type = "failed"
	TimedOut  Type = "timed_out"
	Cancelled Type = "cancelled"
)

// Valid reports whether t is one of the known event types.
func (t Type) Valid() bool {
	switch t {
	case Queued, Started, Progress, Completed, Failed, TimedOut, Cancelled:
		return true
	}
	return false
}

// Terminal reports whether t ends an execution.
func (t Type) Terminal() bool {
	switch t {
	case Completed, Failed, TimedOut, Cancelled:
		return true
	}
	return false
}

// ErrorInfo is what a failed or timed-out execution reports about its failure.
type ErrorInfo struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Event is one thing that happened to an execution, as a worker reports it.
type Event struct {
	EventID     string     `json:"event_id"`
	Type        Type       `json:"type"`
	ExecutionID string     `json:"execution_id"`
	WorkspaceID string     `json:"workspace_id"`
	AgentID     string     `json:"agent_id"`
	Timestamp   time.Time  `json:"timestamp"`
	WorkerID    string     `json:"worker_id,omitempty"`
	Trigger     string     `json:"trigger,omitempty"`
	Progress    *float64   `json:"progress,omitempty"`
	Error       *ErrorInfo `json:"error,omitempty"`
	Credits     *float64   `json:"credits,omitempty"`
	Tokens      *float64   `json:"tokens,omitempty"`
}
