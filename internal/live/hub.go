// Package live is the WebSocket hub: it pushes executions starting and
// finishing, and the realtime section, to the dashboards subscribed to each
// workspace. It never blocks ingest: a client that cannot keep up is closed
// (it may reconnect).
//
// The hub is built for thousands of clients per workspace on a small
// machine. A client costs a few hundred bytes: no goroutine waits on its
// behalf, and no buffer or timer stays with it. Messages are not written
// as they come: a workspace's collect in its outbox, and every tick, or at
// once when a change is due, a writer per core gives each client its share
// of the outbox and, when due, the realtime snapshot and a ping, each
// encoded and framed once for all, in one write (see conn). What clients
// send (pongs, the close handshake) is read by a sweep of every
// connection, twice a second, which waits on none (see conn.poll).
package live

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/realtime"
)

// Protocol is the subprotocol the hub speaks.
const Protocol = "shadower.v1"

const (
	// maxBacklog is how many messages a client may have waiting while its
	// previous batch is still being written; past it the client is closed.
	maxBacklog = 256
	// flushAt is the size of a workspace's outbox that has it written at
	// once rather than at the next tick, so bursts go out in pieces.
	flushAt = 64
	tick    = 250 * time.Millisecond
	// minPeriod spaces realtime pushes to a client; with the tick it keeps
	// a change on screen within a second of its commit, and a change that
	// comes minPeriod after a client's last push goes out at once.
	minPeriod = 750 * time.Millisecond
	// slack absorbs the ticker's jitter, which would otherwise delay a
	// push due at a tick to the next: pushes at ticks are 3 ticks apart.
	slack      = tick / 2
	idlePeriod = 10 * time.Second // a push even when nothing changed
	pingEvery  = 20 * time.Second
	// sweepEvery spaces the sweeps that read what clients send: a pong or
	// a close frame waits that long at most, far under writeLimit.
	sweepEvery = 500 * time.Millisecond
	// writeLimit bounds the write of a batch the socket did not take at
	// once, the wait for the answer to a ping, and the close handshake.
	writeLimit = 5 * time.Second
	// perCommitCap bounds the per-execution messages one commit sends to a
	// workspace, so a large backfill does not flood dashboards; the
	// realtime push that follows carries the totals.
	perCommitCap = 100
	// maxPooledBuffer is the largest batch buffer kept for reuse.
	maxPooledBuffer = 1 << 20
)

// Snapshotter answers the realtime section.
type Snapshotter interface {
	Snapshot(ws string, agents []string) realtime.Snapshot
}

// Hub fans messages out to the clients of each workspace.
type Hub struct {
	rt  Snapshotter
	log *slog.Logger

	mu     sync.Mutex
	rooms  map[string]*room // by workspace
	closed bool
	kick   chan struct{} // something is due before the next tick
	stop   chan struct{}
	done   chan struct{}
	// ending holds the connections whose close frame is written, until
	// their client closes its end too or writeLimit passes; the sweep
	// reads them. closers counts the close frames being written.
	ending  []ending
	closers sync.WaitGroup

	sweepStop chan struct{}
	swept     chan struct{} // closed when the sweep has stopped

	deliveries []delivery // only push touches it
	polled     []*client  // only sweep touches it
	bufs       sync.Pool  // *[]byte batch buffers
}

// ending is a connection in its close handshake.
type ending struct {
	c     *conn
	until time.Time
}

// room is a workspace's clients and what waits for them. h.mu guards it.
type room struct {
	clients map[*client]struct{}
	// version counts the commits observed: a client that has not seen the
	// latest is due a realtime push.
	version uint64
	woke    time.Time // when a change last had push run at once
	outbox  []outMsg
}

// outMsg is a framed message and the agent it concerns ("" for the whole
// workspace; an execution always has an agent).
type outMsg struct {
	agent string
	frame []byte
}

