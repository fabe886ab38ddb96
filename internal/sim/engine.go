package sim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

// The discrete-event core. Actions (arrivals, schedule ticks, slots freeing)
// are processed in (time, sequence) order; processing one may generate events
// at its own time or later, so every event earlier than the next action is
// final and can be emitted. That total order makes the output independent of
// how the time range is cut into History and Live calls.

type actionKind uint8

const (
	actArrive actionKind = iota // an on-demand arrival in workspace ws
	actTick                     // a scheduled run of agent
	actFree                     // a slot of worker in ws frees up
)

type action struct {
	at     int64
	seq    uint64
	kind   actionKind
	ws     int
	agent  int
	worker int
}

type pending struct {
	at  int64
	seq uint64
	ev  *execution.Event
}

// run is an execution while the simulation still generates its events.
type run struct {
	id      string
	ws      int
	agent   int
	trigger string
	queued  int64
	nev     int // events generated so far: the <n> of the next event id
}

type wsState struct {
	rng   *rand.Rand
	busy  []int // running executions per worker
	queue []*run
	qhead int
	count int // executions created so far, for ids
}

type state struct {
	p       *Platform
	origin  int64 // Unix ms the simulation started at; the degrading agent ages from here
	limit   int64 // Unix ms: everything before it has been processed and emitted
	seq     uint64
	actions heap[action]
	out     heap[pending]
	ws      []*wsState

	nextBeat int64 // Unix ms of the next worker beat; 0 until the first
	beatRng  *rand.Rand
	beats    []Beat
}

func (p *Platform) newState(origin int64) *state {
	s := &state{p: p, origin: origin, limit: origin}
	s.actions.less = func(a, b *action) bool { return a.at < b.at || a.at == b.at && a.seq < b.seq }
	s.out.less = func(a, b *pending) bool { return a.at < b.at || a.at == b.at && a.seq < b.seq }
	for i, w := range p.wss {
		ws := &wsState{
			// One stream per workspace: adding a workspace leaves the others unchanged.
			rng:  rand.New(rand.NewPCG(p.seed, uint64(i)+1)),
			busy: make([]int, w.workers),
		}
		s.ws = append(s.ws, ws)
		s.push(action{at: w.nextArrival(ws.rng, origin), kind: actArrive, ws: i})
	}
	for j, a := range p.agents {
		if a.Every > 0 {
			every := a.Every.Milliseconds()
			first := (origin + every - 1) / every * every
			s.push(action{at: first, kind: actTick, ws: p.wsIndex(a.Workspace), agent: j})
		}
	}
	return s
}

func (p *Platform) wsIndex(name string) int {
	for i, w := range p.wss {
		if w.name == name {
			return i
		}
	}
	panic("sim: agent in unknown workspace " + name)
}

func (s *state) push(a action) {
	s.seq++
	a.seq = s.seq
	s.actions.push(a)
}

// advance processes every action before limit and emits every event before it.
func (s *state) advance(limit int64, b *batcher) error {
	for s.actions.len() > 0 && s.actions.peek().at < limit {
		a := s.actions.pop()
		if err := s.drain(a.at, b); err != nil {
			return err
		}
		if err := s.beatsUntil(a.at); err != nil {
			return err
		}
		s.handle(a)
	}
	if err := s.drain(limit, b); err != nil {
		return err
	}
	if err := s.beatsUntil(limit - 1); err != nil {
		return err
	}
	s.limit = limit
	if err := b.flush(); err != nil {
		return err
	}
	return s.flushBeats()
}

// drain emits the events before t.
func (s *state) drain(t int64, b *batcher) error {
	for s.out.len() > 0 && s.out.peek().at < t {
		if err := b.add(*s.out.pop().ev); err != nil {
			return err
		}
	}
	return nil
}

