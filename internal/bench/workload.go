package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Workload is a deterministic set of executions: execution i is the same
// whichever process or goroutine generates it, so the load can be cut into
// batches freely and checked against exact figures.
//
// The executions of each stage (from the previous size to the next) finish
// in time order over the whole span, as a platform's history would be
// replayed: every stage covers every window, more densely each time, and
// consecutive events are close in time, as live traffic is.
type Workload struct {
	Seed       uint64
	Workspaces int
	Agents     int           // per workspace
	Span       time.Duration // executions finish over [End-Span, End)
	End        time.Time
	Sizes      []int // executions at the end of each stage
	// RandomIDs gives executions random ids (UUID version 4) instead of
	// ids in the order they were made (as a sequence, a ULID or a UUID
	// version 7 would be), to show what key order costs the stores.
	RandomIDs bool
}

// Execution is one generated execution.
type Execution struct {
	Workspace, Agent, ID      string
	Queued, Started, Finished time.Time
	Status                    string // completed, failed, timed_out, cancelled
	ErrorType                 string
}

// Duration is the execution's run time in milliseconds.
func (x *Execution) Duration() float64 {
	return float64(x.Finished.Sub(x.Started)) / float64(time.Millisecond)
}

var errorTypes = []string{"rate_limit", "tool_error", "llm_timeout", "validation_error", "oom"}

// agentMedian gives each agent of a workspace a typical run time, from
// 200 ms to a minute, log-spaced: classifiers to research agents.
func (w Workload) agentMedian(agent int) float64 {
	if w.Agents == 1 {
		return 2000
	}
	return 200 * math.Pow(300, float64(agent)/float64(w.Agents-1))
}

// At generates execution i.
func (w Workload) At(i int) Execution {
	rng := rand.New(rand.NewPCG(w.Seed, uint64(i)))
	ws, agent := i%w.Workspaces, (i/w.Workspaces)%w.Agents
	x := Execution{
		Workspace: "ws-" + strconv.Itoa(ws),
		Agent:     "agent-" + strconv.Itoa(agent),
		ID:        "x" + strconv.Itoa(i),
	}
	if w.RandomIDs {
		x.ID = randomUUID(w.Seed, i)
	}
	// Run time: lognormal around the agent's median, with a heavy tail on
	// 2% of runs; queue wait lognormal around 300 ms.
	d := w.agentMedian(agent) * math.Exp(0.8*rng.NormFloat64())
	if rng.Float64() < 0.02 {
		d *= 3 * math.Pow(1-rng.Float64(), -1/1.3)
	}
	d = math.Min(math.Max(d, 5), 3_600_000)
	wait := math.Min(300*math.Exp(rng.NormFloat64()), 600_000)
	lo, hi := 0, w.Sizes[len(w.Sizes)-1]
	for _, size := range w.Sizes {
		if i < size {
			hi = size
			break
		}
		lo = size
	}
	frac := (float64(i-lo) + rng.Float64()) / float64(hi-lo)
	fin := w.End.Add(-w.Span + time.Duration(frac*float64(w.Span)))
	// Whole milliseconds, as the events carry them: the exact values the
	// accuracy check compares with are those of the events sent.
	x.Finished = fin.Truncate(time.Millisecond)
	x.Started = x.Finished.Add(-time.Duration(d * float64(time.Millisecond))).Truncate(time.Millisecond)
	x.Queued = x.Started.Add(-time.Duration(wait * float64(time.Millisecond))).Truncate(time.Millisecond)
	switch u := rng.Float64(); {
	case u < 0.85:
		x.Status = "completed"
	case u < 0.93:
		x.Status = "failed"
		x.ErrorType = errorTypes[rng.IntN(len(errorTypes))]
	case u < 0.97:
		x.Status = "timed_out"
		x.ErrorType = "timeout"
	default:
		x.Status = "cancelled"
	}
	return x
}

func (x *Execution) appendEvent(b []byte, suffix, typ string, at time.Time) []byte {
	b = append(b, `{"event_id":"`...)
	b = append(b, x.ID...)
	b = append(b, '-')
	b = append(b, suffix...)
	b = append(b, `","type":"`...)
	b = append(b, typ...)
	b = append(b, `","execution_id":"`...)
	b = append(b, x.ID...)
	b = append(b, `","workspace_id":"`...)
	b = append(b, x.Workspace...)
	b = append(b, `","agent_id":"`...)
	b = append(b, x.Agent...)
	b = append(b, `","timestamp":"`...)
	b = at.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, '"')
	if typ == "started" {
		b = append(b, `,"worker_id":"w-`...)
		b = append(b, x.Agent[len("agent-"):]...)
		b = append(b, '"')
	}
	if x.ErrorType != "" && suffix == "f" {
		b = append(b, `,"error":{"type":"`...)
		b = append(b, x.ErrorType...)
		b = append(b, `","message":"generated failure"}`...)
	}
	return append(b, '}')
}

// appendNth appends the execution's k-th event: queued, started, terminal.
func (x *Execution) appendNth(b []byte, k int) []byte {
	switch k {
	case 0:
		return x.appendEvent(b, "q", "queued", x.Queued)
	case 1:
		return x.appendEvent(b, "s", "started", x.Started)
	default:
		return x.appendEvent(b, "f", x.Status, x.Finished)
	}
}

// Events is the JSON body of events [from, to) of the stream in which
// execution i's three events are 3i, 3i+1 and 3i+2.
func (w Workload) Events(from, to int) []byte {
	b := make([]byte, 0, (to-from)*230)
	b = append(b, '[')
	for e := from; e < to; {
		x := w.At(e / 3)
		for k := e % 3; k < 3 && e < to; k, e = k+1, e+1 {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = x.appendNth(b, k)
		}
	}
	return append(b, ']')
}

// LiveBatch is batch j of the live stream of executions [from, to), in
// waves of wave executions: the queued events of wave j, the started events
// of wave j-1 and the terminal events of wave j-2. Each execution's events
// arrive in three consecutive batches, as a platform reports them while its
// executions run, so its execution is written three times, not once. The
// stream has waves+2 batches; LiveBatch also returns how many events the
// batch holds.
func (w Workload) LiveBatch(from, to, wave, j int) ([]byte, int) {
	b := make([]byte, 0, 3*wave*230)
	b = append(b, '[')
	n := 0
	for k := range 3 {
		lo := from + (j-k)*wave
		if lo < from || lo >= to {
			continue
		}
		for i := lo; i < min(lo+wave, to); i++ {
			x := w.At(i)
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = x.appendNth(b, k)
		}
	}
	return append(b, ']'), n
}

// randomUUID is execution i's random id, the same every run, in the form
// of a UUID version 4.
func randomUUID(seed uint64, i int) string {
	r := rand.New(rand.NewPCG(^seed, uint64(i)))
	a, b := r.Uint64(), r.Uint64()
	a = a&^0xf000 | 0x4000           // version 4
	b = b&^(0xc000<<48) | 0x8000<<48 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}
