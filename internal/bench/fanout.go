package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/shadower/shadower/internal/live"
)

// FanoutResult is what the fan-out measurement found.
type FanoutResult struct {
	Clients        int     `json:"clients"`   // asked for
	Connected      int     `json:"connected"` // got their first snapshot
	Rounds         int     `json:"rounds"`
	LagP50Ms       float64 `json:"lag_p50_ms"`
	LagP99Ms       float64 `json:"lag_p99_ms"`
	LagMaxMs       float64 `json:"lag_max_ms"`
	Behind1s       int     `json:"behind_1s"`        // (client, round) pairs updated more than 1 s after the change
	Missed         int     `json:"missed"`           // (client, round) pairs no update carried (see Fanout)
	Dropped        int     `json:"dropped"`          // clients the server closed
	ServerCPUCores float64 `json:"server_cpu_cores"` // server CPU time / wall time during the rounds (1.0 = one core)
	ServerRSSMax   int64   `json:"server_rss_max_bytes"`
}

const (
	// fanDialParallel bounds the handshakes in flight, so the server's
	// accept queue is not overrun and connections are not refused.
	fanDialParallel = 200
	// fanDialTimeout bounds one client's handshake and first snapshot.
	fanDialTimeout = 30 * time.Second
	// fanSpareFiles are descriptors the process needs besides the clients:
	// standard streams, the HTTP client of change, the server's pipes.
	fanSpareFiles = 64
	// fanReadLimit is far above a realtime snapshot (50 running executions
	// listed, about 12 KiB), so no update is ever refused as too large.
	fanReadLimit = 1 << 20
	// fanSettle is how long the last round waits for late updates: the hub
	// promises about a second, so what comes later than this is missed.
	fanSettle = 3 * time.Second
)

// Fanout opens `clients` WebSocket clients to srv.Base + "/api/v1/ws?workspace_id=" + ws with
// key (subprotocols "shadower.v1" and "bearer."+key), 200 dials at a time so the server is not
// refused connections, and waits until each got its first execution_update. Then for `rounds`
// rounds, once a second, it calls change(ctx), which commits an event in ws and returns T, when
// the server acknowledged it, and measures for every client the time from T to the arrival of
// the update that carries the change. It reads the server's CPU over the rounds with srv.CPU()
// and its highest RSS with srv.ResetMaxRSS()/srv.MaxRSS(), and closes every client at the end.
//
// The update that carries a round's change is the client's first execution_update whose "at"
// is not before T, if it is before the next round's T (otherwise the server folded the round
// into the next one's update). Failing that, it is the last one computed between the call of
// change and T: the server pushed the change before the caller saw the acknowledgement (it
// pushes a change once, so nothing follows until the next change), and its lag is 0 unless it
// was delivered after T. Without this fallback, against the hub with 10,000 clients, where the
// acknowledgement took about 100 ms, 3 or 4 rounds of 60 were missed by every client. Such an
// early update also wins over a first update after T computed after the next round's call:
// that one is the next round's, pushed before its own acknowledgement, as a server that pushes
// at the commit does when it is faster than the acknowledgement (counting it for both rounds
// made every client a second late on each such round). A (client, round) pair with neither is
// missed, as is every round after its client was dropped; a late update is not missed but
// counts in Behind1s.
//
// srv may be a Process without a child process (only Base set, as in tests against an
// in-process hub): then ServerCPUCores and ServerRSSMax are 0.
//
// The open-file limit must hold `clients` connections, or Fanout fails before dialing. Clients
// that fail to connect are left out: Fanout measures the others and returns their result
// together with an error that says how many failed and why. When none connects, it fails.
func Fanout(ctx context.Context, srv *Process, ws, key string, clients, rounds int, change func(context.Context) (time.Time, error)) (FanoutResult, error) {
	res := FanoutResult{Clients: clients}
	if srv == nil || clients < 1 || rounds < 1 {
		return res, fmt.Errorf("fan-out: need a server, clients and rounds (got %d clients, %d rounds)", clients, rounds)
	}
	if err := raiseFileLimit(clients + fanSpareFiles); err != nil {
		return res, err
	}
	f := &fanout{base: time.Now(), call: make([]atomic.Int64, rounds), at: make([]atomic.Int64, rounds),
		ack: make([]time.Duration, rounds)}
	f.bufs.New = func() any { b := make([]byte, 0, 16<<10); return &b }

	cls, connErr := f.connect(ctx, srv.Base+"/api/v1/ws?workspace_id="+url.QueryEscape(ws), key, clients)
	res.Connected = len(cls)
	if len(cls) == 0 {
		return res, fmt.Errorf("fan-out: no client connected: %w", connErr)
	}
	if connErr != nil {
		connErr = fmt.Errorf("fan-out: %w", connErr)
	}
	runErr := f.run(ctx, srv, len(cls), change, &res)
	f.close(cls)
	f.tally(cls, &res)
	return res, errors.Join(connErr, runErr)
}

