package live

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/realtime"
)

// snapshots answers a realtime section whose Running counts the calls and
// whose RunningExecutions holds `size` entries, to make it as large as a
// test needs.
type snapshots struct {
	calls atomic.Int64
	size  atomic.Int64
}

func (s *snapshots) Snapshot(ws string, agents []string) realtime.Snapshot {
	n := int(s.calls.Add(1))
	snap := realtime.Snapshot{Running: n, RunningExecutions: []realtime.Running{}, At: time.Now().UTC()}
	for i := range int(s.size.Load()) {
		snap.RunningExecutions = append(snap.RunningExecutions, realtime.Running{ExecutionID: fmt.Sprintf("run-%d", i), AgentID: "a"})
	}
	return snap
}

// testHub is a hub without its ticker: the test pushes, so what a client
// receives does not depend on timing. It sweeps often, so a test waits
// little for its pongs and close frames to be read.
func testHub(t testing.TB) (*Hub, *snapshots, *httptest.Server) {
	return sweepingHub(t, 5*time.Millisecond)
}

func sweepingHub(t testing.TB, sweep time.Duration) (*Hub, *snapshots, *httptest.Server) {
	t.Helper()
	rt := &snapshots{}
	h := newHub(rt, slog.New(slog.NewTextHandler(io.Discard, nil)))
	close(h.done) // no run loop: Close need not wait for one
	go h.sweeping(sweep)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.Serve(w, r, r.URL.Query().Get("ws"), r.URL.Query()["agent"]); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(h.Close) // first: the clients are hijacked
	return h, rt, ts
}

// dial connects a client, reads its first snapshot and waits until the
// hub has written it: until then the client is busy, and a push would keep
// its messages for the next.
func dial(t testing.TB, h *Hub, ts *httptest.Server, ws string, agents ...string) (*websocket.Conn, *http.Response, msg) {
	t.Helper()
	q := url.Values{"ws": {ws}, "agent": agents}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/?"+q.Encode(), &websocket.DialOptions{
		Subprotocols:    []string{Protocol},
		CompressionMode: websocket.CompressionContextTakeover, // asked for, and refused
	})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	first := read(t, c)
	for deadline := time.Now().Add(20 * time.Second); busy(h); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first snapshot is still being written")
		}
	}
	return c, resp, first
}

func busy(h *Hub) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.rooms {
		for cl := range r.clients {
			if cl.busy.Load() {
				return true
			}
		}
	}
	return false
}

type msg struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	raw  string
}

// read returns the next message; the timeout only keeps a broken hub from
// hanging the test.
func read(t testing.TB, c *websocket.Conn) msg {
	t.Helper()
	m, err := tryRead(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

func tryRead(c *websocket.Conn) (msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		return msg{}, err
	}
	var m msg
	if typ != websocket.MessageText {
		return m, fmt.Errorf("message type %v", typ)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: %q", err, b)
	}
	m.raw = string(b)
	return m, nil
}

func running(t *testing.T, m msg) int {
	t.Helper()
	if m.Type != "execution_update" {
		t.Fatalf("got %s, want execution_update", m.raw)
	}
	var s struct{ Running int }
	if err := json.Unmarshal(m.Data, &s); err != nil {
		t.Fatal(err)
	}
	return s.Running
}

// waitFor waits until the hub has n clients: registration and removal
// happen on other goroutines.
func waitFor(t *testing.T, h *Hub, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); h.Clients() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d clients, want %d", h.Clients(), n)
		}
	}
}

