// Package live is the WebSocket hub: it pushes executions starting and
// finishing, and the realtime section, to the dashboards subscribed to each
// workspace. It never blocks ingest: every client has a bounded buffer and a
// client that cannot keep up is closed (it may reconnect).
package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/realtime"
)

// Protocol is the subprotocol the hub speaks.
const Protocol = "shadower.v1"

const (
	bufferSize = 256 // messages a client may have waiting
	tick       = 250 * time.Millisecond
	// minPeriod spaces realtime pushes to a client; with the tick it keeps
	// a change on screen within a second of its commit.
	minPeriod  = 750 * time.Millisecond
	idlePeriod = 10 * time.Second // a push even when nothing changed
	pingEvery  = 20 * time.Second
	writeLimit = 5 * time.Second
	// perCommitCap bounds the per-execution messages one commit sends to a
	// workspace, so a large backfill does not flood dashboards; the
	// realtime push that follows carries the totals.
	perCommitCap = 100
)

// Snapshotter answers the realtime section.
type Snapshotter interface {
	Snapshot(ws string, agents []string) realtime.Snapshot
}

// Hub fans messages out to the clients of each workspace.
type Hub struct {
	rt  Snapshotter
	log *slog.Logger

	mu      sync.Mutex
	clients map[string]map[*client]struct{} // by workspace
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

type client struct {
	ws       string
	agents   []string
	filter   string // agents joined, the key of a shared snapshot
	send     chan []byte
	conn     *websocket.Conn
	lastPush time.Time
	changed  bool // something changed since the last push
	gone     chan struct{}
	once     sync.Once
}

// NewHub starts the hub's ticker.
func NewHub(rt Snapshotter, log *slog.Logger) *Hub {
	h := &Hub{rt: rt, log: log, clients: map[string]map[*client]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go h.run()
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
		subs := h.clients[x.WorkspaceID]
		for cl := range subs {
			cl.changed = true
		}
		if len(subs) == 0 || (!u.Change.Started && !u.Change.Finished) {
			continue
		}
		c := counts[x.WorkspaceID]
		if c == nil {
			c = &perWS{}
			counts[x.WorkspaceID] = c
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
		if msg == nil {
			continue
		}
		for cl := range subs {
			if len(cl.agents) == 0 || slices.Contains(cl.agents, x.AgentID) {
				h.offer(cl, msg)
			}
		}
	}
}

// offer queues msg for cl, closing cl when its buffer is full. h.mu is held.
func (h *Hub) offer(cl *client, msg []byte) {
	select {
	case cl.send <- msg:
	default:
		h.drop(cl, websocket.StatusTryAgainLater, "too slow; reconnect")
	}
}

// drop removes cl and closes its connection. h.mu is held.
func (h *Hub) drop(cl *client, code websocket.StatusCode, reason string) {
	delete(h.clients[cl.ws], cl)
	if len(h.clients[cl.ws]) == 0 {
		delete(h.clients, cl.ws)
	}
	cl.once.Do(func() {
		close(cl.gone)
		go cl.conn.Close(code, reason)
	})
}

// run pushes realtime snapshots: soon after a change, at most once a second
// per client, and every ten seconds regardless.
func (h *Hub) run() {
	defer close(h.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case now := <-t.C:
			h.push(now)
		}
	}
}

func (h *Hub) push(now time.Time) {
	h.mu.Lock()
	type target struct {
		ws     string
		agents []string
		cls    []*client
	}
	targets := map[string]*target{}
	for ws, subs := range h.clients {
		for cl := range subs {
			since := now.Sub(cl.lastPush)
			if since < minPeriod || (!cl.changed && since < idlePeriod) {
				continue // a change waits for the next tick past minPeriod
			}
			// Cleared now, not once the snapshot is sent: a change landing
			// while the snapshot is computed marks the client again.
			cl.changed = false
			key := ws + "\x00" + cl.filter
			tg := targets[key]
			if tg == nil {
				tg = &target{ws: ws, agents: cl.agents}
				targets[key] = tg
			}
			tg.cls = append(tg.cls, cl)
		}
	}
	h.mu.Unlock()

	// Snapshots are computed outside the hub's lock, once per workspace and
	// filter, and shared by every client that wants the same one.
	for _, tg := range targets {
		msg, _ := json.Marshal(message{Type: "execution_update", Data: h.rt.Snapshot(tg.ws, tg.agents)})
		h.mu.Lock()
		for _, cl := range tg.cls {
			if _, ok := h.clients[cl.ws][cl]; ok {
				cl.lastPush = now
				h.offer(cl, msg)
			}
		}
		h.mu.Unlock()
	}
}

// Serve upgrades the request and streams workspace ws (optionally only the
// given agents) until the client leaves or the hub closes. The caller has
// checked the key.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, ws string, agents []string) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Protocol}})
	if err != nil {
		return // Accept has answered the request
	}
	cl := &client{ws: ws, agents: agents, filter: strings.Join(agents, ","), conn: conn,
		send: make(chan []byte, bufferSize), gone: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	if h.clients[ws] == nil {
		h.clients[ws] = map[*client]struct{}{}
	}
	h.clients[ws][cl] = struct{}{}
	h.mu.Unlock()

	// The first snapshot goes out at once, so a new dashboard is current.
	first, _ := json.Marshal(message{Type: "execution_update", Data: h.rt.Snapshot(ws, agents)})
	cl.send <- first

	ctx := conn.CloseRead(context.Background()) // we only write; reading handles pings and close
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case msg := <-cl.send:
			wctx, cancel := context.WithTimeout(ctx, writeLimit)
			err := conn.Write(wctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				h.leave(cl)
				return
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeLimit)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				h.leave(cl)
				return
			}
		case <-ctx.Done():
			h.leave(cl)
			return
		case <-cl.gone:
			return
		}
	}
}

func (h *Hub) leave(cl *client) {
	h.mu.Lock()
	h.drop(cl, websocket.StatusNormalClosure, "")
	h.mu.Unlock()
}

// Clients counts the connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, subs := range h.clients {
		n += len(subs)
	}
	return n
}

// Close tells every client the server is going away (1001) and stops.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	var wg sync.WaitGroup
	for _, subs := range h.clients {
		for cl := range subs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl.conn.Close(websocket.StatusGoingAway, "server shutting down")
			}()
			cl.once.Do(func() { close(cl.gone) })
		}
	}
	h.clients = map[string]map[*client]struct{}{}
	h.mu.Unlock()
	close(h.stop)
	<-h.done
	wg.Wait()
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
	for cl := range h.clients[ws] {
		if agent == "" || len(cl.agents) == 0 || slices.Contains(cl.agents, agent) {
			h.offer(cl, msg)
		}
	}
}