// fanHTTP makes the handshakes. Its buffers stay with every connection
// after the upgrade, though the WebSocket library reads and writes through
// its own, so small ones save several KiB a client.
var fanHTTP = &http.Client{Transport: &http.Transport{ReadBufferSize: 512, WriteBufferSize: 512}}

// fanout is the state the measuring goroutine shares with the readers.
type fanout struct {
	base time.Time // arrivals are kept as monotonic time since base
	// began counts the rounds whose change has been called. call and at
	// hold each round's call of change and its T as Unix nanoseconds (the
	// server's "at" is wall-clock time); at is 0 while the change is in
	// flight. ack is T since base, for the lags, and only the measuring
	// goroutine touches it.
	began   atomic.Int64
	call    []atomic.Int64
	at      []atomic.Int64
	ack     []time.Duration
	settled atomic.Int64 // clients done with the last round, or gone
	closing atomic.Bool  // set before we close clients: errors after it are ours
	dropped atomic.Int64
	readers sync.WaitGroup
	// bufs holds message buffers: a reader needs one only while it reads a
	// message, so thousands of clients share a few.
	bufs sync.Pool
}

// fanClient is one WebSocket client. Only its reader touches it until the
// readers are done; then the measuring goroutine tallies it.
type fanClient struct {
	conn *websocket.Conn
	// got is, per round, the arrival of the update carrying it (since
	// base); 0 when none came.
	got  []time.Duration
	next int // the first round not yet settled
	// queue holds updates not yet matched to a round: they can arrive
	// before the round's T is known, because the caller measures T after
	// the server answered.
	queue []arrival
	// early is the arrival of the last update of round next computed
	// between the call of change and T; 0 when none.
	early   time.Duration
	settled bool
}

type arrival struct {
	at   int64         // the snapshot's "at", Unix nanoseconds
	recv time.Duration // since base
}

// raiseFileLimit lifts the soft limit on open files to the hard one, and
// fails when even that cannot hold need descriptors: dials beyond it would
// fail one by one, and the result would understate the server.
func raiseFileLimit(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("fan-out: read the open-file limit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("fan-out: raise the open-file limit to %d: %w", lim.Max, err)
		}
	}
	if lim.Cur < uint64(need) {
		return fmt.Errorf("fan-out: %d clients need about %d open files, but this process may open %d (hard limit); raise it (ulimit -Hn) or ask for fewer clients",
			need-fanSpareFiles, need, lim.Cur)
	}
	return nil
}

// connect dials n clients, fanDialParallel at a time, and starts a reader
// for each that got its first snapshot. It returns those and the first
// failure, if any.
func (f *fanout) connect(ctx context.Context, addr, key string, n int) ([]*fanClient, error) {
	var (
		mu       sync.Mutex
		cls      = make([]*fanClient, 0, n)
		failed   int
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, fanDialParallel)
	)
	for range n {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			c, err := f.dial(ctx, addr, key)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			cls = append(cls, c)
			f.readers.Go(func() { f.read(c) })
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return cls, err
	}
	if failed > 0 {
		return cls, fmt.Errorf("%d of %d clients failed to connect; the first: %w", failed, n, firstErr)
	}
	return cls, nil
}