type client struct {
	room   string
	agents []string
	filter string // agents joined, the key of a shared snapshot
	conn   *conn
	// busy is set while a batch is being written to the client: by push,
	// or by Serve for the first.
	busy atomic.Bool
	// pingAt is the time of the push that wrote the unanswered ping (Unix
	// nanoseconds), 0 when none is.
	pingAt atomic.Int64

	// Guarded by h.mu.
	seen     uint64 // the room's version of the last push
	lastPush time.Time
	lastPing time.Time
	backlog  [][]byte // frames kept while busy
	gone     bool
}

// delivery is what one client gets in one write: its backlog, its share
// of the outbox, the snapshot if one is due, and a ping if one is.
type delivery struct {
	cl      *client
	backlog [][]byte
	out     []outMsg // the room's outbox, shared by its clients
	snap    *target  // nil when no push is due
	ping    bool
}

// target is a snapshot shared by the clients of one workspace and filter.
type target struct {
	ws     string
	agents []string
	frame  []byte
}

// NewHub starts the hub's ticker and its sweep.
func NewHub(rt Snapshotter, log *slog.Logger) *Hub {
	h := newHub(rt, log)
	go h.run()
	go h.sweeping(sweepEvery)
	return h
}

func newHub(rt Snapshotter, log *slog.Logger) *Hub {
	h := &Hub{rt: rt, log: log, rooms: map[string]*room{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		sweepStop: make(chan struct{}), swept: make(chan struct{})}
	h.bufs.New = func() any { b := make([]byte, 0, 16<<10); return &b }
	return h
}

type message struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

type started struct {
	ExecutionID string    `json:"execution_id"`
	AgentID     string    `json:"agent_id"`
	WorkerID    string    `json:"worker_id"`
	StartedAt   time.Time `json:"started_at"`
}

type completed struct {
	ExecutionID string           `json:"execution_id"`
	AgentID     string           `json:"agent_id"`
	Status      execution.Status `json:"status"`
	DurationMs  *float64         `json:"duration_ms"`
	FinishedAt  time.Time        `json:"finished_at"`
	ErrorType   *string          `json:"error_type"`
}

// Observe takes the updates of one commit. It only queues messages.
func (h *Hub) Observe(updates []execution.Update) {
	type perWS struct{ started, finished int }
	counts := map[string]*perWS{}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range updates {
		u := &updates[i]
		x := &u.Execution
		r := h.rooms[x.WorkspaceID]
		if r == nil {
			continue
		}
		c := counts[x.WorkspaceID]
		if c == nil {
			c = &perWS{}
			counts[x.WorkspaceID] = c
			r.version++
			// Clients pushed minPeriod ago are due now: no need to wait
			// for the tick. At most once a minPeriod, so a stream of
			// commits does not have push run after each.
			if now := time.Now(); now.Sub(r.woke) >= minPeriod {
				r.woke = now
				h.wake()
			}
		}
		var msg []byte
		switch {
		case u.Change.Finished && c.finished < perCommitCap:
			c.finished++
			m := completed{ExecutionID: x.ExecutionID, AgentID: x.AgentID, Status: x.Status, FinishedAt: x.FinishedAt}
			if d, ok := x.DurationMs(); ok {
				m.DurationMs = &d
			}
			if x.Error != nil {
				m.ErrorType = &x.Error.Type
			}
			msg, _ = json.Marshal(message{Type: "execution_completed", Data: m})
		case u.Change.Started && c.started < perCommitCap:
			c.started++
			msg, _ = json.Marshal(message{Type: "execution_started", Data: started{
				ExecutionID: x.ExecutionID, AgentID: x.AgentID, WorkerID: x.WorkerID, StartedAt: x.StartedAt}})
		}
		if msg != nil {
			h.queue(r, x.AgentID, msg)
		}
	}
}

// Publish sends one message of the given type to the clients of ws; a
// client following some agents gets it when it concerns one of them, or
// the workspace as a whole (agent "").
func (h *Hub) Publish(ws, agent, typ string, data any) {
	msg, err := json.Marshal(message{Type: typ, Data: data})
	if err != nil {
		h.log.Error("encode live message", "type", typ, "err", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.rooms[ws]; r != nil {
		h.queue(r, agent, msg)
	}
}

// queue adds msg to r's outbox. h.mu is held.
func (h *Hub) queue(r *room, agent string, msg []byte) {
	r.outbox = append(r.outbox, outMsg{agent: agent, frame: frame(msg)})
	if len(r.outbox) >= flushAt {
		h.wake()
	}
}

// wake has push run before the next tick.
func (h *Hub) wake() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// wants reports whether cl gets a message about agent.
func (cl *client) wants(agent string) bool {
	return agent == "" || len(cl.agents) == 0 || slices.Contains(cl.agents, agent)
}

// run writes the outboxes and the realtime snapshots due: soon after a
// change, though no more often than about every minPeriod per client, and
// every idlePeriod regardless. It does every tick, and at once when woken.
func (h *Hub) run() {
	defer close(h.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		case <-h.kick:
		}
		h.push(time.Now())
	}
}

// push delivers what waits.
func (h *Hub) push(now time.Time) {
	targets := map[string]*target{}
	h.deliveries = h.deliveries[:0]
	h.mu.Lock()
	for ws, r := range h.rooms {
		out := r.outbox
		r.outbox = nil
		for cl := range r.clients {
			if t := cl.pingAt.Load(); t != 0 && now.UnixNano()-t >= int64(writeLimit) {
				h.drop(cl, statusNormal, "") // it stopped answering
				continue
			}
			since := now.Sub(cl.lastPush) + slack
			due := since >= minPeriod && (cl.seen != r.version || since >= idlePeriod)
			ping := now.Sub(cl.lastPing) >= pingEvery
			if !due && !ping && len(out) == 0 && len(cl.backlog) == 0 {
				continue
			}
			if !cl.busy.CompareAndSwap(false, true) {
				// Its last batch is still being written: what is for it
				// waits, and the push and the ping too (they stay due).
				for _, m := range out {
					if cl.wants(m.agent) {
						cl.backlog = append(cl.backlog, m.frame)
					}
				}
				if len(cl.backlog) > maxBacklog {
					h.drop(cl, statusTryAgainLater, "too slow; reconnect")
				}
				continue
			}
			d := delivery{cl: cl, backlog: cl.backlog, out: out, ping: ping}
			cl.backlog = nil
			if ping {
				cl.lastPing = now
			}
			if due {
				// Marked now, not once the snapshot is sent: a change
				// landing while the snapshot is computed is pushed next.
				cl.seen, cl.lastPush = r.version, now
				key := ws + "\x00" + cl.filter
				tg := targets[key]
				if tg == nil {
					tg = &target{ws: ws, agents: cl.agents}
					targets[key] = tg
				}
				d.snap = tg
			}
			h.deliveries = append(h.deliveries, d)
		}
	}
	h.mu.Unlock()

	// Snapshots are computed outside the hub's lock, once per workspace and
	// filter, and shared by every client that wants the same one.
	for _, tg := range targets {
		tg.frame = h.snapshot(tg.ws, tg.agents)
	}

	// A writer per core: a write never waits for a client (see conn), so
	// more would only contend.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(h.deliveries)) {
		wg.Go(func() {
			buf := h.bufs.Get().(*[]byte)
			for {
				i := int(next.Add(1)) - 1
				if i >= len(h.deliveries) {
					break
				}
				h.deliver(&h.deliveries[i], buf, now)
			}
			h.putBuf(buf)
		})
	}
	wg.Wait()
	clear(h.deliveries) // let go of clients and messages
}

// snapshot is the realtime section of ws, framed.
func (h *Hub) snapshot(ws string, agents []string) []byte {
	msg, _ := json.Marshal(message{Type: "execution_update", Data: h.rt.Snapshot(ws, agents)})
	return frame(msg)
}

func (h *Hub) putBuf(buf *[]byte) {
	if cap(*buf) <= maxPooledBuffer {
		h.bufs.Put(buf)
	}
}

// messages calls f with each of d's message frames, in order: the
// backlog, the outbox's frames for the client's agents, the snapshot.
func (d *delivery) messages(f func([]byte)) {
	for _, fr := range d.backlog {
		f(fr)
	}
	for _, m := range d.out {
		if d.cl.wants(m.agent) {
			f(m.frame)
		}
	}
	if d.snap != nil {
		f(d.snap.frame)
	}
}

// frames appends d's frames to b, in order, the ping last.
func (d *delivery) frames(b []byte) []byte {
	d.messages(func(fr []byte) { b = append(b, fr...) })
	if d.ping {
		b = append(b, pingFrame...)
	}
	return b
}

// deliver writes d to its client in one write and clears busy once it is
// written; buf is the writer's batch buffer, now the push's time. When the
// socket does not take the whole batch at once, a goroutine of the
// client's own writes the rest, and the client stays busy until it is
// done.
func (h *Hub) deliver(d *delivery, buf *[]byte, now time.Time) {
	cl := d.cl
	*buf = d.frames((*buf)[:0])
	if len(*buf) == 0 { // the outbox held nothing for its agents
		cl.busy.Store(false)
		return
	}
	if d.ping {
		// Before the write: the answer may come before it returns.
		cl.pingAt.Store(now.UnixNano())
	}
	rest, busy, err := cl.conn.write(*buf)
	switch {
	case busy:
		h.putBack(d) // another write is going on: next time
	case rest != nil:
		go func() {
			err := cl.conn.writeRest(rest, writeLimit)
			cl.busy.Store(false)
			if err != nil {
				h.fail(cl)
			}
		}()
	default:
		cl.busy.Store(false)
		if err != nil {
			h.fail(cl)
		}
	}
}

// putBack returns d's messages to its client's backlog, ahead of any that
// came since; the ping is due again.
func (h *Hub) putBack(d *delivery) {
	cl := d.cl
	ping := d.ping
	if ping {
		cl.pingAt.Store(0) // not written
	}
	var frames [][]byte
	d.messages(func(fr []byte) { frames = append(frames, fr) })
	h.mu.Lock()
	defer h.mu.Unlock()
	cl.backlog = append(frames, cl.backlog...)
	if ping {
		cl.lastPing = time.Time{}
	}
	cl.busy.Store(false)
	if len(cl.backlog) > maxBacklog {
		h.drop(cl, statusTryAgainLater, "too slow; reconnect")
	}
}

// Serve upgrades the request, registers the client and sends it the first
// snapshot; the client then follows workspace ws (optionally only the
// given agents) until it leaves or the hub closes. Serve returns then: the
// hub writes to the client, and its sweep reads what the client sends.
// The caller has checked the key. The error, from a request that is not a
// WebSocket handshake this hub takes, comes before anything is answered.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, ws string, agents []string) error {
	if err := checkHandshake(r); err != nil {
		return err
	}
	c, err := upgrade(w, r)
	if err != nil {
		return nil // answered
	}
	now := time.Now()
	cl := &client{room: ws, agents: agents, filter: strings.Join(agents, ","), conn: c, lastPush: now, lastPing: now}
	cl.busy.Store(true) // until the first snapshot is written: messages wait
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		c.Conn.SetWriteDeadline(now.Add(writeLimit))
		c.Conn.Write(closeFrame(statusGoingAway, "server shutting down"))
		c.Conn.Close()
		return nil
	}
	rm := h.rooms[ws]
	if rm == nil {
		rm = &room{clients: map[*client]struct{}{}}
		h.rooms[ws] = rm
	}
	rm.clients[cl] = struct{}{}
	cl.seen = rm.version // the snapshot below is taken after this
	h.mu.Unlock()

	// The first snapshot goes out at once, so a new dashboard is current.
	buf := h.bufs.Get().(*[]byte)
	h.deliver(&delivery{cl: cl, backlog: [][]byte{h.snapshot(ws, agents)}}, buf, now)
	h.putBuf(buf)
	return nil
}

