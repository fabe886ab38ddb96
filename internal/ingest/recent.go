package ingest

import (
	"time"

	"github.com/shadower/shadower/internal/execution"
)

// recentFor is how long a committed execution is taken from memory rather
// than read back. Live traffic writes an execution at each of its events,
// seconds apart; retention, the only other writer of executions, deletes
// none younger than days.
const recentFor = time.Minute

type execKey struct{ ws, id string }

// recentExecutions holds the executions of the last commits as committed,
// so the writer need not read them back: a fifth of its time under live
// traffic. Only the writer's goroutine uses it. Two generations of at most
// max each: when the newer fills, the older is dropped.
type recentExecutions struct {
	max       int
	cur, prev map[execKey]recentExecution
}

type recentExecution struct {
	x  execution.Execution
	at time.Time
}

func newRecentExecutions(max int) *recentExecutions {
	return &recentExecutions{max: max, cur: map[execKey]recentExecution{}}
}

// take returns copies of the executions of ws among ids committed since
// now-recentFor, and the ids it lacks.
func (r *recentExecutions) take(ws string, ids []string, now time.Time) (map[string]*execution.Execution, []string) {
	hit := map[string]*execution.Execution{}
	var miss []string
	for _, id := range ids {
		k := execKey{ws, id}
		e, ok := r.cur[k]
		if !ok {
			e, ok = r.prev[k]
		}
		if ok && now.Sub(e.at) < recentFor {
			x := e.x
			hit[id] = &x
		} else {
			miss = append(miss, id)
		}
	}
	return hit, miss
}

// put records the state of each execution after a commit at now: the last
// update of each is its state.
func (r *recentExecutions) put(updates []execution.Update, now time.Time) {
	for _, u := range updates {
		if len(r.cur) >= r.max {
			r.prev, r.cur = r.cur, make(map[execKey]recentExecution, r.max)
		}
		r.cur[execKey{u.Execution.WorkspaceID, u.Execution.ExecutionID}] = recentExecution{u.Execution, now}
	}
}