// dial opens one client and waits for its first snapshot, which the hub
// sends at once: a client counts as connected only when it is current.
func (f *fanout) dial(ctx context.Context, addr, key string) (*fanClient, error) {
	ctx, cancel := context.WithTimeout(ctx, fanDialTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, addr, &websocket.DialOptions{
		HTTPClient:      fanHTTP,
		Subprotocols:    []string{live.Protocol, "bearer." + key},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(fanReadLimit)
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			conn.CloseNow()
			return nil, fmt.Errorf("first update: %w", err)
		}
		if _, ok := updateAt(b); ok {
			return &fanClient{conn: conn, got: make([]time.Duration, len(f.at))}, nil
		}
	}
}

// run calls change once a second for every round, then waits for the last
// round's updates, and reads the server's CPU and memory over that time.
func (f *fanout) run(ctx context.Context, srv *Process, connected int, change func(context.Context) (time.Time, error), res *FanoutResult) error {
	measured := srv.cmd != nil // a Process with only Base has no child to read
	var cpu0 time.Duration
	if measured {
		srv.ResetMaxRSS()
		var err error
		if cpu0, err = srv.CPU(); err != nil {
			return fmt.Errorf("fan-out: server CPU: %w", err)
		}
	}
	start := time.Now()
	var last time.Time
	for k := range f.at {
		if err := sleepUntil(ctx, start.Add(time.Duration(k)*time.Second)); err != nil {
			return err
		}
		// began is raised before the change, so a reader that sees the
		// round not begun knows what it holds came before the change.
		f.call[k].Store(time.Now().UnixNano())
		f.began.Store(int64(k + 1))
		t, err := change(ctx)
		if err != nil {
			return fmt.Errorf("fan-out: round %d: %w", k+1, err)
		}
		f.ack[k] = t.Sub(f.base)
		f.at[k].Store(t.UnixNano())
		res.Rounds = k + 1
		last = t
	}
	// Polling is cheap next to thousands of readers, and a reader that
	// saw its update before T was published settles at close anyway.
	for deadline := last.Add(fanSettle); f.settled.Load() < int64(connected) && time.Now().Before(deadline); {
		if err := sleepUntil(ctx, time.Now().Add(10*time.Millisecond)); err != nil {
			return err
		}
	}
	wall := time.Since(start)
	if measured {
		cpu1, err := srv.CPU()
		if err != nil {
			return fmt.Errorf("fan-out: server CPU: %w", err)
		}
		res.ServerCPUCores = round2((cpu1 - cpu0).Seconds() / wall.Seconds())
		res.ServerRSSMax = srv.MaxRSS()
		if rss, err := srv.RSS(); err == nil {
			res.ServerRSSMax = max(res.ServerRSSMax, rss)
		}
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// read receives c's messages until the connection ends. A context without
// a deadline keeps the library from arming a timer per frame.
func (f *fanout) read(c *fanClient) {
	defer func() {
		if !c.settled {
			c.settled = true
			f.settled.Add(1)
		}
	}()
	for {
		_, r, err := c.conn.Reader(context.Background())
		if err != nil {
			if !f.closing.Load() {
				f.dropped.Add(1)
			}
			return
		}
		bp := f.bufs.Get().(*[]byte)
		b, err := readMessage(r, (*bp)[:0])
		recv := time.Since(f.base)
		// Nothing received before round next began can carry it.
		if err == nil && c.next < len(c.got) && f.began.Load() > int64(c.next) {
			if at, ok := updateAt(b); ok {
				c.queue = append(c.queue, arrival{at: at, recv: recv})
				f.resolve(c, false)
			}
		}
		*bp = b[:0]
		f.bufs.Put(bp)
		if err != nil {
			if !f.closing.Load() {
				f.dropped.Add(1)
			}
			return
		}
	}
}

// readMessage appends the rest of a message to b, growing it when needed.
func readMessage(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, max(cap(b), 4<<10))
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// resolve matches c's queued updates to rounds, in order (see Fanout);
// updates arrive in the order of their "at". When final, no update is to
// come, and a round left with only an early update counts it.
func (f *fanout) resolve(c *fanClient, final bool) {
	head := 0
	for c.next < len(c.got) {
		k := c.next
		if head == len(c.queue) {
			if final && c.early != 0 {
				c.got[k], c.early = c.early, 0
				c.next++
				continue
			}
			break
		}
		if f.began.Load() <= int64(k) {
			head = len(c.queue) // all came before round k's change
			break
		}
		t := f.at[k].Load()
		if t == 0 {
			break // round k's change is in flight: T is not known yet
		}
		u := c.queue[head]
		if u.at < t {
			if u.at >= f.call[k].Load() {
				c.early = u.recv
			}
			head++
			continue
		}
		if k+1 < len(c.got) && f.began.Load() > int64(k+1) && u.at >= f.call[k+1].Load() {
			next := f.at[k+1].Load()
			if next == 0 {
				break
			}
			if u.at >= next || c.early != 0 {
				// Folded into the next round, or the server pushed round
				// k before its acknowledgement and nothing until the next
				// change: either way u stays for the next round.
				c.got[k], c.early = c.early, 0
				c.next++
				continue
			}
		}
		// u stays queued: it may also be an early update of the next round.
		c.got[k], c.early = u.recv, 0
		c.next++
	}
	c.queue = c.queue[:copy(c.queue, c.queue[head:])]
	if c.next == len(c.got) && !c.settled {
		c.settled = true
		f.settled.Add(1)
	}
}

var (
	typePrefix = []byte(`{"type":"`)
	atKey      = []byte(`"at":"`)
)

// updateAt reports whether msg is an execution_update, and its "at". The
// hub writes the type first and the snapshot's "at" last, so the usual
// message is read by a scan; anything else is decoded.
func updateAt(msg []byte) (int64, bool) {
	if rest, ok := bytes.CutPrefix(msg, typePrefix); ok {
		i := bytes.IndexByte(rest, '"')
		if i < 0 {
			return 0, false
		}
		if string(rest[:i]) != "execution_update" {
			return 0, false
		}
		if j := bytes.LastIndex(msg, atKey); j >= 0 {
			v := msg[j+len(atKey):]
			// The closing quote must end the snapshot and the message,
			// so this "at" is the snapshot's own.
			if k := bytes.IndexByte(v, '"'); k >= 0 && string(v[k:]) == `"}}` {
				if t, err := time.Parse(time.RFC3339Nano, string(v[:k])); err == nil {
					return t.UnixNano(), true
				}
			}
		}
	}
	var m struct {
		Type string `json:"type"`
		Data struct {
			At time.Time `json:"at"`
		} `json:"data"`
	}
	if json.Unmarshal(msg, &m) != nil || m.Type != "execution_update" || m.Data.At.IsZero() {
		return 0, false
	}
	return m.Data.At.UnixNano(), true
}

// close closes every client with a close handshake, all at once, and waits
// for their readers.
func (f *fanout) close(cls []*fanClient) {
	f.closing.Store(true)
	var wg sync.WaitGroup
	for _, c := range cls {
		wg.Go(func() { c.conn.Close(websocket.StatusNormalClosure, "") })
	}
	wg.Wait()
	f.readers.Wait()
}

// tally matches what the readers left queued (every T is known now) and
// computes the lags. The readers are done.
func (f *fanout) tally(cls []*fanClient, res *FanoutResult) {
	lags := make([]time.Duration, 0, len(cls)*res.Rounds)
	for _, c := range cls {
		f.resolve(c, true)
		for k, recv := range c.got[:res.Rounds] {
			if recv == 0 {
				res.Missed++
				continue
			}
			lag := max(recv-f.ack[k], 0)
			lags = append(lags, lag)
			if lag > time.Second {
				res.Behind1s++
			}
		}
	}
	res.Dropped = int(f.dropped.Load())
	if len(lags) == 0 {
		return
	}
	slices.Sort(lags)
	ms := func(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }
	res.LagP50Ms, res.LagP99Ms, res.LagMaxMs = ms(rank(lags, 0.5)), ms(rank(lags, 0.99)), ms(lags[len(lags)-1])
}
