package metrics

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/shadower/shadower/internal/rollup"
)

// Shared returns an engine for one request that reads each span of rows
// once, however many sections ask for it, even sections computed at once.
func (e *Engine) Shared() *Engine {
	return &Engine{rollups: &memo{src: e.rollups, rows: map[memoKey][]*rollup.Row{}, reading: map[memoKey]chan struct{}{}},
		src: e.src, now: e.now}
}

type memoKey struct {
	ws       string
	tier     rollup.Tier
	from, to int64
	agents   string // joined; "" for every row
	sketches bool
}

// memo answers a read from an earlier one when it can: the same read, the
// same read with sketches, or a read of every row filtered to some agents.
// A read another section has under way is waited for, not repeated. The
// rows it hands out are shared: sections only read them.
type memo struct {
	src Rollups

	mu      sync.Mutex
	rows    map[memoKey][]*rollup.Row
	reading map[memoKey]chan struct{} // closed when the read is done
}

func (m *memo) RollupRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, agents []string, sketches bool) ([]*rollup.Row, error) {
	k := memoKey{ws: ws, tier: tier, from: from, to: to, agents: strings.Join(agents, "\x00"), sketches: sketches}
	m.mu.Lock()
	for {
		if rows, ok := m.cached(k, agents); ok {
			m.mu.Unlock()
			return rows, nil
		}
		done, busy := m.reading[k]
		if !busy {
			break
		}
		m.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		m.mu.Lock()
	}
	done := make(chan struct{})
	m.reading[k] = done
	m.mu.Unlock()

	rows, err := m.src.RollupRange(ctx, ws, tier, from, to, agents, sketches)
	m.mu.Lock()
	delete(m.reading, k)
	if err == nil {
		m.rows[k] = rows
	}
	m.mu.Unlock()
	close(done)
	return rows, err
}

// cached finds k's rows among earlier reads. m.mu is held.
func (m *memo) cached(k memoKey, agents []string) ([]*rollup.Row, bool) {
	for _, withSketches := range []bool{true, k.sketches} {
		k.sketches = withSketches
		if rows, ok := m.rows[k]; ok {
			return rows, true
		}
		all := k
		all.agents = ""
		if rows, ok := m.rows[all]; ok && len(agents) > 0 {
			var out []*rollup.Row
			for _, r := range rows {
				if slices.Contains(agents, r.AgentID) {
					out = append(out, r)
				}
			}
			return out, true
		}
	}
	return nil, false
}