// only is the hub's one client, once registered.
func only(t *testing.T, h *Hub) *client {
	t.Helper()
	waitFor(t, h, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.rooms {
		for cl := range r.clients {
			return cl
		}
	}
	return nil
}

var t0 = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

func startedUpdate(ws, id, agent string) execution.Update {
	return execution.Update{
		Execution: execution.Execution{WorkspaceID: ws, ExecutionID: id, AgentID: agent, WorkerID: "w-1", StartedAt: t0},
		Change:    execution.Change{Started: true},
	}
}

// TestStream checks what a dashboard receives, byte for byte: the first
// snapshot on connect, then a commit's messages and a published one in
// the order they came, framed together with the realtime push.
func TestStream(t *testing.T) {
	h, _, ts := testHub(t)
	c, resp, first := dial(t, h, ts, "alpha")
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != Protocol {
		t.Fatalf("subprotocol %q", p)
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("compression negotiated: %q", ext)
	}
	if n := running(t, first); n != 1 {
		t.Fatalf("first snapshot is call %d", n)
	}

	h.Publish("alpha", "", "anomaly_detected", map[string]any{"metric": "queue_wait_p95"})
	h.Publish("beta", "", "anomaly_detected", map[string]any{"metric": "not for alpha"})
	failed := execution.Execution{WorkspaceID: "alpha", ExecutionID: "e-2", AgentID: "b", Status: execution.StatusFailed,
		StartedAt: t0, FinishedAt: t0.Add(1500 * time.Millisecond), Error: &execution.ErrorInfo{Type: "timeout"}}
	h.Observe([]execution.Update{
		startedUpdate("alpha", "e-1", "a"),
		{Execution: failed, Change: execution.Change{Finished: true}},
		startedUpdate("beta", "e-3", "a"),
	})
	h.push(time.Now().Add(minPeriod))

	dur, _ := failed.DurationMs()
	want := []string{
		`{"type":"anomaly_detected","data":{"metric":"queue_wait_p95"}}`,
		`{"type":"execution_started","data":{"execution_id":"e-1","agent_id":"a","worker_id":"w-1","started_at":"2026-03-04T12:00:00Z"}}`,
		fmt.Sprintf(`{"type":"execution_completed","data":{"execution_id":"e-2","agent_id":"b","status":%q,"duration_ms":%v,"finished_at":"2026-03-04T12:00:01.5Z","error_type":"timeout"}}`,
			execution.StatusFailed, dur),
	}
	for _, w := range want {
		if m := read(t, c); m.raw != w {
			t.Fatalf("got  %s\nwant %s", m.raw, w)
		}
	}
	if n := running(t, read(t, c)); n != 2 {
		t.Fatalf("update is snapshot call %d, want 2", n)
	}
}

// TestPushes checks when realtime pushes are due: after a change, no
// sooner than minPeriod after the last, and after idlePeriod regardless.
func TestPushes(t *testing.T) {
	h, _, ts := testHub(t)
	c, _, _ := dial(t, h, ts, "alpha")
	now := only(t, h).lastPush
	marker := func(s string) { h.Publish("alpha", "", "marker", s) }
	expect := func(types ...string) {
		t.Helper()
		for _, typ := range types {
			if m := read(t, c); m.Type != typ {
				t.Fatalf("got %s, want %s", m.raw, typ)
			}
		}
	}

	h.Observe([]execution.Update{{Execution: execution.Execution{WorkspaceID: "alpha", ExecutionID: "x"}}})
	marker("too soon after the first")
	h.push(now.Add(minPeriod - slack - time.Millisecond))
	expect("marker")
	marker("changed, and due")
	h.push(now.Add(minPeriod))
	expect("marker", "execution_update")
	marker("due, but no change")
	h.push(now.Add(2 * minPeriod))
	expect("marker")
	marker("idle")
	h.push(now.Add(minPeriod + idlePeriod))
	expect("marker", "execution_update")
}

// TestWake checks that a change has the clients pushed at once, not at
// the next tick, but a stream of changes only once a minPeriod.
func TestWake(t *testing.T) {
	h, _, ts := testHub(t)
	dial(t, h, ts, "alpha")
	change := []execution.Update{{Execution: execution.Execution{WorkspaceID: "alpha", ExecutionID: "x"}}}
	woken := func() bool {
		select {
		case <-h.kick:
			return true
		default:
			return false
		}
	}
	h.Observe(change)
	if !woken() {
		t.Fatal("a change did not wake the hub")
	}
	h.mu.Lock()
	h.rooms["alpha"].woke = time.Now().Add(time.Hour) // as if it just woke, however slow the test
	h.mu.Unlock()
	h.Observe(change)
	if woken() {
		t.Fatal("a second change woke the hub within minPeriod")
	}
	h.mu.Lock()
	h.rooms["alpha"].woke = time.Now().Add(-minPeriod)
	h.mu.Unlock()
	h.Observe(change)
	if !woken() {
		t.Fatal("a change minPeriod after the last did not wake the hub")
	}
	h.Observe([]execution.Update{{Execution: execution.Execution{WorkspaceID: "beta", ExecutionID: "y"}}})
	if woken() {
		t.Fatal("a change in a workspace nobody follows woke the hub")
	}
}

// TestAgents checks that a client following some agents gets only their
// executions and the workspace's messages.
func TestAgents(t *testing.T) {
	h, _, ts := testHub(t)
	all, _, _ := dial(t, h, ts, "alpha")
	some, _, _ := dial(t, h, ts, "alpha", "a", "c")
	h.Observe([]execution.Update{startedUpdate("alpha", "e-1", "a"), startedUpdate("alpha", "e-2", "b"), startedUpdate("alpha", "e-3", "c")})
	h.Publish("alpha", "b", "anomaly_detected", "b")
	h.Publish("alpha", "c", "anomaly_detected", "c")
	h.Publish("alpha", "", "anomaly_detected", "workspace")
	h.push(time.Now().Add(minPeriod))

	ids := func(c *websocket.Conn) []string {
		var got []string
		for {
			m := read(t, c)
			if m.Type == "execution_update" {
				return got
			}
			var d struct {
				ExecutionID string `json:"execution_id"`
			}
			if m.Type == "execution_started" {
				json.Unmarshal(m.Data, &d)
				got = append(got, d.ExecutionID)
			} else {
				got = append(got, m.Type+" "+string(m.Data))
			}
		}
	}
	if got, want := strings.Join(ids(all), ", "), `e-1, e-2, e-3, anomaly_detected "b", anomaly_detected "c", anomaly_detected "workspace"`; got != want {
		t.Errorf("all agents got  %s\nwant %s", got, want)
	}
	if got, want := strings.Join(ids(some), ", "), `e-1, e-3, anomaly_detected "c", anomaly_detected "workspace"`; got != want {
		t.Errorf("agents a, c got  %s\nwant %s", got, want)
	}
}

// TestBatch sends a commit larger than the cap, messages of every frame
// length (7-, 16- and 64-bit) and a large snapshot in one batch: each
// arrives whole and in order.
func TestBatch(t *testing.T) {
	h, rt, ts := testHub(t)
	c, _, _ := dial(t, h, ts, "alpha")
	rt.size.Store(3000) // about 300 KB
	var ups []execution.Update
	for i := range perCommitCap + 50 {
		ups = append(ups, startedUpdate("alpha", fmt.Sprintf("e-%03d", i), "a"))
	}
	h.Publish("alpha", "", "t", 1) // under 126 bytes
	h.Observe(ups)
	h.Publish("alpha", "", "t", strings.Repeat("x", 70_000)) // over 65535
	h.push(time.Now().Add(minPeriod))

	if m := read(t, c); m.raw != `{"type":"t","data":1}` {
		t.Fatalf("got %s", m.raw)
	}
	for i := range perCommitCap {
		m := read(t, c)
		if want := fmt.Sprintf(`"execution_id":"e-%03d"`, i); m.Type != "execution_started" || !strings.Contains(m.raw, want) {
			t.Fatalf("message %d: got %.200s, want %s", i, m.raw, want)
		}
	}
	if m := read(t, c); m.Type != "t" || len(m.Data) != 70_002 {
		t.Fatalf("got %.200s (%d bytes)", m.raw, len(m.raw))
	}
	m := read(t, c)
	var s realtime.Snapshot
	if err := json.Unmarshal(m.Data, &s); err != nil || m.Type != "execution_update" || len(s.RunningExecutions) != 3000 {
		t.Fatalf("got %.200s: %d running listed, %v", m.raw, len(s.RunningExecutions), err)
	}
}

// TestBusy checks that messages for a client whose connection is busy
// wait, in order, for the next push, and that one with too many waiting
// is closed without holding up the others.
func TestBusy(t *testing.T) {
	h, _, ts := testHub(t)
	c, _, _ := dial(t, h, ts, "alpha")
	cl := only(t, h)
	other, _, _ := dial(t, h, ts, "alpha")

	cl.conn.mu.Lock() // a write of its own is going on
	h.Publish("alpha", "", "n", 1)
	h.push(time.Now()) // taken, but the write finds the connection busy
	h.Publish("alpha", "", "n", 2)
	h.push(time.Now())
	if m := read(t, other); m.raw != `{"type":"n","data":1}` {
		t.Fatalf("other client got %s", m.raw)
	}
	if m := read(t, other); m.raw != `{"type":"n","data":2}` {
		t.Fatalf("other client got %s", m.raw)
	}
	cl.conn.mu.Unlock()
	h.Publish("alpha", "", "n", 3)
	h.push(time.Now())
	for i := 1; i <= 3; i++ {
		if m, want := read(t, c), fmt.Sprintf(`{"type":"n","data":%d}`, i); m.raw != want {
			t.Fatalf("got %s, want %s", m.raw, want)
		}
	}
	if m := read(t, other); m.raw != `{"type":"n","data":3}` {
		t.Fatalf("other client got %s", m.raw)
	}

	cl.conn.mu.Lock()
	for i := range maxBacklog + 1 {
		h.Publish("alpha", "", "n", i)
		h.push(time.Now())
	}
	cl.conn.mu.Unlock()
	waitFor(t, h, 1)
	for {
		_, err := tryRead(c)
		if err == nil {
			continue
		}
		if s := websocket.CloseStatus(err); s != websocket.StatusTryAgainLater {
			t.Fatalf("closed with %v (%v), want %v", s, err, websocket.StatusTryAgainLater)
		}
		break
	}
	for i := range maxBacklog + 1 {
		if m, want := read(t, other), fmt.Sprintf(`{"type":"n","data":%d}`, i); m.raw != want {
			t.Fatalf("got %s, want %s", m.raw, want)
		}
	}
}

// TestSlowClient has a client that stops reading while messages keep
// coming: the hub closes it, never waits for it, and the client that
// reads gets everything.
func TestSlowClient(t *testing.T) {
	h, _, ts := testHub(t)
	slow, _, _ := dial(t, h, ts, "alpha")
	fast, _, _ := dial(t, h, ts, "alpha")
	waitFor(t, h, 2)
	big := strings.Repeat("x", 64<<10)
	var sent int
	for h.Clients() == 2 {
		if sent == 10_000 { // about 640 MB: the slow one's buffers hold far less
			t.Fatal("the slow client is still connected")
		}
		h.Publish("alpha", "", "n", big) // never waits: it only queues
		h.push(time.Now())
		if m := read(t, fast); m.Type != "n" || len(m.Data) != len(big)+2 {
			t.Fatalf("message %d: %.100s", sent, m.raw)
		}
		sent++
	}
	// What reached the slow client is intact, then its connection ends.
	for {
		m, err := tryRead(slow)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) && ce.Code != websocket.StatusTryAgainLater {
				t.Fatalf("closed with %v", ce)
			}
			break
		}
		if m.Type != "n" || len(m.Data) != len(big)+2 {
			t.Fatalf("slow client got %.100s", m.raw)
		}
	}
	h.Publish("alpha", "", "after", 1)
	h.push(time.Now())
	if m := read(t, fast); m.raw != `{"type":"after","data":1}` {
		t.Fatalf("got %s", m.raw)
	}
}

