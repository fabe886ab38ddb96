package metrics

import (
	"container/list"
	"context"
	"strings"
	"sync"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/rollup"
)

// spanCacheEntries bounds the spans kept. An entry is one merged row per
// agent with encoded sketches, a few kilobytes per agent.
const spanCacheEntries = 256

// SpanCache keeps, across requests, the rows of spans of whole UTC days
// that have ended, merged into one row per agent. Long windows read such a
// span of 30 or 90 day rows per agent, and merging their sketches is most of
// their cost; a day that has ended changes only when late events arrive,
// and the commit that brings them forgets every span they touch.
type SpanCache struct {
	now func() time.Time

	mu      sync.Mutex
	epoch   uint64 // moves on every forget, so a merge begun before it is not kept
	entries map[spanKey]*list.Element
	order   *list.List // of *spanEntry, most recently used first
}

type spanKey struct {
	ws       string
	from, to int64
	agents   string // joined; "" for every agent
	sketches bool
}

type spanEntry struct {
	key  spanKey
	rows []*rollup.Row
}

// NewSpanCache returns an empty cache; now tells which days have ended.
func NewSpanCache(now func() time.Time) *SpanCache {
	if now == nil {
		now = time.Now
	}
	return &SpanCache{now: now, entries: map[spanKey]*list.Element{}, order: list.New()}
}

// Forget drops the spans a commit's updates may have changed. Every rollup
// row an execution changes is in the bucket of one of its events, and no
// event of it is older than SeenAt, so spans ending after the earliest of
// those days are dropped. Live traffic touches only the current day, which
// no cached span includes.
func (c *SpanCache) Forget(updates []execution.Update) {
	oldest := map[string]int64{}
	for i := range updates {
		x := &updates[i].Execution
		at := firstSeen(x)
		if at.IsZero() {
			continue
		}
		day := rollup.Day.Bucket(at)
		if d, ok := oldest[x.WorkspaceID]; !ok || day < d {
			oldest[x.WorkspaceID] = day
		}
	}
	today := c.today()
	c.mu.Lock()
	defer c.mu.Unlock()
	for ws, day := range oldest {
		if day >= today {
			continue
		}
		c.epoch++
		for k, el := range c.entries {
			if k.ws == ws && k.to > day {
				c.order.Remove(el)
				delete(c.entries, k)
			}
		}
	}
}

// Reset drops every span, after rows were removed or rewritten outside
// the ingest path (retention).
func (c *SpanCache) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.entries = map[spanKey]*list.Element{}
	c.order.Init()
}

// today is the start of the current UTC day: spans must end by it.
func (c *SpanCache) today() int64 { return rollup.Day.Bucket(c.now()) }

func firstSeen(x *execution.Execution) time.Time {
	var out time.Time
	for _, t := range []time.Time{x.SeenAt, x.QueuedAt, x.StartedAt, x.FinishedAt} {
		if !t.IsZero() && (out.IsZero() || t.Before(out)) {
			out = t
		}
	}
	return out
}

// rows returns the merged rows of the span [from, to) of ended days, reading and
// merging them through read when they are not kept. The rows returned are
// shared: callers only read them.
func (c *SpanCache) rows(ctx context.Context, ws string, from, to int64, agents []string, sketches bool,
	read func(ctx context.Context) ([]*rollup.Row, error)) ([]*rollup.Row, error) {
	k := spanKey{ws: ws, from: from, to: to, agents: strings.Join(agents, "\x00"), sketches: sketches}
	c.mu.Lock()
	if el, ok := c.entries[k]; ok {
		c.order.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*spanEntry).rows, nil
	}
	epoch := c.epoch
	c.mu.Unlock()

	raw, err := read(ctx)
	if err != nil {
		return nil, err
	}
	merged, err := mergeByAgent(raw, from, sketches)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return merged, nil // a commit may have changed what was read
	}
	if _, ok := c.entries[k]; !ok {
		c.entries[k] = c.order.PushFront(&spanEntry{key: k, rows: merged})
		for c.order.Len() > spanCacheEntries {
			last := c.order.Back()
			c.order.Remove(last)
			delete(c.entries, last.Value.(*spanEntry).key)
		}
	}
	return merged, nil
}

// mergeByAgent merges rows into one per agent, in the bucket from, with
// error counts decoded and sketches in their compact stored form.
func mergeByAgent(rows []*rollup.Row, from int64, sketches bool) ([]*rollup.Row, error) {
	byAgent := map[string]*rollup.Row{}
	var out []*rollup.Row
	for _, r := range rows {
		m := byAgent[r.AgentID]
		if m == nil {
			m = &rollup.Row{Key: rollup.Key{WorkspaceID: r.WorkspaceID, Tier: rollup.Day, Bucket: from, AgentID: r.AgentID}}
			byAgent[r.AgentID] = m
			out = append(out, m)
		}
		if err := m.Merge(r); err != nil {
			return nil, err
		}
	}
	for _, m := range out {
		if _, err := m.ErrorCounts(); err != nil {
			return nil, err
		}
		for _, s := range []*rollup.Stat{&m.Duration, &m.QueueWait} {
			var b []byte
			if sketches {
				var err error
				if b, err = s.Encoded(); err != nil {
					return nil, err
				}
			}
			s.SetEncoded(b)
		}
	}
	return out, nil
}
