// Package sim is the simulated agent platform behind `shadower demo`: a few
// workspaces whose agents run on pools of workers, with daily and weekly load
// cycles, a daily burst, a degrading agent, failures, timeouts and
// cancellations. It is a discrete-event simulation in simulated time, so a week
// of history takes seconds and a seed always gives the same events.
package sim

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

// liveTick is how often Live looks at the clock; every tick flushes all due
// events, which keeps the flush interval well under 200 ms.
const liveTick = 100 * time.Millisecond

// Platform is a simulated agent platform. Its configuration is fixed at
// NewPlatform; its simulation state carries over from one History or Live call
// to the next when the next one starts where the previous one ended, so that
// executions running at the boundary finish in the later call. It is not safe
// for concurrent History and Live calls (they serialise on a lock).
type Platform struct {
	seed   uint64
	wss    []*workspace
	agents []Agent

	mu        sync.Mutex
	st        *state // nil until the first History or Live
	beatEvery int64  // ms; see OnBeat
	beatEmit  func([]Beat) error
}

type workspace struct {
	workspaceSpec
	index    int
	workerID []string
	ondemand []int     // indexes into Platform.agents of agents with Share > 0
	cumShare []float64 // cumulative shares of ondemand
	burst    bool
}

// NewPlatform returns the platform for seed: the same seed always yields the
// same executions for the same time range.
func NewPlatform(seed uint64) *Platform {
	p := &Platform{seed: seed, agents: cloneAgents(agentSpecs)}
	for i, spec := range workspaceSpecs {
		w := &workspace{workspaceSpec: spec, index: i, burst: spec.name == BurstWorkspace}
		for k := 1; k <= spec.workers; k++ {
			w.workerID = append(w.workerID, spec.name+"-worker-"+strconv.Itoa(k))
		}
		sum := 0.0
		for j, a := range p.agents {
			if a.Workspace == spec.name && a.Share > 0 {
				sum += a.Share
				w.ondemand = append(w.ondemand, j)
				w.cumShare = append(w.cumShare, sum)
			}
		}
		p.wss = append(p.wss, w)
	}
	return p
}

// Workspaces returns the workspace ids.
func (p *Platform) Workspaces() []string {
	out := make([]string, len(p.wss))
	for i, w := range p.wss {
		out[i] = w.name
	}
	return out
}

// Workers returns the worker ids of a workspace, nil for an unknown one.
func (p *Platform) Workers(workspace string) []string {
	for _, w := range p.wss {
		if w.name == workspace {
			return slices.Clone(w.workerID)
		}
	}
	return nil
}

// Slots returns how many executions one worker of the workspace runs at once.
func (p *Platform) Slots(workspace string) int {
	for _, w := range p.wss {
		if w.name == workspace {
			return w.slots
		}
	}
	return 0
}

// Agents returns a copy of the agent profiles.
func (p *Platform) Agents() []Agent { return cloneAgents(p.agents) }

func cloneAgents(in []Agent) []Agent {
	out := slices.Clone(in)
	for i := range out {
		out[i].Triggers = slices.Clone(out[i].Triggers)
		out[i].Errors = slices.Clone(out[i].Errors)
		for j := range out[i].Errors {
			out[i].Errors[j].Messages = slices.Clone(out[i].Errors[j].Messages)
		}
	}
	return out
}

