package app

import (
	"context"
	"time"

	"github.com/shadower/shadower/internal/rollup"
)

// SampleEvery is how often the backlog and the host are sampled.
const SampleEvery = 15 * time.Second

// sampleLoop samples, until ctx ends, each workspace's backlog into the
// gauge tiers, and the host's load.
func (s *Server) sampleLoop(ctx context.Context) {
	t := time.NewTicker(SampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.host.Sample()
		if err := s.sampleBacklog(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("sample the backlog", "err", err)
		}
	}
}

// sampleBacklog records, for every workspace the live view holds, how many
// executions wait (in all, and per agent with any waiting) and the oldest
// wait. A workspace's sample is taken every time, so its count of samples
// is the number of readings in a bucket; agents' are only taken while they
// have work waiting, which keeps idle agents free.
func (s *Server) sampleBacklog(ctx context.Context) error {
	now := s.cfg.Now().UTC()
	var samples []rollup.GaugeSample
	for _, ws := range s.live.Workspaces() {
		q := s.live.Queue(ws, nil)
		var oldest float64
		if !q.Oldest.IsZero() {
			oldest = float64(max(now.Sub(q.Oldest).Milliseconds(), 0))
		}
		samples = append(samples,
			rollup.GaugeSample{WorkspaceID: ws, Gauge: rollup.GaugeBacklog, Key: rollup.AllAgents, At: now, Value: float64(q.Queued)},
			rollup.GaugeSample{WorkspaceID: ws, Gauge: rollup.GaugeOldestWait, Key: rollup.AllAgents, At: now, Value: oldest})
		for agent, aq := range q.ByAgent {
			samples = append(samples, rollup.GaugeSample{WorkspaceID: ws, Gauge: rollup.GaugeBacklog, Key: agent, At: now, Value: float64(aq.Queued)})
		}
	}
	return s.db.RecordGauges(ctx, samples)
}