func (s *state) handle(a action) {
	w, ws := s.p.wss[a.ws], s.ws[a.ws]
	switch a.kind {
	case actArrive:
		u := ws.rng.Float64() * w.cumShare[len(w.cumShare)-1]
		k := 0
		for k < len(w.cumShare)-1 && u >= w.cumShare[k] {
			k++
		}
		s.enqueue(a.at, a.ws, w.ondemand[k])
		s.push(action{at: w.nextArrival(ws.rng, a.at), kind: actArrive, ws: a.ws})
	case actTick:
		s.enqueue(a.at, a.ws, a.agent)
		s.push(action{at: a.at + s.p.agents[a.agent].Every.Milliseconds(), kind: actTick, ws: a.ws, agent: a.agent})
	case actFree:
		ws.busy[a.worker]--
	}
	s.dispatch(a.at, a.ws)
}

func (s *state) enqueue(t int64, wi, agent int) {
	ws := s.ws[wi]
	a := &s.p.agents[agent]
	ws.count++
	r := &run{
		id:    "exec-" + s.p.wss[wi].name + "-" + strconv.Itoa(ws.count),
		ws:    wi,
		agent: agent,
		// Scheduled agents have no triggers: they are always "schedule".
		trigger: "schedule",
		queued:  t,
	}
	if len(a.Triggers) > 0 {
		r.trigger = pick(ws.rng, a.Triggers, func(c Choice) float64 { return c.Weight }).Value
	}
	s.emit(t, r, execution.Queued, "", nil)
	ws.queue = append(ws.queue, r)
}

// pickupMedian is the typical delay between a slot freeing and its worker
// starting the next run (polling, sandbox setup), so even an idle pool shows
// some queue wait.
const pickupMedian = 150 * time.Millisecond

// dispatch starts queued executions, first come first served, on the least
// busy workers while slots are free.
func (s *state) dispatch(t int64, wi int) {
	w, ws := s.p.wss[wi], s.ws[wi]
	for ws.qhead < len(ws.queue) {
		best := -1
		for k, n := range ws.busy {
			if n < w.slots && (best < 0 || n < ws.busy[best]) {
				best = k
			}
		}
		if best < 0 {
			return
		}
		r := ws.queue[ws.qhead]
		ws.queue[ws.qhead] = nil
		ws.qhead++
		if ws.qhead > 64 && ws.qhead*2 > len(ws.queue) {
			ws.queue = append(ws.queue[:0], ws.queue[ws.qhead:]...)
			ws.qhead = 0
		}
		ws.busy[best]++
		// The slot is taken now; the worker picks the run up a moment later.
		pickup := int64(math.Round(float64(pickupMedian.Milliseconds()) * math.Exp(0.5*ws.rng.NormFloat64())))
		end := s.start(t+pickup, r, best)
		s.push(action{at: end, kind: actFree, ws: wi, worker: best})
	}
}