// TestControlFrames pings the hub from the client while messages stream:
// the hub's pongs and batches share the socket without corrupting each
// other.
func TestControlFrames(t *testing.T) {
	h, _, ts := testHub(t)
	c, _, _ := dial(t, h, ts, "alpha")
	const n = 300
	got := make(chan error, 1)
	go func() {
		for i := range n {
			m, err := tryRead(c)
			if err == nil && m.raw != fmt.Sprintf(`{"type":"n","data":%d}`, i) {
				err = fmt.Errorf("message %d: %s", i, m.raw)
			}
			if err != nil {
				got <- err
				return
			}
		}
		// Keep reading, so the pongs below are taken.
		_, _, err := c.Read(context.Background())
		got <- err
	}()
	pings := 0
	for i := range n {
		h.Publish("alpha", "", "n", i)
		h.push(time.Now())
		if i%10 == 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := c.Ping(ctx); err != nil {
				t.Fatalf("ping %d: %v", i, err)
			}
			cancel()
			pings++
		}
	}
	select {
	case err := <-got:
		t.Fatal(err)
	default:
	}
	if pings != n/10 {
		t.Fatalf("%d pings", pings)
	}
}

// TestPing checks the hub's pings: a client that answers stays, one that
// does not is closed.
func TestPing(t *testing.T) {
	h, _, ts := testHub(t)
	answers, _, _ := dial(t, h, ts, "alpha")
	silent, _, _ := dial(t, h, ts, "alpha")
	waitFor(t, h, 2)
	go func() { // reading answers pings
		for {
			if _, _, err := answers.Read(context.Background()); err != nil {
				return
			}
		}
	}()

	now := time.Now().Add(pingEvery)
	h.push(now)
	h.mu.Lock()
	var cls []*client
	for cl := range h.rooms["alpha"].clients {
		cls = append(cls, cl)
	}
	h.mu.Unlock()
	// Wait for one answer: the other client's never comes.
	for deadline := time.Now().Add(20 * time.Second); cls[0].pingAt.Load() != 0 && cls[1].pingAt.Load() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no pong")
		}
	}
	h.push(now.Add(writeLimit))
	waitFor(t, h, 1)
	for {
		if _, err := tryRead(silent); err != nil {
			break // closed
		}
	}
}

