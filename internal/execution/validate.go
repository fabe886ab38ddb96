package execution

import (
	"math"
	"time"
	"unicode/utf8"
)

// Limits of the event contract.
const (
	MaxIDLen           = 128
	MaxErrorTypeLen    = 128
	MaxErrorMessageLen = 2000
	MaxTriggerLen      = 64
	MaxFutureSkew      = 5 * time.Minute
)

// earliest is the oldest timestamp accepted; anything before it is a clock or
// encoding fault, not a real execution.
var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ValidID reports whether s is 1-128 characters of [A-Za-z0-9._:@/-].
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == ':', c == '@', c == '/', c == '-':
		default:
			return false
		}
	}
	return true
}

// Validate checks one event against the contract and returns every problem it
// finds, each with Index set to index. now bounds how far in the future a
// timestamp may be.
func Validate(ev *Event, index int, now time.Time) []Detail {
	var ds []Detail
	bad := func(field, msg string) { ds = append(ds, Detail{Index: index, Field: field, Message: msg}) }

	if n := utf8.RuneCountInString(ev.EventID); n == 0 {
		bad("event_id", "is required")
	} else if n > MaxIDLen || !printable(ev.EventID) {
		bad("event_id", "must be 1-128 printable characters")
	}
	if ev.Type == "" {
		bad("type", "is required")
	} else if !ev.Type.Valid() {
		bad("type", "must be one of queued, started, progress, completed, failed, timed_out, cancelled")
	}
	for _, f := range []struct{ name, v string }{
		{"execution_id", ev.ExecutionID}, {"workspace_id", ev.WorkspaceID}, {"agent_id", ev.AgentID},
	} {
		if f.v == "" {
			bad(f.name, "is required")
		} else if !ValidID(f.v) {
			bad(f.name, "must be 1-128 characters of [A-Za-z0-9._:@/-]")
		}
	}
	switch {
	case ev.Timestamp.IsZero():
		bad("timestamp", "is required (RFC 3339 with offset)")
	case ev.Timestamp.Before(earliest):
		bad("timestamp", "is before 2000-01-01")
	case ev.Timestamp.After(now.Add(MaxFutureSkew)):
		bad("timestamp", "is more than 5 minutes in the future")
	}
	if ev.WorkerID != "" && !ValidID(ev.WorkerID) {
		bad("worker_id", "must be 1-128 characters of [A-Za-z0-9._:@/-]")
	}
	if utf8.RuneCountInString(ev.Trigger) > MaxTriggerLen || !printable(ev.Trigger) {
		bad("trigger", "must be at most 64 printable characters")
	}
	if ev.Progress != nil {
		if p := *ev.Progress; math.IsNaN(p) || p < 0 || p > 100 {
			bad("progress", "must be between 0 and 100")
		}
	} else if ev.Type == Progress {
		bad("progress", "is required on progress events")
	}
	if ev.Error != nil {
		if ev.Type != Failed && ev.Type != TimedOut {
			bad("error", "is only allowed on failed and timed_out events")
		}
		if n := utf8.RuneCountInString(ev.Error.Type); n == 0 || n > MaxErrorTypeLen || !printable(ev.Error.Type) {
			bad("error.type", "must be 1-128 printable characters")
		}
		if utf8.RuneCountInString(ev.Error.Message) > MaxErrorMessageLen || !utf8.ValidString(ev.Error.Message) {
			bad("error.message", "must be at most 2000 characters of valid UTF-8")
		}
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"credits", ev.Credits}, {"tokens", ev.Tokens}} {
		if f.v != nil && (math.IsNaN(*f.v) || math.IsInf(*f.v, 0) || *f.v < 0) {
			bad(f.name, "must be a finite number >= 0")
		}
	}
	return ds
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