// sweeping sweeps every period until the hub closes.
func (h *Hub) sweeping(every time.Duration) {
	defer close(h.swept)
	t := time.NewTicker(every)
	defer t.Stop()
	scratch := make([]byte, 4<<10)
	for {
		select {
		case <-h.sweepStop:
			return
		case now := <-t.C:
			h.sweep(scratch, now)
		}
	}
}

// sweep reads what every client sent since the last sweep, and what
// comes from the connections closing, without waiting on any.
func (h *Hub) sweep(scratch []byte, now time.Time) {
	h.mu.Lock()
	for _, r := range h.rooms {
		for cl := range r.clients {
			h.polled = append(h.polled, cl)
		}
	}
	ends := slices.Clone(h.ending)
	h.mu.Unlock()

	for _, cl := range h.polled {
		switch got, code, reason := cl.conn.poll(scratch); got {
		case ponged:
			cl.pingAt.Store(0)
		case closed:
			h.mu.Lock()
			h.drop(cl, code, reason)
			h.mu.Unlock()
		case gone:
			h.fail(cl)
		}
	}
	clear(h.polled) // let go of clients
	h.polled = h.polled[:0]

	// A connection closing is done when its client closes its end (or
	// sends its close frame), or at its deadline.
	var still []ending
	for _, e := range ends {
		if got, _, _ := e.c.poll(scratch); got == closed || got == gone || now.After(e.until) {
			e.c.Conn.Close()
		} else {
			still = append(still, e)
		}
	}
	h.mu.Lock()
	h.ending = append(still, h.ending[len(ends):]...) // with those that came meanwhile
	h.mu.Unlock()
}