// TestClose checks that closing the hub closes every client with 1001, and
// that one connecting after gets 1001 too.
func TestClose(t *testing.T) {
	h, _, ts := testHub(t)
	var cs []*websocket.Conn
	for range 3 {
		c, _, _ := dial(t, h, ts, "alpha")
		cs = append(cs, c)
	}
	closed := make(chan struct{})
	go func() { h.Close(); close(closed) }() // it waits for the clients' answers
	for i, c := range cs {
		if _, err := tryRead(c); websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("client %d: %v, want 1001", i, err)
		}
	}
	<-closed
	if n := h.Clients(); n != 0 {
		t.Errorf("%d clients after close", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	late, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/?ws=alpha", &websocket.DialOptions{Subprotocols: []string{Protocol}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tryRead(late); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("client after close: %v, want 1001", err)
	}
}

// TestLeave checks that a client that closes is let go.
func TestLeave(t *testing.T) {
	h, _, ts := testHub(t)
	c, _, _ := dial(t, h, ts, "alpha")
	waitFor(t, h, 1)
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, h, 0)
}

func TestFrame(t *testing.T) {
	for _, n := range []int{0, 125, 126, 0xFFFF, 0x10000} {
		msg := bytes.Repeat([]byte{'x'}, n)
		f := frame(msg)
		if f[0] != 0x81 {
			t.Errorf("%d bytes: first byte %#x", n, f[0])
		}
		var got, head int
		switch l := f[1]; {
		case l <= 125:
			got, head = int(l), 2
		case l == 126:
			got, head = int(binary.BigEndian.Uint16(f[2:])), 4
		default:
			got, head = int(binary.BigEndian.Uint64(f[2:])), 10
		}
		if got != n || !bytes.Equal(f[head:], msg) {
			t.Errorf("%d bytes: header says %d, payload %d", n, got, len(f)-head)
		}
	}
}

