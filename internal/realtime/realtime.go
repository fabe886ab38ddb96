// Package realtime keeps, in memory, what runs and waits now in each
// workspace and what started and finished in the last minute. It is fed the
// updates of every commit and rebuilt from the store at start.
package realtime

import (
	"sort"
	"sync"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

// MaxListed caps running_executions.
const MaxListed = 50

// ringSeconds is how many seconds of counters are kept: the last minute,
// room for events that arrive a little late, and the five minutes into the
// future an event's timestamp may be, so a future second never shares a
// slot with one still counted.
const ringSeconds = 512

// State is the realtime view of every workspace. Safe for concurrent use.
type State struct {
	maxRunTime time.Duration
	now        func() time.Time

	mu  sync.RWMutex
	wss map[string]*workspace
}

type workspace struct {
	open   openSet                       // queued or running
	recent map[string]*[ringSeconds]slot // per agent, by second
}

// openSet holds the open executions by value in one slice, so the scans
// every snapshot makes walk contiguous memory, with their positions by id.
type openSet struct {
	items []openExec
	at    map[string]int
}

func (o *openSet) put(x openExec) {
	if i, ok := o.at[x.id]; ok {
		o.items[i] = x
		return
	}
	if o.at == nil {
		o.at = map[string]int{}
	}
	o.at[x.id] = len(o.items)
	o.items = append(o.items, x)
}

// remove drops id, moving the last item into its place.
func (o *openSet) remove(id string) {
	i, ok := o.at[id]
	if !ok {
		return
	}
	last := len(o.items) - 1
	if i != last {
		o.items[i] = o.items[last]
		o.at[o.items[i].id] = i
	}
	o.items[last] = openExec{}
	o.items = o.items[:last]
	delete(o.at, id)
}

type openExec struct {
	id, agent, worker string
	status            execution.Status
	since             time.Time // started_at, else queued_at, else first seen
	startedAt         time.Time
	progress          *float64
}

type slot struct {
	sec                                 int64
	started, finished, failed, timedOut int64
}

// New returns an empty view. Unfinished executions older than maxRunTime
// are reported as stale instead of running or queued.
func New(maxRunTime time.Duration, now func() time.Time) *State {
	if now == nil {
		now = time.Now
	}
	return &State{maxRunTime: maxRunTime, now: now, wss: map[string]*workspace{}}
}

func (s *State) ws(id string) *workspace {
	w := s.wss[id]
	if w == nil {
		w = &workspace{recent: map[string]*[ringSeconds]slot{}}
		s.wss[id] = w
	}
	return w
}

// Observe applies the updates of one commit.
func (s *State) Observe(updates []execution.Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range updates {
		u := &updates[i]
		x := &u.Execution
		w := s.ws(x.WorkspaceID)
		w.track(x)
		if u.Change.Started {
			w.count(x.AgentID, x.StartedAt, func(sl *slot) { sl.started++ })
		}
		if u.Change.Finished {
			w.finish(x)
		}
	}
}

// Load rebuilds the view from stored executions (unfinished ones, and any
// that started or finished in the last minutes).
func (s *State) Load(xs []*execution.Execution) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range xs {
		w := s.ws(x.WorkspaceID)
		w.track(x)
		if !x.StartedAt.IsZero() {
			w.count(x.AgentID, x.StartedAt, func(sl *slot) { sl.started++ })
		}
		if x.Status.Finished() {
			w.finish(x)
		}
	}
}

// Forget drops unfinished executions last active before t: they have been
// stale long enough to leave raw retention.
func (s *State) Forget(before time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.wss {
		// Backwards, since remove moves the last item into the gap.
		for i := len(w.open.items) - 1; i >= 0; i-- {
			if o := &w.open.items[i]; o.since.Before(before) {
				w.open.remove(o.id)
			}
		}
	}
}

func (w *workspace) track(x *execution.Execution) {
	if x.Status.Finished() {
		w.open.remove(x.ExecutionID)
		return
	}
	since := x.SeenAt
	for _, t := range []time.Time{x.QueuedAt, x.StartedAt} {
		if !t.IsZero() {
			since = t
		}
	}
	w.open.put(openExec{id: x.ExecutionID, agent: x.AgentID, worker: x.WorkerID,
		status: x.Status, since: since, startedAt: x.StartedAt, progress: x.Progress})
}

func (w *workspace) finish(x *execution.Execution) {
	w.count(x.AgentID, x.FinishedAt, func(sl *slot) {
		sl.finished++
		switch x.Status {
		case execution.StatusFailed:
			sl.failed++
		case execution.StatusTimedOut:
			sl.timedOut++
		}
	})
}

func (w *workspace) count(agent string, at time.Time, f func(*slot)) {
	ring := w.recent[agent]
	if ring == nil {
		ring = new([ringSeconds]slot)
		w.recent[agent] = ring
	}
	sec := at.Unix()
	sl := &ring[uint64(sec)%ringSeconds]
	if sl.sec != sec {
		if sl.sec > sec {
			return // older than the ring holds
		}
		*sl = slot{sec: sec}
	}
	f(sl)
}

// Snapshot is the realtime section.
type Snapshot struct {
	Running            int       `json:"running"`
	Queued             int       `json:"queued"`
	Stale              int       `json:"stale"`
	OldestQueuedAgeMs  *int64    `json:"oldest_queued_age_ms"`
	StartedLastMinute  int64     `json:"started_last_minute"`
	FinishedLastMinute int64     `json:"finished_last_minute"`
	FailedLastMinute   int64     `json:"failed_last_minute"`
	TimedOutLastMinute int64     `json:"timed_out_last_minute"`
	RunningExecutions  []Running `json:"running_executions"`
	At                 time.Time `json:"at"`
}