// fail closes cl at once, after a write failed (what reached it may end
// in part of a frame, so nothing more is written, not even a close
// frame), or when its connection ended.
func (h *Hub) fail(cl *client) {
	h.mu.Lock()
	h.drop(cl, 0, "")
	h.mu.Unlock()
}

// drop removes cl and closes its connection with code, or at once when
// code is 0. h.mu is held.
func (h *Hub) drop(cl *client, code statusCode, reason string) {
	if cl.gone {
		return
	}
	cl.gone = true
	cl.backlog = nil
	if r := h.rooms[cl.room]; r != nil {
		delete(r.clients, cl)
		if len(r.clients) == 0 {
			delete(h.rooms, cl.room)
		}
	}
	cl.conn.closing.Store(true)
	if code == 0 {
		cl.conn.Conn.Close()
		return
	}
	h.closers.Go(func() {
		if until, ok := cl.conn.sendClose(code, reason); ok {
			h.mu.Lock()
			h.ending = append(h.ending, ending{c: cl.conn, until: until})
			h.mu.Unlock()
		}
	})
}

// Clients counts the connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.rooms {
		n += len(r.clients)
	}
	return n
}

// Close tells every client the server is going away (1001), waits up to
// writeLimit for their close handshakes, and stops.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	h.mu.Unlock()
	close(h.stop)
	<-h.done // no push runs past this

	h.mu.Lock()
	for _, r := range h.rooms {
		for cl := range r.clients {
			h.drop(cl, statusGoingAway, "server shutting down")
		}
	}
	h.mu.Unlock()
	h.closers.Wait()
	for deadline := time.Now().Add(writeLimit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		h.mu.Lock()
		n := len(h.ending)
		h.mu.Unlock()
		if n == 0 {
			break
		}
	}
	close(h.sweepStop)
	<-h.swept
	h.mu.Lock()
	for _, e := range h.ending {
		e.c.Conn.Close()
	}
	h.ending = nil
	h.mu.Unlock()
}

// checkHandshake refuses, with the API's errors, a request that is not a
// WebSocket upgrade, or one from a page of another site: a browser sends
// the page's origin, and only the dashboard this server serves connects.
func checkHandshake(r *http.Request) error {
	if !headerHas(r.Header, "Upgrade", "websocket") || !headerHas(r.Header, "Connection", "upgrade") {
		return &execution.Error{Code: execution.EInvalid, Where: "Upgrade",
			Message: "this endpoint speaks WebSocket: the request must ask to upgrade (Connection: Upgrade, Upgrade: websocket)"}
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return &execution.Error{Code: execution.EForbidden, Where: "Origin",
				Message: "a page of another origin (" + origin + ") may not connect to this server's WebSocket"}
		}
	}
	return nil
}

// headerHas reports whether the comma-separated values of header name
// hold token, as HTTP compares them (without regard to case).
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