// start decides how the run goes and generates all its remaining events; it
// returns when the run ends.
func (s *state) start(t int64, r *run, worker int) int64 {
	a := &s.p.agents[r.agent]
	rng := s.ws[r.ws].rng
	wid := s.p.wss[r.ws].workerID[worker]

	days := min(float64(t-s.origin)/float64(24*time.Hour/time.Millisecond), maxDegradeDays)
	grow, failRate := 1.0, a.FailureRate
	if a.Degrading {
		grow += a.DegradeMedian * days
		failRate += a.DegradeFailure * days
	}

	// The duration the run would take if nothing went wrong.
	median := float64(a.Median.Milliseconds())
	if a.SlowShare > 0 && rng.Float64() < a.SlowShare {
		median = float64(a.SlowMedian.Milliseconds())
	}
	full := median * grow * math.Exp(a.Sigma*rng.NormFloat64())
	if a.TailProb > 0 && rng.Float64() < a.TailProb {
		full *= 3 * math.Pow(1-rng.Float64(), -1/a.TailAlpha)
	}
	full = max(full, 20)

	typ, ran := execution.Completed, full
	var errInfo *execution.ErrorInfo
	switch u := rng.Float64(); {
	case u < failRate && len(a.Errors) > 0:
		k := pick(rng, a.Errors, func(e ErrorKind) float64 { return e.Weight })
		typ, ran = execution.Failed, max(full*k.Within*rng.Float64(), 5)
		errInfo = &execution.ErrorInfo{Type: k.Type, Message: k.Messages[rng.IntN(len(k.Messages))]}
	case u < failRate+a.CancelRate:
		typ, ran = execution.Cancelled, full*(0.05+0.9*rng.Float64())
	}
	if timeout := float64(a.Timeout.Milliseconds()); a.Timeout > 0 && ran > timeout {
		typ, ran = execution.TimedOut, timeout
		errInfo = &execution.ErrorInfo{Type: "timeout", Message: "execution exceeded its " + a.Timeout.String() + " timeout"}
	}
	end := t + int64(math.Round(ran))

	s.emit(t, r, execution.Started, wid, nil)
	// Progress is the share of the would-be duration, so runs that fail or
	// time out stop short of 100.
	every := float64(ProgressEvery.Milliseconds())
	for at := float64(t) + every*(0.8+0.4*rng.Float64()); at < float64(end); at += every * (0.8 + 0.4*rng.Float64()) {
		pt := int64(at)
		v := math.Min(math.Round(1000*float64(pt-t)/full)/10, 99.9)
		s.emit(pt, r, execution.Progress, wid, func(ev *execution.Event) { ev.Progress = &v })
	}
	tokens := math.Round(200 + a.TokensPerSec*ran/1000*math.Exp(0.25*rng.NormFloat64()))
	credits := math.Round(tokens*a.CreditsPer1K/1000*1e4) / 1e4
	s.emit(end, r, typ, wid, func(ev *execution.Event) {
		ev.Error, ev.Tokens, ev.Credits = errInfo, &tokens, &credits
	})
	return end
}

// emit schedules one event of r for emission at Unix ms t.
func (s *state) emit(t int64, r *run, typ execution.Type, worker string, set func(*execution.Event)) {
	ev := &execution.Event{
		EventID:     r.id + ":" + string(typ) + ":" + strconv.Itoa(r.nev),
		Type:        typ,
		ExecutionID: r.id,
		WorkspaceID: s.p.wss[r.ws].name,
		AgentID:     s.p.agents[r.agent].ID,
		Timestamp:   time.UnixMilli(t).UTC(),
		WorkerID:    worker,
		Trigger:     r.trigger,
	}
	r.nev++
	if set != nil {
		set(ev)
	}
	s.seq++
	s.out.push(pending{at: t, seq: s.seq, ev: ev})
}

// pick chooses one of cs with probability proportional to its weight.
func pick[T any](rng *rand.Rand, cs []T, weight func(T) float64) T {
	total := 0.0
	for _, c := range cs {
		total += weight(c)
	}
	u := rng.Float64() * total
	for _, c := range cs {
		if u -= weight(c); u < 0 {
			return c
		}
	}
	return cs[len(cs)-1]
}

// heap is a binary min-heap; container/heap's interface calls cost more than
// the simulation itself.
type heap[T any] struct {
	items []T
	less  func(a, b *T) bool
}

func (h *heap[T]) len() int { return len(h.items) }
func (h *heap[T]) peek() *T { return &h.items[0] }

func (h *heap[T]) push(x T) {
	h.items = append(h.items, x)
	i := len(h.items) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(&h.items[i], &h.items[parent]) {
			break
		}
		h.items[i], h.items[parent] = h.items[parent], h.items[i]
		i = parent
	}
}

func (h *heap[T]) pop() T {
	top := h.items[0]
	n := len(h.items) - 1
	h.items[0] = h.items[n]
	var zero T
	h.items[n] = zero
	h.items = h.items[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(&h.items[l], &h.items[m]) {
			m = l
		}
		if r < n && h.less(&h.items[r], &h.items[m]) {
			m = r
		}
		if m == i {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
	return top
}
