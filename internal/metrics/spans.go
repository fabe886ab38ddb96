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

// spanCacheBytes bounds the memory the entries take, as estimated when
// they are kept: a merged span holds a row per agent with its sketches encoded
// (a few kilobytes each), a chunk of rows without sketches 24 or 60 small
// rows per agent.
const spanCacheBytes = 32 << 20

// SpanCache keeps, across requests, what windows read of buckets that have
// ended: spans of rows merged into one row per agent (a 90-day window
// reads 90 day rows per agent and hours and minutes at its ends, and
// merging their sketches is most of its cost), and rows without sketches
// of ended hours and days (series, the hours of the day, forecasts).
// A bucket that has ended changes only when late events arrive, and the
// commit that brings them forgets every entry they touch.
type SpanCache struct {
	now func() time.Time

	mu      sync.Mutex
	epoch   uint64 // moves on every forget, so a read begun before it is not kept
	entries map[spanKey]*list.Element
	order   *list.List // of *spanEntry, most recently used first
	bytes   int        // the entries' estimated size
	max     int
}

// spanKey names an entry: a merged span (merged), or one chunk of a
// tier's rows.
type spanKey struct {
	merged   bool
	ws       string
	tier     rollup.Tier
	from, to int64
	agents   string // joined; "" for every agent
	sketches bool
}

type spanEntry struct {
	key  spanKey
	rows []*rollup.Row
	size int
}

// rowSize estimates what a row takes in memory, sketches aside.
const rowSize = 320

// NewSpanCache returns an empty cache; now tells which buckets have ended.
func NewSpanCache(now func() time.Time) *SpanCache {
	if now == nil {
		now = time.Now
	}
	return &SpanCache{now: now, entries: map[spanKey]*list.Element{}, order: list.New(), max: spanCacheBytes}
}

// Forget drops the entries a commit's updates may have changed: for each
// workspace, those ending after the bucket of the earliest time the
// updates count at (rollup.ChangedFrom). Live traffic counts at the
// current minute, which no entry includes.
func (c *SpanCache) Forget(updates []execution.Update) {
	oldest := map[string]time.Time{}
	for _, u := range updates {
		at, ok := rollup.ChangedFrom(u)
		ws := u.Execution.WorkspaceID
		if o, seen := oldest[ws]; ok && (!seen || at.Before(o)) {
			oldest[ws] = at
		}
	}
	minute := c.ended(rollup.Minute)
	c.mu.Lock()
	defer c.mu.Unlock()
	for ws, at := range oldest {
		if at.Unix() >= minute {
			continue
		}
		c.epoch++
		for k, el := range c.entries {
			if k.ws == ws && k.to > k.tier.Bucket(at) {
				c.remove(el)
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
	c.bytes = 0
}

func (c *SpanCache) remove(el *list.Element) {
	e := el.Value.(*spanEntry)
	c.order.Remove(el)
	delete(c.entries, e.key)
	c.bytes -= e.size
}

// ended is where the buckets of tier that are still open begin: entries
// end by it.
func (c *SpanCache) ended(tier rollup.Tier) int64 { return tier.Bucket(c.now()) }

// lookup returns the entry k, or the epoch a read for it starts in.
func (c *SpanCache) lookup(k spanKey) ([]*rollup.Row, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*spanEntry).rows, true, 0
	}
	return nil, false, c.epoch
}

// keep stores rows, of about size bytes, as entry k unless a commit has
// forgotten anything since the read began (epoch): what was read may be
// out of date.
func (c *SpanCache) keep(k spanKey, epoch uint64, rows []*rollup.Row, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return
	}
	if _, ok := c.entries[k]; ok {
		return
	}
	e := &spanEntry{key: k, rows: rows, size: size}
	c.entries[k] = c.order.PushFront(e)
	c.bytes += e.size
	for c.bytes > c.max && c.order.Len() > 1 {
		c.remove(c.order.Back())
	}
}

