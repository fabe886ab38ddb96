package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // read the embedded store's file directly
	"github.com/shadower/shadower/internal/rollup/rolluptest"
	"github.com/shadower/shadower/internal/store/pgtest"
	"github.com/shadower/shadower/internal/store/postgres"
	"github.com/shadower/shadower/internal/store/sqlite"
)

// A crash batch holds crashTriples executions of three events (queued,
// started, then completed or failed) and crashDoubles of two (started, then
// finished): 500 events, 168 executions, every one of them finished.
const (
	crashClients   = 4
	crashTriples   = 164
	crashDoubles   = 4
	crashBatchSize = 3*crashTriples + 2*crashDoubles
	crashPerBatch  = crashTriples + crashDoubles
	readyLimit     = 5 * time.Second
)

// crashRounds is how many kill -9 rounds the crash tests run.
func crashRounds(t *testing.T) int {
	s := os.Getenv("SHADOWER_CRASH_ROUNDS")
	if s == "" {
		return 5
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("SHADOWER_CRASH_ROUNDS=%q: want a positive number", s)
	}
	return n
}

// TestCrashDuringIngest kills the server (embedded store) with SIGKILL while
// four clients post batches as fast as they can, then checks after a
// restart that every acknowledged batch is stored whole, that no batch is
// stored in part, that resending everything counts nothing twice, that the
// file passes SQLite's integrity check and that the rollups equal a
// recomputation from the raw rows.
func TestCrashDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := build(t)
	dir := t.TempDir()
	env := []string{"SHADOWER_DATA=" + dir, "SHADOWER_DB="}
	runCrashRounds(t, bin, env, func(t *testing.T, wss []string, from, to time.Time, want map[string]int) {
		checkSQLiteIntegrity(t, filepath.Join(dir, sqlite.FileName))
		db, err := sqlite.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, ws := range wss {
			checkRollupsAgainstRaw(t, db, ws, from, to, want[ws])
		}
	})
}

// TestCrashDuringIngestPostgres is TestCrashDuringIngest on PostgreSQL.
func TestCrashDuringIngestPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dsn := pgtest.FreshDSN(t)
	bin := build(t)
	env := []string{"SHADOWER_DB=" + dsn, "SHADOWER_DATA=" + t.TempDir()}
	runCrashRounds(t, bin, env, func(t *testing.T, wss []string, from, to time.Time, want map[string]int) {
		db, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, ws := range wss {
			checkRollupsAgainstRaw(t, db, ws, from, to, want[ws])
		}
	})
}

// runCrashRounds runs the kill -9 rounds on the store env names. After each
// round's clean stop, check inspects the store: the workspaces to check, the
// whole UTC days holding their data, and each one's execution count.
func runCrashRounds(t *testing.T, bin string, env []string,
	check func(t *testing.T, wss []string, from, to time.Time, want map[string]int)) {
	rounds := crashRounds(t)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("%d rounds, seed %d", rounds, seed)
	env = append(env, "SHADOWER_ADMIN_KEY="+adminKey, "SHADOWER_WORKSPACE_RATE=0")

	testStart := time.Now()
	want := map[string]int{}
	var (
		readies          []time.Duration
		acked, sent, cmt int
	)
	for round := 1; round <= rounds; round++ {
		r := crashRound(t, bin, env, round, rng)
		readies = append(readies, r.ready)
		acked += r.acked
		sent += r.sent
		cmt += r.committedUnacked
		want[r.ws] = r.sent * crashPerBatch

		from := testStart.Add(-2 * time.Hour).UTC().Truncate(24 * time.Hour)
		to := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		t0 := time.Now()
		check(t, []string{r.ws}, from, to, want)
		t.Logf("round %d: %d batches acknowledged of %d sent (%d more committed unacknowledged), killed %v after the first acknowledgement, ready %v after restart, resent in %v, store checked in %v, round took %v",
			round, r.acked, r.sent, r.committedUnacked, r.killAfter, r.ready.Round(time.Millisecond), r.resend.Round(time.Millisecond),
			time.Since(t0).Round(time.Millisecond), time.Since(r.start).Round(time.Millisecond))
		if t.Failed() {
			return
		}
	}
	// Later crashes must not have disturbed earlier rounds' data.
	t0 := time.Now()
	wss := slices.Sorted(maps.Keys(want))
	from := testStart.Add(-2 * time.Hour).UTC().Truncate(24 * time.Hour)
	to := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	check(t, wss, from, to, want)
	t.Logf("every round's workspace checked again at the end in %v", time.Since(t0).Round(time.Millisecond))
	sorted := slices.Clone(readies)
	slices.Sort(sorted)
	median := (sorted[(len(sorted)-1)/2] + sorted[len(sorted)/2]) / 2
	t.Logf("summary: %d rounds, %d batches acknowledged (%d events) of %d sent, %d committed without acknowledgement, nothing lost or counted twice; ready after restart min %v median %v max %v",
		len(readies), acked, acked*crashBatchSize, sent, cmt,
		sorted[0].Round(time.Millisecond), median.Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond))
}