// TestDataMessage checks that a client sending a message, which a
// dashboard never does, is closed with 1008 and let go.
func TestDataMessage(t *testing.T) {
	h, _, ts := testHub(t)
	c, _, _ := dial(t, h, ts, "alpha")
	if err := c.Write(context.Background(), websocket.MessageText, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := tryRead(c); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("%v, want 1008", err)
	}
	waitFor(t, h, 0)
}

// TestPutBack checks that a delivery that found its client busy goes back
// ahead of what came for the client meanwhile, and that the ping it held
// is due again.
func TestPutBack(t *testing.T) {
	h := newHub(&snapshots{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	cl := &client{agents: []string{"a"}, lastPing: time.Now(), backlog: [][]byte{[]byte("later")}}
	cl.busy.Store(true)
	cl.pingAt.Store(1)
	h.putBack(&delivery{cl: cl, backlog: [][]byte{[]byte("kept")},
		out:  []outMsg{{agent: "a", frame: []byte("a's")}, {agent: "b", frame: []byte("b's")}, {frame: []byte("all")}},
		snap: &target{frame: []byte("snapshot")}, ping: true})
	got := string(bytes.Join(cl.backlog, []byte(" ")))
	if want := "kept a's all snapshot later"; got != want {
		t.Errorf("backlog %q, want %q", got, want)
	}
	if cl.busy.Load() || cl.pingAt.Load() != 0 || !cl.lastPing.IsZero() {
		t.Errorf("busy %v, ping at %d, last ping %v: want not busy and the ping due", cl.busy.Load(), cl.pingAt.Load(), cl.lastPing)
	}
}

// BenchmarkPush measures the push of a change (its execution_started and a
// snapshot of about 12 KB, as with a busy workspace) to 1,000 loopback
// clients, which this process reads too. Profile it with -cpuprofile and
// -memprofile, focused on the hub (-focus 'live\.\(\*Hub\)').
func BenchmarkPush(b *testing.B) {
	h, rt, ts := sweepingHub(b, sweepEvery)
	rt.size.Store(100)
	const clients = 1000
	var got, want atomic.Int64
	done := make(chan struct{}, 1)
	for range clients {
		c, _, _ := dial(b, h, ts, "alpha")
		go func() {
			for {
				_, r, err := c.Reader(context.Background())
				if err == nil {
					_, err = io.Copy(io.Discard, r)
				}
				if err != nil {
					return
				}
				if got.Add(1) == want.Load() {
					done <- struct{}{}
				}
			}
		}()
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		want.Store(got.Load() + 2*clients)
		h.Observe([]execution.Update{startedUpdate("alpha", fmt.Sprint("e-", i), "a")})
		now = now.Add(time.Second)
		h.push(now)
		<-done
	}
}

// rawClient is a client speaking the protocol by hand, to send what a
// well-behaved library never does: frames cut anywhere, unmasked frames.
type rawClient struct {
	t *testing.T
	net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, h *Hub, ts *httptest.Server) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(nc, "GET /?ws=alpha HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		strings.TrimPrefix(ts.URL, "http://"), Protocol)
	c := &rawClient{t: t, Conn: nc, br: bufio.NewReader(nc)}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The RFC's own example: this key is answered with this accept value.
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake answered %s %v", resp.Status, resp.Header)
	}
	if op, _ := c.next(); op != 0x1 { // the first snapshot
		t.Fatalf("first frame has opcode %#x", op)
	}
	waitFor(t, h, 1)
	return c
}

// clientFrame is a frame as a client sends it: masked, unless unmasked.
func clientFrame(op byte, payload []byte, unmasked bool) []byte {
	f := []byte{0x80 | op, byte(len(payload))} // payloads here are short
	if unmasked {
		return append(f, payload...)
	}
	mask := [4]byte{1, 2, 3, 4}
	f[1] |= 0x80
	f = append(f, mask[:]...)
	for i, b := range payload {
		f = append(f, b^mask[i%4])
	}
	return f
}

// next reads the next frame the server sent, skipping the hub's pings.
func (c *rawClient) next() (op byte, payload []byte) {
	c.t.Helper()
	for {
		var head [2]byte
		if _, err := io.ReadFull(c.br, head[:]); err != nil {
			c.t.Fatalf("read frame: %v", err)
		}
		n := int(head[1] & 0x7F)
		switch n {
		case 126:
			var l [2]byte
			io.ReadFull(c.br, l[:])
			n = int(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			io.ReadFull(c.br, l[:])
			n = int(binary.BigEndian.Uint64(l[:]))
		}
		payload = make([]byte, n)
		if _, err := io.ReadFull(c.br, payload); err != nil {
			c.t.Fatalf("read payload: %v", err)
		}
		if op = head[0] & 0x0F; op != 0x9 {
			return op, payload
		}
	}
}

// TestFramesInPieces sends a ping cut in four (in its header, in its mask,
// in its payload), across sweeps, then a close frame with a code: the hub
// answers the ping with its payload and the close with the same code, then
// closes the connection.
func TestFramesInPieces(t *testing.T) {
	h, _, ts := testHub(t)
	c := dialRaw(t, h, ts)
	ping := clientFrame(0x9, []byte("are you there"), false)
	for _, piece := range [][]byte{ping[:1], ping[1:4], ping[4:9], ping[9:]} {
		c.Write(piece)
		time.Sleep(20 * time.Millisecond) // a few sweeps see each piece alone
	}
	if op, p := c.next(); op != 0xA || string(p) != "are you there" {
		t.Fatalf("got opcode %#x %q, want the pong", op, p)
	}
	c.Write(clientFrame(0x8, []byte{0x0F, 0xA0, 'b', 'y', 'e'}, false)) // 4000
	if op, p := c.next(); op != 0x8 || !bytes.Equal(p[:2], []byte{0x0F, 0xA0}) {
		t.Fatalf("got opcode %#x %q, want a close frame with 4000", op, p)
	}
	waitFor(t, h, 0)
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Fatalf("after the close frame: %v, want the end of the connection", err)
	}
}

// TestProtocolError sends an unmasked frame, which only a server may: the
// hub closes with 1002.
func TestProtocolError(t *testing.T) {
	h, _, ts := testHub(t)
	c := dialRaw(t, h, ts)
	c.Write(clientFrame(0x9, nil, true))
	if op, p := c.next(); op != 0x8 || binary.BigEndian.Uint16(p) != 1002 {
		t.Fatalf("got opcode %#x %q, want a close frame with 1002", op, p)
	}
	waitFor(t, h, 0)
}

// TestNoGoroutinePerClient checks what makes thousands of clients cheap:
// nothing runs for a connected client.
func TestNoGoroutinePerClient(t *testing.T) {
	h, _, ts := testHub(t)
	dial(t, h, ts, "alpha")
	before := runtime.NumGoroutine()
	for range 50 {
		dial(t, h, ts, "alpha")
	}
	if n := runtime.NumGoroutine() - before; n > 25 { // the test's own clients read on goroutines
		t.Fatalf("%d more goroutines for 50 more clients", n)
	}
}

// TestHandshakeRefused checks the requests refused before any answer: one
// that does not ask for a WebSocket, and one from another site's page.
func TestHandshakeRefused(t *testing.T) {
	h, _, _ := testHub(t)
	upgrade := func() *http.Request {
		r := httptest.NewRequest("GET", "http://shadower.example/api/v1/ws", nil)
		r.Header.Set("Connection", "keep-alive, Upgrade")
		r.Header.Set("Upgrade", "WebSocket")
		return r
	}
	plain := httptest.NewRequest("GET", "http://shadower.example/api/v1/ws", nil)
	foreign := upgrade()
	foreign.Header.Set("Origin", "https://elsewhere.example")
	same := upgrade()
	same.Header.Set("Origin", "https://shadower.example")
	for _, tc := range []struct {
		r           *http.Request
		code, where string
	}{{plain, execution.EInvalid, "Upgrade"}, {foreign, execution.EForbidden, "Origin"}} {
		w := httptest.NewRecorder()
		var e *execution.Error
		if err := h.Serve(w, tc.r, "alpha", nil); !errors.As(err, &e) || e.Code != tc.code || e.Where != tc.where {
			t.Errorf("got %v, want %s at %s", err, tc.code, tc.where)
		}
		if w.Code != http.StatusOK || w.Body.Len() != 0 {
			t.Errorf("answered %d %q before the caller could", w.Code, w.Body)
		}
	}
	if err := checkHandshake(same); err != nil {
		t.Errorf("same origin refused: %v", err)
	}
}
