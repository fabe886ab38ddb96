package sim

import (
	"math"
	"math/rand/v2"
	"time"
)

// Beat is a heartbeat of a simulated worker: its slots, how many are busy,
// and a CPU and memory load that follow the busy slots.
type Beat struct {
	Workspace   string
	Worker      string
	At          time.Time
	Every       time.Duration
	Slots       int
	Busy        int
	CPUPercent  float64
	MemoryBytes int64
	MemoryLimit int64
}

// Worker memory: a base, a share per busy slot, a limit per slot.
const (
	workerBaseMemory = 300 << 20
	memoryPerRun     = 450 << 20
	memoryLimitPer   = 1 << 30
)

// beatBatch is how many beats are sent at once.
const beatBatch = 500

// OnBeat has every worker report a Beat every `every` of simulated time,
// read after all that happened before it, to emit (in batches); nil stops
// them. The beats do not change the executions simulated.
func (p *Platform) OnBeat(every time.Duration, emit func([]Beat) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.beatEvery, p.beatEmit = every.Milliseconds(), emit
	if p.st != nil {
		p.st.nextBeat = 0
	}
}

// beatsUntil takes the beats due at or before t (Unix ms).
func (s *state) beatsUntil(t int64) error {
	every := s.p.beatEvery
	if s.p.beatEmit == nil || every <= 0 {
		return nil
	}
	if s.nextBeat == 0 {
		s.nextBeat = (s.limit + every - 1) / every * every
		s.beatRng = rand.New(rand.NewPCG(s.p.seed, 1<<32))
	}
	for ; s.nextBeat <= t; s.nextBeat += every {
		for wi, w := range s.p.wss {
			for k, busy := range s.ws[wi].busy {
				load := float64(busy) / float64(w.slots)
				cpu := math.Round(math.Min(math.Max(4+88*load+3*s.beatRng.NormFloat64(), 0), 100)*10) / 10
				mem := int64(workerBaseMemory + busy*memoryPerRun + int(20<<20*s.beatRng.Float64()))
				s.beats = append(s.beats, Beat{Workspace: w.name, Worker: w.workerID[k], At: time.UnixMilli(s.nextBeat).UTC(),
					Every: time.Duration(every) * time.Millisecond, Slots: w.slots, Busy: busy, CPUPercent: cpu,
					MemoryBytes: mem, MemoryLimit: int64(w.slots) * memoryLimitPer})
			}
		}
		if len(s.beats) >= beatBatch {
			if err := s.flushBeats(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *state) flushBeats() error {
	if len(s.beats) == 0 || s.p.beatEmit == nil {
		return nil
	}
	b := s.beats
	s.beats = nil
	return s.p.beatEmit(b)
}
