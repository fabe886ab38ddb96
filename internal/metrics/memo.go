package metrics

import (
	"context"
	"slices"
	"strings"

	"github.com/shadower/shadower/internal/rollup"
)

// Shared returns an engine for one request that reads each span of rows
// once, however many sections ask for it. Not safe for concurrent use.
func (e *Engine) Shared() *Engine {
	return &Engine{rollups: &memo{src: e.rollups, rows: map[memoKey][]*rollup.Row{}}, src: e.src, now: e.now}
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
type memo struct {
	src  Rollups
	rows map[memoKey][]*rollup.Row
}

func (m *memo) RollupRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, agents []string, sketches bool) ([]*rollup.Row, error) {
	k := memoKey{ws: ws, tier: tier, from: from, to: to, agents: strings.Join(agents, "\x00"), sketches: sketches}
	for _, withSketches := range []bool{true, sketches} {
		k.sketches = withSketches
		if rows, ok := m.rows[k]; ok {
			return rows, nil
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
			return out, nil
		}
	}
	rows, err := m.src.RollupRange(ctx, ws, tier, from, to, agents, sketches)
	if err != nil {
		return nil, err
	}
	k.sketches = sketches
	m.rows[k] = rows
	return rows, nil
}