// Running is one execution in progress.
type Running struct {
	ExecutionID string    `json:"execution_id"`
	AgentID     string    `json:"agent_id"`
	WorkerID    string    `json:"worker_id"`
	StartedAt   time.Time `json:"started_at"`
	ElapsedMs   int64     `json:"elapsed_ms"`
	Progress    *float64  `json:"progress"`
}

// Snapshot answers for a workspace, optionally for some agents only. The
// running list holds the longest-running executions first: those are the
// ones worth a look.
func (s *State) Snapshot(ws string, agents []string) Snapshot {
	now := s.now().UTC()
	snap := Snapshot{RunningExecutions: []Running{}, At: now}
	want := Wanted(agents)
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := s.wss[ws]
	if w == nil {
		return snap
	}
	staleBefore := now.Add(-s.maxRunTime)
	var oldestQueued time.Time
	var running []*openExec
	for i := range w.open.items {
		o := &w.open.items[i]
		if !want(o.agent) {
			continue
		}
		switch {
		case o.since.Before(staleBefore):
			snap.Stale++
		case o.status == execution.StatusRunning:
			snap.Running++
			running = keepOldest(running, o)
		default:
			snap.Queued++
			if oldestQueued.IsZero() || o.since.Before(oldestQueued) {
				oldestQueued = o.since
			}
		}
	}
	if !oldestQueued.IsZero() {
		age := max(now.Sub(oldestQueued).Milliseconds(), 0)
		snap.OldestQueuedAgeMs = &age
	}
	for _, o := range running {
		snap.RunningExecutions = append(snap.RunningExecutions, Running{
			ExecutionID: o.id, AgentID: o.agent, WorkerID: o.worker, StartedAt: o.since,
			ElapsedMs: max(now.Sub(o.since).Milliseconds(), 0), Progress: o.progress,
		})
	}
	from, to := now.Unix()-60, now.Unix()
	for agent, ring := range w.recent {
		if !want(agent) {
			continue
		}
		for _, sl := range ring {
			if sl.sec > from && sl.sec <= to {
				snap.StartedLastMinute += sl.started
				snap.FinishedLastMinute += sl.finished
				snap.FailedLastMinute += sl.failed
				snap.TimedOutLastMinute += sl.timedOut
			}
		}
	}
	return snap
}

// keepOldest inserts o into top, the up to MaxListed longest-running
// executions in order, without sorting every running execution.
func keepOldest(top []*openExec, o *openExec) []*openExec {
	older := func(a, b *openExec) bool {
		if !a.since.Equal(b.since) {
			return a.since.Before(b.since)
		}
		return a.id < b.id
	}
	if len(top) == MaxListed && !older(o, top[len(top)-1]) {
		return top
	}
	i := sort.Search(len(top), func(i int) bool { return older(o, top[i]) })
	if len(top) < MaxListed {
		top = append(top, nil)
	}
	copy(top[i+1:], top[i:len(top)-1])
	top[i] = o
	return top
}

// Queue is what waits now in a workspace, and the recent pace of work.
type Queue struct {
	Queued  int
	Oldest  time.Time // queued since; zero when nothing waits
	ByAgent map[string]AgentQueue
	// Started and Finished count the executions that started and finished
	// in the last RecentWindow.
	Started, Finished int64
}

// AgentQueue is what waits for one agent.
type AgentQueue struct {
	Queued int
	Oldest time.Time
}

// RecentWindow is the span Queue's rates are measured over.
const RecentWindow = 5 * time.Minute

// Queue answers for a workspace, optionally for some agents only. Stale
// executions do not count as waiting.
func (s *State) Queue(ws string, agents []string) Queue {
	now := s.now()
	q := Queue{ByAgent: map[string]AgentQueue{}}
	want := Wanted(agents)
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := s.wss[ws]
	if w == nil {
		return q
	}
	staleBefore := now.Add(-s.maxRunTime)
	for i := range w.open.items {
		o := &w.open.items[i]
		if o.status == execution.StatusRunning || o.since.Before(staleBefore) || !want(o.agent) {
			continue
		}
		q.Queued++
		if q.Oldest.IsZero() || o.since.Before(q.Oldest) {
			q.Oldest = o.since
		}
		a := q.ByAgent[o.agent]
		a.Queued++
		if a.Oldest.IsZero() || o.since.Before(a.Oldest) {
			a.Oldest = o.since
		}
		q.ByAgent[o.agent] = a
	}
	from, to := now.Unix()-int64(RecentWindow/time.Second), now.Unix()
	for agent, ring := range w.recent {
		if !want(agent) {
			continue
		}
		for _, sl := range ring {
			if sl.sec > from && sl.sec <= to {
				q.Started += sl.started
				q.Finished += sl.finished
			}
		}
	}
	return q
}

// RunningByWorker counts the executions running now on each worker of ws.
func (s *State) RunningByWorker(ws string) map[string]int {
	staleBefore := s.now().Add(-s.maxRunTime)
	out := map[string]int{}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if w := s.wss[ws]; w != nil {
		for i := range w.open.items {
			o := &w.open.items[i]
			if o.status == execution.StatusRunning && o.worker != "" && !o.since.Before(staleBefore) {
				out[o.worker]++
			}
		}
	}
	return out
}

// Workspaces lists the workspaces the view holds.
func (s *State) Workspaces() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.wss))
	for ws := range s.wss {
		out = append(out, ws)
	}
	sort.Strings(out)
	return out
}

// Wanted reports, for an agent filter, whether an agent is in it (every
// agent is when the filter is empty).
func Wanted(agents []string) func(string) bool {
	if len(agents) == 0 {
		return func(string) bool { return true }
	}
	set := map[string]bool{}
	for _, a := range agents {
		set[a] = true
	}
	return func(a string) bool { return set[a] }
}
