package ingest

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/rollup"
)

// Store is what ingest needs from a database.
type Store interface {
	// Write runs fn in one transaction; when it returns nil the
	// transaction is committed and durable.
	Write(ctx context.Context, fn func(Tx) error) error
}

// Tx is one write transaction.
type Tx interface {
	// InsertEvents stores the events not stored before (by workspace and
	// event id) and reports, per event, whether it was new.
	InsertEvents(evs []*execution.Event, receivedAt time.Time) ([]bool, error)
	LoadExecutions(workspaceID string, ids []string) (map[string]*execution.Execution, error)
	SaveExecutions(xs []*execution.Execution, now time.Time) error
	LoadRollups(keys []rollup.Key) (map[rollup.Key]*rollup.Row, error)
	SaveRollups(rows map[rollup.Key]*rollup.Row) error
	TouchWorkspaces(ids []string, now time.Time) error
}

// Result is the answer to one batch.
type Result struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Conflicts  int `json:"conflicts"`
}

// Options tune the writer.
type Options struct {
	// Pending is how many batches may wait for the writer before new ones
	// are refused as overloaded.
	Pending int
	// MaxQueuedEvents caps the events waiting for the writer, so an
	// overload is refused (429) instead of growing memory without bound.
	MaxQueuedEvents int
	// GroupEvents caps the events committed in one transaction.
	GroupEvents int
	// CacheRows caps the rollup rows kept in memory. Negative disables the
	// caches (of rollup rows and of recent executions): a store that other
	// nodes write too must be read every time.
	CacheRows int
	// RecentExecutions caps the executions kept in memory after their
	// commit, in each of two generations (default 10,000).
	RecentExecutions int
	Now              func() time.Time
	Logger           *slog.Logger
	// Observe receives the accepted events of each commit, after it is
	// durable and before any of its batches is answered.
	Observe func([]execution.Update)
	// Announce, when set, turns a commit's updates into messages that the
	// transaction publishes (if its Tx is a Publisher), so other nodes
	// sharing the store learn of them when it commits.
	Announce func([]execution.Update) []string
}

// Publisher is a Tx that can publish messages on commit.
type Publisher interface {
	Publish(messages []string) error
}

// Service validates and commits batches. One goroutine writes; handlers
// wait for the commit that holds their batch (group commit), so many small
// concurrent batches share one sync to disk.
type Service struct {
	store  Store
	opt    Options
	cache  *rollup.Cache
	recent *recentExecutions // nil when there is no cache

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool
	queue  queue // events sent to the writer and not yet committed
	reqs   chan *request
	done   chan struct{}
}

type request struct {
	events []*execution.Event
	result Result
	err    error
	reply  chan struct{}
}

// ErrOverloaded means the writer's queue is full.
var ErrOverloaded = &execution.Error{Code: execution.EOverloaded, Message: "the server is busy writing; retry after a moment"}

// New starts the writer.
func New(store Store, opt Options) *Service {
	if opt.Pending <= 0 {
		opt.Pending = 256
	}
	if opt.MaxQueuedEvents <= 0 {
		opt.MaxQueuedEvents = 50_000
	}
	if opt.GroupEvents <= 0 {
		opt.GroupEvents = 50_000
	}
	if opt.CacheRows == 0 {
		// The rows live traffic writes: the current bucket of each tier,
		// for each active agent and the workspace total, about four per
		// agent. Kept small, since each holds decoded sketches (about 3 KB
		// on average): 20,000 rows held 60 MiB.
		opt.CacheRows = 4_000
	}
	if opt.RecentExecutions <= 0 {
		opt.RecentExecutions = 10_000
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s := &Service{store: store, opt: opt, reqs: make(chan *request, opt.Pending), done: make(chan struct{})}
	if opt.CacheRows > 0 {
		s.cache = rollup.NewCache(opt.CacheRows)
		s.recent = newRecentExecutions(opt.RecentExecutions)
	}
	go s.run()
	return s
}

// Ingest commits a validated batch and returns when it is durable.
func (s *Service) Ingest(ctx context.Context, events []*execution.Event) (Result, error) {
	r := &request{events: events, reply: make(chan struct{})}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return Result{}, &execution.Error{Code: execution.EUnavailable, Message: "the server is shutting down"}
	}
	if !s.queue.take(events, s.opt.MaxQueuedEvents) {
		s.mu.RUnlock()
		return Result{}, ErrOverloaded
	}
	select {
	case s.reqs <- r:
	default:
		s.queue.release(events)
		s.mu.RUnlock()
		return Result{}, ErrOverloaded
	}
	s.mu.RUnlock()
	// Once queued, the batch is committed or failed whatever the client
	// does, so wait for the outcome rather than ctx.
	<-r.reply
	return r.result, r.err
}