// History emits the events of all executions queued in [from, to), in time
// order, in batches of batchSize events (the last one may be short).
// Executions still running at `to` get only the events before `to`; the rest
// follow in a History or Live call that starts at `to`. A call starting
// anywhere else, or after a call that failed, restarts the simulation at its
// start with idle workers and empty queues. An error of emit stops History and
// is returned.
func (p *Platform) History(from, to time.Time, batchSize int, emit func([]execution.Event) error) error {
	if batchSize < 1 {
		return errors.New("sim: batchSize must be at least 1")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state(from)
	b := &batcher{size: batchSize, emit: emit}
	err := st.advance(max(ceilMs(to), st.limit), b)
	if err != nil {
		p.st = nil // cut mid-way: the next call starts afresh
	}
	return err
}

// Live runs the platform in real time from start until ctx ends, emitting each
// event once now() reaches its timestamp, in time order and in batches of at
// most batchSize. All due events are flushed every 100 ms (of real time), so a
// fake now() can run the simulation faster than the wall clock. If start is far
// behind now(), Live first catches up. It continues the simulation like
// History does. It returns nil when ctx ends and the error of emit when emit
// fails.
func (p *Platform) Live(ctx context.Context, start time.Time, now func() time.Time, batchSize int, emit func([]execution.Event) error) error {
	if batchSize < 1 {
		return errors.New("sim: batchSize must be at least 1")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state(start)
	b := &batcher{size: batchSize, emit: emit, ctx: ctx}
	tick := time.NewTicker(liveTick)
	defer tick.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		// Events at or before now are due.
		if limit := now().UnixMilli() + 1; limit > st.limit {
			if err := st.advance(limit, b); err != nil {
				p.st = nil // cut mid-way: the next call starts afresh
				if errors.Is(err, errStopped) {
					return nil
				}
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// state returns the simulation to continue from start, or a fresh one.
func (p *Platform) state(start time.Time) *state {
	ms := ceilMs(start)
	if p.st == nil || p.st.limit != ms {
		p.st = p.newState(ms)
	}
	return p.st
}

// ceilMs is t in Unix milliseconds, rounded up: the simulation runs on whole
// milliseconds and "before t" means "< ceilMs(t)".
func ceilMs(t time.Time) int64 {
	m := t.UnixMilli()
	if time.UnixMilli(m).Before(t) {
		m++
	}
	return m
}

var errStopped = errors.New("sim: stopped")

// batcher cuts the event stream into batches.
type batcher struct {
	size int
	emit func([]execution.Event) error
	ctx  context.Context // nil for History
	buf  []execution.Event
}

func (b *batcher) add(ev execution.Event) error {
	if b.buf == nil {
		b.buf = make([]execution.Event, 0, min(b.size, 4096))
	}
	b.buf = append(b.buf, ev)
	if len(b.buf) >= b.size {
		return b.flush()
	}
	return nil
}

// flush emits the buffered events. Each batch is a fresh slice: the caller may keep it.
func (b *batcher) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	if b.ctx != nil && b.ctx.Err() != nil {
		return errStopped
	}
	batch := b.buf
	b.buf = nil
	return b.emit(batch)
}

// rate is the on-demand arrival rate of w per millisecond at Unix ms t.
func (w *workspace) rate(t int64) float64 {
	tt := time.UnixMilli(t).UTC()
	h, m, s := tt.Clock()
	dayMs := int64(h)*3600_000 + int64(m)*60_000 + int64(s)*1000 + int64(tt.Nanosecond()/1e6)
	hf := float64(dayMs) / 3600_000
	i := int(hf)
	frac := hf - float64(i)
	daily := dailyLoad[i]*(1-frac) + dailyLoad[(i+1)%24]*frac
	if w.burst && dayMs >= BurstAt.Milliseconds() && dayMs < (BurstAt+BurstLength).Milliseconds() {
		// The flash sale runs every day: on weekends it stands out even more.
		return w.peak / 1000 * daily * BurstFactor
	}
	return w.peak / 1000 * daily * weeklyLoad[tt.Weekday()]
}

// nextArrival draws the next on-demand arrival after t from a Poisson process
// whose rate is constant within each minute; by memorylessness a draw that
// overshoots the minute simply restarts at the next one.
func (w *workspace) nextArrival(rng *rand.Rand, t int64) int64 {
	for {
		end := (t/60_000 + 1) * 60_000
		if r := w.rate(end - 30_000); r > 0 {
			if next := float64(t) + rng.ExpFloat64()/r; next < float64(end) {
				return int64(math.Ceil(next))
			}
		}
		t = end
	}
}