// merged returns the rows of a span of buckets that have ended, merged into
// one per agent, reading them through read when they are not kept. The
// rows returned are shared: callers only read them.
func (c *SpanCache) merged(ctx context.Context, ws string, sp rollup.Span, agents []string, sketches bool,
	read func(ctx context.Context) ([]*rollup.Row, error)) ([]*rollup.Row, error) {
	k := spanKey{merged: true, ws: ws, tier: sp.Tier, from: sp.From, to: sp.To, agents: strings.Join(agents, "\x00"), sketches: sketches}
	rows, ok, epoch := c.lookup(k)
	if ok {
		return rows, nil
	}
	raw, err := read(ctx)
	if err != nil {
		return nil, err
	}
	rows, size, err := mergeByAgent(raw, sp, sketches)
	if err != nil {
		return nil, err
	}
	c.keep(k, epoch, rows, size)
	return rows, nil
}

// cachedRollups reads rows without sketches of ended chunks (an hour of
// minute rows, a day of hour or day rows) through the cache; every other
// read goes to the store.
type cachedRollups struct {
	src   Rollups
	spans *SpanCache
}

// chunk is how much of a tier one entry holds.
func chunk(t rollup.Tier) int64 {
	if t == rollup.Minute {
		return rollup.Hour.Seconds()
	}
	return rollup.Day.Seconds()
}

func (r *cachedRollups) RollupRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, agents []string, sketches bool) ([]*rollup.Row, error) {
	width := chunk(tier)
	first, end := ceilDiv(from, width)*width, floorDiv(min(to, r.spans.ended(tier)), width)*width
	if sketches || first >= end {
		return r.src.RollupRange(ctx, ws, tier, from, to, agents, sketches)
	}
	read := func(from, to int64) ([]*rollup.Row, error) {
		if from >= to {
			return nil, nil
		}
		return r.src.RollupRange(ctx, ws, tier, from, to, agents, sketches)
	}
	out, err := read(from, first)
	if err != nil {
		return nil, err
	}
	// Kept chunks are used; each run of chunks not kept is read at once
	// and kept chunk by chunk.
	joined := strings.Join(agents, "\x00")
	key := func(at int64) spanKey { return spanKey{ws: ws, tier: tier, from: at, to: at + width, agents: joined} }
	for c := first; c < end; {
		rows, ok, epoch := r.spans.lookup(key(c))
		if ok {
			out = append(out, rows...)
			c += width
			continue
		}
		runEnd := c + width
		for runEnd < end {
			if _, ok, _ := r.spans.lookup(key(runEnd)); ok {
				break
			}
			runEnd += width
		}
		rows, err = read(c, runEnd)
		if err != nil {
			return nil, err
		}
		byChunk := map[int64][]*rollup.Row{}
		for _, row := range rows {
			at := floorDiv(row.Bucket, width) * width
			byChunk[at] = append(byChunk[at], row)
		}
		for ; c < runEnd; c += width {
			r.spans.keep(key(c), epoch, byChunk[c], rowSize*len(byChunk[c]))
		}
		out = append(out, rows...)
	}
	tail, err := read(end, to)
	if err != nil {
		return nil, err
	}
	return append(out, tail...), nil
}

// mergeByAgent merges rows into one per agent, in the span's first bucket, with
// error counts decoded and sketches in their compact stored form, and
// estimates their size.
func mergeByAgent(rows []*rollup.Row, sp rollup.Span, sketches bool) ([]*rollup.Row, int, error) {
	byAgent := map[string]*rollup.Row{}
	var out []*rollup.Row
	for _, r := range rows {
		m := byAgent[r.AgentID]
		if m == nil {
			m = &rollup.Row{Key: rollup.Key{WorkspaceID: r.WorkspaceID, Tier: sp.Tier, Bucket: sp.From, AgentID: r.AgentID}}
			byAgent[r.AgentID] = m
			out = append(out, m)
		}
		if err := m.Merge(r); err != nil {
			return nil, 0, err
		}
	}
	size := rowSize * len(out)
	for _, m := range out {
		if _, err := m.ErrorCounts(); err != nil {
			return nil, 0, err
		}
		for _, s := range []*rollup.Stat{&m.Duration, &m.QueueWait} {
			var b []byte
			if sketches {
				var err error
				if b, err = s.Encoded(); err != nil {
					return nil, 0, err
				}
			}
			s.SetEncoded(b)
			size += len(b)
		}
	}
	return out, size, nil
}

func ceilDiv(x, d int64) int64 { return -floorDiv(-x, d) }