// Full reports whether a batch of workspace ws ("" for a batch of any)
// would be refused for load now, so a handler can refuse it before spending
// time decoding it.
func (s *Service) Full(ws string) bool { return s.queue.full(ws, s.opt.MaxQueuedEvents) }

// Close stops taking batches, commits every batch already queued and waits
// for the writer to finish.
func (s *Service) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.reqs)
	}
	s.mu.Unlock()
	<-s.done
}

func (s *Service) run() {
	defer close(s.done)
	for r := range s.reqs {
		group, n := []*request{r}, len(r.events)
	fill:
		for n < s.opt.GroupEvents {
			select {
			case more, ok := <-s.reqs:
				if !ok {
					break fill
				}
				group = append(group, more)
				n += len(more.events)
			default:
				break fill
			}
		}
		s.commit(group)
	}
}

func (s *Service) commit(group []*request) {
	defer func() {
		for _, r := range group {
			s.queue.release(r.events)
		}
	}()
	now := s.opt.Now()
	var (
		updates []execution.Update
		written map[rollup.Key]*rollup.Row
	)
	err := s.store.Write(context.Background(), func(tx Tx) error {
		updates = updates[:0]
		var err error
		updates, err = s.apply(tx, group, now)
		if err != nil {
			return err
		}
		written, err = s.writeRollups(tx, updates)
		if err != nil {
			return err
		}
		if p, ok := tx.(Publisher); ok && s.opt.Announce != nil && len(updates) > 0 {
			return p.Publish(s.opt.Announce(updates))
		}
		return nil
	})
	if err != nil {
		s.opt.Logger.Error("commit failed", "batches", len(group), "err", err)
		e := &execution.Error{Code: execution.EUnavailable, Message: "the events could not be stored; nothing of the batch was kept, retry later"}
		for _, r := range group {
			r.result, r.err = Result{}, e
			close(r.reply)
		}
		return
	}
	if s.cache != nil {
		s.cache.Put(written)
		s.recent.put(updates, now)
	}
	if s.opt.Observe != nil && len(updates) > 0 {
		s.opt.Observe(updates)
	}
	for _, r := range group {
		close(r.reply)
	}
}

