package patterns

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/shadower/shadower/internal/rollup"
)

// Record is a finding as stored and answered: whose it is, and why.
type Record struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"-"`
	// AgentID is nil for the workspace as a whole.
	AgentID      *string       `json:"agent_id"`
	Metric       string        `json:"metric"`
	Direction    string        `json:"direction"`
	Start        time.Time     `json:"start"`
	End          time.Time     `json:"end"`
	Ongoing      bool          `json:"ongoing"`
	Observed     float64       `json:"observed"`
	Expected     float64       `json:"expected"`
	Score        float64       `json:"score"`
	Severity     string        `json:"severity"`
	Baseline     string        `json:"baseline"`
	Explanation  string        `json:"explanation"`
	Contributors []Contributor `json:"contributors"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// Contributor is an agent behind a workspace finding.
type Contributor struct {
	AgentID  string  `json:"agent_id"`
	Observed float64 `json:"observed"`
	Expected float64 `json:"expected"`
	Share    float64 `json:"share"` // of the excess, 0 to 1
}

// RecordID names a finding by what it is and where it began, so every node
// that sees it gives it the same id.
func RecordID(ws, agent, metric, direction string, start time.Time) string {
	h := sha256.Sum256([]byte(ws + "\x00" + agent + "\x00" + metric + "\x00" + direction + "\x00" + start.UTC().Format(time.RFC3339)))
	return hex.EncodeToString(h[:10])
}

// Filter selects findings.
type Filter struct {
	From, To time.Time // findings overlapping [From, To)
	Agents   []string  // those agents' findings, and workspace findings they contributed to
	Metric   string
	Severity string
	Limit    int
}

// MaxListed caps the findings one read returns.
const MaxListed = 1000

// Apply keeps the records f selects, at most f.Limit of them (MaxListed when 0).
func (f Filter) Apply(rs []Record) []Record {
	limit := f.Limit
	if limit <= 0 || limit > MaxListed {
		limit = MaxListed
	}
	out := []Record{}
	for _, r := range rs {
		if len(out) == limit {
			break
		}
		if (f.Metric != "" && r.Metric != f.Metric) || (f.Severity != "" && r.Severity != f.Severity) || !f.concerns(r) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// concerns reports whether r is about one of f's agents: their own
// findings, and workspace findings they contributed to.
func (f Filter) concerns(r Record) bool {
	if len(f.Agents) == 0 {
		return true
	}
	for _, a := range f.Agents {
		if r.AgentID != nil && *r.AgentID == a {
			return true
		}
		if r.AgentID == nil {
			for _, c := range r.Contributors {
				if c.AgentID == a {
					return true
				}
			}
		}
	}
	return false
}

// Status is how far detection has got with a workspace.
type Status struct {
	Running          bool       `json:"running"`
	EvaluatedThrough *time.Time `json:"evaluated_through"`
	Baseline         string     `json:"baseline"`
	HistoryHours     float64    `json:"history_hours"`
}

// AgentKey is the agent as stores key it: rollup.AllAgents for the
// workspace as a whole.
func (r *Record) AgentKey() string {
	if r.AgentID == nil {
		return rollup.AllAgents
	}
	return *r.AgentID
}