type roundResult struct {
	ws                            string
	start                         time.Time
	acked, sent, committedUnacked int
	killAfter, ready, resend      time.Duration
}

// crashRound is one round: load, kill -9, restart, check, resend, check,
// stop cleanly.
func crashRound(t *testing.T, bin string, env []string, round int, rng *rand.Rand) roundResult {
	t.Helper()
	res := roundResult{ws: fmt.Sprintf("crash-r%02d", round), start: time.Now()}
	base := res.start.UTC().Truncate(time.Second).Add(-50 * time.Minute)
	gen := func(client, seq int) *crashBatch {
		return makeCrashBatch(res.ws, fmt.Sprintf("r%02dc%db%04d", round, client, seq), base)
	}

	s, _ := startServer(t, bin, env)
	var (
		mu      sync.Mutex
		sent    []*crashBatch
		acked   = map[*crashBatch]bool{}
		stop    atomic.Bool
		wg      sync.WaitGroup
		refused atomic.Int64
		// The kill comes at a random time after the first
		// acknowledgement, however long a loaded machine takes to give it.
		firstAck = make(chan struct{})
	)
	hc := &http.Client{Timeout: 20 * time.Second}
	for c := range crashClients {
		wg.Go(func() {
			for seq := 0; !stop.Load(); seq++ {
				b := gen(c, seq)
				mu.Lock()
				sent = append(sent, b)
				mu.Unlock()
				for {
					code, body, _, err := postEvents(hc, s.addr, b.body)
					if err != nil {
						return // the server is gone
					}
					if code == http.StatusOK {
						var r struct{ Accepted, Duplicates int }
						json.Unmarshal(body, &r)
						if r.Accepted != crashBatchSize {
							t.Errorf("batch %s: fresh batch answered %s", b.name, body)
						}
						mu.Lock()
						acked[b] = true
						if len(acked) == 1 {
							close(firstAck)
						}
						mu.Unlock()
						break
					}
					if code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable {
						t.Errorf("batch %s: %d %s", b.name, code, body)
						return
					}
					refused.Add(1)
					if stop.Load() {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	select {
	case <-firstAck:
	case <-time.After(30 * time.Second):
		s.kill(t)
		stop.Store(true)
		wg.Wait()
		t.Fatalf("round %d: no batch acknowledged in 30 s (%d refused)", round, refused.Load())
	}
	res.killAfter = time.Duration(rng.IntN(1301)) * time.Millisecond
	time.Sleep(res.killAfter)
	s.kill(t)
	stop.Store(true)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	res.sent, res.acked = len(sent), len(acked)

	// Restart on the same store and time it until it is ready.
	s, res.ready = startServer(t, bin, env)
	if res.ready >= readyLimit {
		t.Errorf("round %d: ready %v after restart, want under %v", round, res.ready, readyLimit)
	}
	c := apiClient{t: t, hc: hc, addr: s.addr}

	// The batches sent without an answer either committed whole or not at
	// all: probe each one's first and last execution.
	present := map[*crashBatch]bool{}
	for _, b := range sent {
		if acked[b] {
			present[b] = true
			continue
		}
		first, last := c.hasExecution(res.ws, b.execs[0]), c.hasExecution(res.ws, b.execs[len(b.execs)-1])
		if first != last {
			t.Fatalf("round %d: batch %s is stored in part after the crash (first execution %v, last %v)", round, b.name, first, last)
		}
		if first {
			present[b] = true
			res.committedUnacked++
		}
	}
	wantTotal, wantFailed := 0, 0
	for b := range present {
		wantTotal += len(b.execs)
		wantFailed += b.failed
	}
	winFrom, winTo := res.start.Add(-2*time.Hour), time.Now().Add(2*time.Minute)
	th := c.throughput(res.ws, winFrom, winTo)
	if th.Total < int64(res.acked*crashPerBatch) || th.Total > int64(res.sent*crashPerBatch) {
		t.Fatalf("round %d: %d finished executions after the crash, want between the %d acknowledged and the %d sent",
			round, th.Total, res.acked*crashPerBatch, res.sent*crashPerBatch)
	}
	if th.Total != int64(wantTotal) || th.Failed != int64(wantFailed) || th.Completed != int64(wantTotal-wantFailed) {
		t.Fatalf("round %d: after the crash total %d (completed %d, failed %d), want %d (%d, %d): the %d acknowledged batches and %d committed unacknowledged",
			round, th.Total, th.Completed, th.Failed, wantTotal, wantTotal-wantFailed, wantFailed, res.acked, res.committedUnacked)
	}
	// Every event of a sample of acknowledged executions is there.
	var ackedList []*crashBatch
	for _, b := range sent {
		if acked[b] {
			ackedList = append(ackedList, b)
		}
	}
	for range 50 {
		b := ackedList[rng.IntN(len(ackedList))]
		c.checkExecution(res.ws, b.execs[rng.IntN(len(b.execs))])
	}

	// Resend every batch: those stored are all duplicates, the others all new.
	t0 := time.Now()
	next := atomic.Int64{}
	for range crashClients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(sent) || t.Failed() {
					return
				}
				b := sent[i]
				r := c.postUntilStored(b)
				want := crashBatchSize
				if present[b] {
					want = 0
				}
				if r.Accepted != want || r.Accepted+r.Duplicates != crashBatchSize {
					t.Errorf("round %d: resent batch %s (stored before: %v): accepted %d duplicates %d", round, b.name, present[b], r.Accepted, r.Duplicates)
				}
			}
		})
	}
	wg.Wait()
	res.resend = time.Since(t0)
	if t.Failed() {
		t.FailNow()
	}
	wantTotal, wantFailed = 0, 0
	for _, b := range sent {
		wantTotal += len(b.execs)
		wantFailed += b.failed
	}
	th = c.throughput(res.ws, winFrom, winTo)
	if th.Total != int64(wantTotal) || th.Failed != int64(wantFailed) || th.Completed != int64(wantTotal-wantFailed) {
		t.Fatalf("round %d: after resending everything total %d (completed %d, failed %d), want exactly %d (%d, %d)",
			round, th.Total, th.Completed, th.Failed, wantTotal, wantTotal-wantFailed, wantFailed)
	}
	s.terminate(t)
	return res
}

// crashExec is what one execution of a batch should look like once stored.
type crashExec struct {
	id     string
	status string
	events []string // event ids
}

type crashBatch struct {
	name   string
	ws     string
	body   []byte
	execs  []crashExec
	failed int
}

type crashEvent struct {
	EventID     string          `json:"event_id"`
	Type        string          `json:"type"`
	ExecutionID string          `json:"execution_id"`
	WorkspaceID string          `json:"workspace_id"`
	AgentID     string          `json:"agent_id"`
	Timestamp   time.Time       `json:"timestamp"`
	Error       *crashErrorInfo `json:"error,omitempty"`
	Credits     *float64        `json:"credits,omitempty"`
}

type crashErrorInfo struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// makeCrashBatch builds the batch named name for workspace ws: the same
// name and base give the same events. Executions are queued between base
// and base+45m and finish within about two minutes, so all lie in the past
// when base is 50 minutes ago.
func makeCrashBatch(ws, name string, base time.Time) *crashBatch {
	h := fnv.New64a()
	h.Write([]byte(ws + "/" + name))
	rng := rand.New(rand.NewPCG(h.Sum64(), 7))
	b := &crashBatch{name: name, ws: ws}
	evs := make([]crashEvent, 0, crashBatchSize)
	for i := range crashPerBatch {
		id := fmt.Sprintf("%sx%03d", name, i)
		agent := fmt.Sprintf("agent-%d", rng.IntN(5))
		queued := base.Add(time.Duration(rng.Int64N(int64(45 * time.Minute))))
		started := queued.Add(time.Duration(rng.Int64N(int64(5 * time.Second))))
		finished := started.Add(50*time.Millisecond + time.Duration(rng.Int64N(int64(2*time.Minute))))
		x := crashExec{id: id, status: "completed"}
		ev := func(kind string, at time.Time) *crashEvent {
			evs = append(evs, crashEvent{EventID: id + "-" + kind[:1], Type: kind, ExecutionID: id, WorkspaceID: ws, AgentID: agent, Timestamp: at})
			x.events = append(x.events, id+"-"+kind[:1])
			return &evs[len(evs)-1]
		}
		if i < crashTriples {
			ev("queued", queued)
		}
		ev("started", started)
		var end *crashEvent
		if rng.IntN(5) == 0 {
			x.status = "failed"
			b.failed++
			end = ev("failed", finished)
			end.Error = &crashErrorInfo{Type: fmt.Sprintf("E%d", rng.IntN(3)), Message: "simulated failure"}
		} else {
			end = ev("completed", finished)
		}
		if rng.IntN(3) == 0 {
			c := float64(rng.IntN(400)) / 4
			end.Credits = &c
		}
		b.execs = append(b.execs, x)
	}
	body, err := json.Marshal(evs)
	if err != nil {
		panic(err)
	}
	b.body = body
	return b
}

// server is a running binary.
type server struct {
	cmd    *exec.Cmd
	addr   string
	logs   *logWatch
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// logWatch collects the server's log lines and reports the address of its
// "serving" line.
type logWatch struct {
	mu      sync.Mutex
	all     strings.Builder
	partial []byte
	serving chan string
}

func (l *logWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := slices.Index(l.partial, '\n')
		if i < 0 {
			break
		}
		var line struct{ Msg, Addr string }
		if json.Unmarshal(l.partial[:i], &line) == nil && line.Msg == "serving" {
			select {
			case l.serving <- line.Addr:
			default:
			}
		}
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *logWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

// startServer starts `serve` with env added to this process's environment
// and returns once /readyz answers 200, with the time that took from the
// start of the process.
func startServer(t *testing.T, bin string, env []string) (*server, time.Duration) {
	t.Helper()
	s := &server{cmd: exec.Command(bin, "serve", "--addr", "127.0.0.1:0"), logs: &logWatch{serving: make(chan string, 1)}, exited: make(chan struct{})}
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stderr = s.logs
	t0 := time.Now()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() { s.kill(t) })
	select {
	case s.addr = <-s.logs.serving:
	case <-s.exited:
		t.Fatalf("server exited at start (%v):\n%s", s.err, s.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start in 30s:\n%s", s.logs)
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := hc.Get("http://" + s.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, time.Since(t0)
			}
		}
		if time.Since(t0) > 30*time.Second {
			t.Fatalf("not ready after 30s:\n%s", s.logs)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// kill sends SIGKILL (if the process still runs) and waits for it to end.
func (s *server) kill(t *testing.T) {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.exited
}

// terminate sends SIGTERM and requires a clean exit within 30 seconds.
func (s *server) terminate(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit 30s after SIGTERM:\n%s", s.logs)
	}
	if s.err != nil {
		t.Fatalf("after SIGTERM: %v\n%s", s.err, s.logs)
	}
}

// postEvents posts a batch with the operator key.
func postEvents(hc *http.Client, addr string, body []byte) (int, []byte, http.Header, error) {
	req, err := http.NewRequest("POST", "http://"+addr+"/api/v1/events", strings.NewReader(string(body)))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}

// apiClient reads and writes through the API, failing t on surprises.
type apiClient struct {
	t    *testing.T
	hc   *http.Client
	addr string
}

func (c apiClient) get(path string, v any) int {
	c.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+c.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			c.t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		c.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

type throughputJSON struct {
	Total, Completed, Failed int64
}

// throughput reads the throughput over the custom window [from, to).
func (c apiClient) throughput(ws string, from, to time.Time) throughputJSON {
	c.t.Helper()
	var th throughputJSON
	q := url.Values{"workspace_id": {ws}, "from": {from.UTC().Format(time.RFC3339)}, "to": {to.UTC().Format(time.RFC3339)}}
	if code := c.get("/api/v1/metrics/execution/throughput?"+q.Encode(), &th); code != http.StatusOK {
		c.t.Fatalf("throughput of %s: %d", ws, code)
	}
	return th
}

type executionWithEvents struct {
	ExecutionID string `json:"execution_id"`
	Status      string `json:"status"`
	Events      []struct {
		EventID string `json:"event_id"`
	} `json:"events"`
}

// hasExecution reports whether the execution exists; when it does, it must
// be whole.
func (c apiClient) hasExecution(ws string, x crashExec) bool {
	c.t.Helper()
	var got executionWithEvents
	if c.get("/api/v1/executions/"+x.id+"?workspace_id="+url.QueryEscape(ws), &got) == http.StatusNotFound {
		return false
	}
	c.compareExecution(x, got)
	return true
}

// checkExecution requires the execution with every one of its events.
func (c apiClient) checkExecution(ws string, x crashExec) {
	c.t.Helper()
	if !c.hasExecution(ws, x) {
		c.t.Fatalf("execution %s of an acknowledged batch is missing", x.id)
	}
}

func (c apiClient) compareExecution(x crashExec, got executionWithEvents) {
	c.t.Helper()
	var ids []string
	for _, e := range got.Events {
		ids = append(ids, e.EventID)
	}
	slices.Sort(ids)
	want := slices.Sorted(slices.Values(x.events))
	if got.Status != x.status || !slices.Equal(ids, want) {
		c.t.Fatalf("execution %s: status %q events %v, want %q %v", x.id, got.Status, ids, x.status, want)
	}
}

type ingestResult struct{ Accepted, Duplicates int }

// postUntilStored posts b until it is answered 200, waiting out refusals
// for load (429, 503) for up to 30 seconds.
func (c apiClient) postUntilStored(b *crashBatch) ingestResult {
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, _, err := postEvents(c.hc, c.addr, b.body)
		if err != nil {
			c.t.Errorf("batch %s: %v", b.name, err)
			return ingestResult{}
		}
		if code == http.StatusOK {
			var r ingestResult
			json.Unmarshal(body, &r)
			return r
		}
		if (code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable) || time.Now().After(deadline) {
			c.t.Errorf("batch %s: %d %s", b.name, code, body)
			return ingestResult{}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkSQLiteIntegrity opens the database file read-only and runs SQLite's
// full integrity check.
func checkSQLiteIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var res []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		res = append(res, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0] != "ok" {
		t.Fatalf("integrity_check of %s: %v", path, res)
	}
}

func checkRollupsAgainstRaw(t *testing.T, db rolluptest.Store, ws string, from, to time.Time, wantExecs int) {
	t.Helper()
	if n := rolluptest.MatchRaw(t, db, ws, from, to); n != wantExecs {
		t.Fatalf("%s: %d executions in the raw rows, want %d", ws, n, wantExecs)
	}
}