// apply stores the group's events and folds the new ones into their
// executions, in arrival order.
func (s *Service) apply(tx Tx, group []*request, now time.Time) ([]execution.Update, error) {
	var fresh []*execution.Event
	owner := map[*execution.Event]*request{}
	wsSeen := map[string]bool{}
	// One call for the whole group: a store may pay a round trip per call.
	all := group[0].events
	if len(group) > 1 {
		all = nil
		for _, r := range group {
			all = append(all, r.events...)
		}
	}
	inserted, err := tx.InsertEvents(all, now)
	if err != nil {
		return nil, err
	}
	for _, r := range group {
		r.result = Result{}
		for _, ev := range r.events {
			isNew := inserted[0]
			inserted = inserted[1:]
			if !isNew {
				r.result.Duplicates++
				continue
			}
			r.result.Accepted++
			fresh = append(fresh, ev)
			owner[ev] = r
			wsSeen[ev.WorkspaceID] = true
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	ids := map[string][]string{}
	seen := map[execKey]bool{}
	for _, ev := range fresh {
		k := execKey{ev.WorkspaceID, ev.ExecutionID}
		if !seen[k] {
			seen[k] = true
			ids[ev.WorkspaceID] = append(ids[ev.WorkspaceID], ev.ExecutionID)
		}
	}
	execs := map[execKey]*execution.Execution{}
	for ws, list := range ids {
		var loaded map[string]*execution.Execution
		if s.recent != nil {
			loaded, list = s.recent.take(ws, list, now)
		} else {
			loaded = map[string]*execution.Execution{}
		}
		if len(list) > 0 {
			more, err := tx.LoadExecutions(ws, list)
			if err != nil {
				return nil, err
			}
			maps.Copy(loaded, more)
		}
		for id, x := range loaded {
			execs[execKey{ws, id}] = x
		}
	}
	updates := make([]execution.Update, 0, len(fresh))
	for _, ev := range fresh {
		k := execKey{ev.WorkspaceID, ev.ExecutionID}
		x := execs[k]
		if x == nil {
			x = &execution.Execution{}
			execs[k] = x
		}
		c := x.Apply(ev)
		if c.Conflict {
			owner[ev].result.Conflicts++
		}
		updates = append(updates, execution.Update{Event: ev, Execution: *x, Change: c})
	}
	touched := make([]*execution.Execution, 0, len(execs))
	for _, x := range execs {
		touched = append(touched, x)
	}
	// A stable order keeps lock and page access predictable.
	sort.Slice(touched, func(i, j int) bool {
		if touched[i].WorkspaceID != touched[j].WorkspaceID {
			return touched[i].WorkspaceID < touched[j].WorkspaceID
		}
		return touched[i].ExecutionID < touched[j].ExecutionID
	})
	if err := tx.SaveExecutions(touched, now); err != nil {
		return nil, err
	}
	wss := make([]string, 0, len(wsSeen))
	for ws := range wsSeen {
		wss = append(wss, ws)
	}
	return updates, tx.TouchWorkspaces(wss, now)
}

// writeRollups turns the updates into a rollup delta and writes the rows it
// changes, reading from the store only those the cache lacks.
func (s *Service) writeRollups(tx Tx, updates []execution.Update) (map[rollup.Key]*rollup.Row, error) {
	d := rollup.NewDelta()
	for _, u := range updates {
		d.Update(u)
	}
	if d.Len() == 0 {
		return nil, nil
	}
	base, miss := map[rollup.Key]*rollup.Row{}, d.Keys()
	if s.cache != nil {
		base, miss = s.cache.Get(miss)
	}
	if len(miss) > 0 {
		loaded, err := tx.LoadRollups(miss)
		if err != nil {
			return nil, err
		}
		for k, r := range loaded {
			base[k] = r
		}
	}
	rows, err := d.Apply(base)
	if err != nil {
		return nil, errors.Join(errors.New("merge rollups"), err)
	}
	return rows, tx.SaveRollups(rows)
}

// queue counts the events waiting for the writer, in all and per
// workspace. No workspace may hold more than a quarter of the room, so one
// tenant's flood is refused before it fills the queue for everyone.
type queue struct {
	mu    sync.Mutex
	total int
	by    map[string]int
}

func (q *queue) take(events []*execution.Event, max int) bool {
	counts := map[string]int{}
	for _, ev := range events {
		counts[ev.WorkspaceID]++
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.total+len(events) > max {
		return false
	}
	for ws, n := range counts {
		if q.by[ws]+n > max/4 && q.by[ws] > 0 {
			return false
		}
	}
	if q.by == nil {
		q.by = map[string]int{}
	}
	q.total += len(events)
	for ws, n := range counts {
		q.by[ws] += n
	}
	return true
}

func (q *queue) release(events []*execution.Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.total -= len(events)
	for _, ev := range events {
		if q.by[ev.WorkspaceID]--; q.by[ev.WorkspaceID] == 0 {
			delete(q.by, ev.WorkspaceID)
		}
	}
}

func (q *queue) full(ws string, max int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.total >= max || (ws != "" && q.by[ws] >= max/4)
}
