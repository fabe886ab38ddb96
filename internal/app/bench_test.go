package app

// Benchmarks of the figures the service is held to: durable ingest over
// HTTP, the metrics endpoints over a 30-day window with many executions
// stored, and the realtime section with many executions running. They run
// the real server on the embedded store and measure through HTTP on the
// loopback interface. Run them with -bench (see docs/BENCHMARKS.md); a plain
// `go test` never runs them.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/auth"
	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/store/pgtest"
)

const benchOperator = auth.Secret("bench-operator-key")

// benchHTTP keeps enough idle connections for the concurrent clients, so
// no request pays for a new connection.
var benchHTTP = &http.Client{Transport: &http.Transport{
	MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true,
}}

// benchStart starts the real server on a fresh store in dir (a temporary
// directory when dir is empty) and stops it when the benchmark ends.
func benchStart(b *testing.B, dir string, clock func() time.Time) *Server {
	b.Helper()
	if dir == "" {
		dir = b.TempDir()
	}
	cfg := Config{
		Addr: "127.0.0.1:0", Data: dir, AdminKey: benchOperator, Now: clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	// SHADOWER_BENCH_STORE=postgres runs the benchmarks on a fresh
	// PostgreSQL database (SHADOWER_TEST_PG names the server).
	if os.Getenv("SHADOWER_BENCH_STORE") == "postgres" {
		cfg.Data, cfg.DB = "", pgtest.FreshDSN(b)
	}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			b.Error(err)
		}
	})
	return s
}

// benchReadKey creates a read key for ws, as a dashboard would use.
func benchReadKey(b *testing.B, s *Server, ws string) auth.Secret {
	b.Helper()
	req, _ := http.NewRequest("POST", "http://"+s.Addr()+"/api/v1/workspaces/"+ws+"/keys", bytes.NewReader([]byte(`{"scope":"read"}`)))
	req.Header.Set("Authorization", "Bearer "+string(benchOperator))
	resp, err := benchHTTP.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var k struct {
		Key string `json:"key"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&k); err != nil || resp.StatusCode != http.StatusCreated || k.Key == "" {
		b.Fatalf("create read key: %d %v", resp.StatusCode, err)
	}
	return auth.Secret(k.Key)
}

// benchGet does one GET, checks it is 200 and returns how long it took,
// the body read to its end included.
func benchGet(url string, key auth.Secret) (time.Duration, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+string(key))
	t0 := time.Now()
	resp, err := benchHTTP.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return d, nil
}

// benchLatency runs b.N sequential GETs of url after one untimed warm-up
// and reports the median and 99th percentile in milliseconds.
func benchLatency(b *testing.B, url string, key auth.Secret) {
	b.Helper()
	if _, err := benchGet(url, key); err != nil {
		b.Fatal(err)
	}
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		d, err := benchGet(url, key)
		if err != nil {
			b.Fatal(err)
		}
		durs = append(durs, d)
	}
	b.StopTimer()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	b.ReportMetric(benchRank(durs, 0.50), "p50-ms")
	b.ReportMetric(benchRank(durs, 0.99), "p99-ms")
}

// benchRank is the nearest-rank quantile q of sorted durations, in ms.
func benchRank(sorted []time.Duration, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	i = min(max(i, 0), len(sorted)-1)
	return float64(sorted[i]) / float64(time.Millisecond)
}

// benchWire is an event as a client sends it.
type benchWire struct {
	EventID     string               `json:"event_id"`
	Type        execution.Type       `json:"type"`
	ExecutionID string               `json:"execution_id"`
	WorkspaceID string               `json:"workspace_id"`
	AgentID     string               `json:"agent_id"`
	Timestamp   string               `json:"timestamp"`
	WorkerID    string               `json:"worker_id,omitempty"`
	Trigger     string               `json:"trigger,omitempty"`
	Error       *execution.ErrorInfo `json:"error,omitempty"`
	Credits     *float64             `json:"credits,omitempty"`
	Tokens      *float64             `json:"tokens,omitempty"`
}

// benchExec draws one execution's events: queued at q, started after a
// queue wait, then completed, failed, timed out or cancelled after a run
// time that depends on the agent. The terminal event is left out when it
// would fall after end (the execution is still running).
func benchExec(rng *rand.Rand, ws, agent string, agentIdx int, id string, q, end time.Time) []execution.Event {
	wait := time.Duration(math.Exp(rng.NormFloat64()*0.8+math.Log(300)) * float64(time.Millisecond))
	median := 500.0 * math.Pow(1.25, float64(agentIdx%20)) // 0.5 s to about 35 s
	run := time.Duration(math.Exp(rng.NormFloat64()*0.9+math.Log(median)) * float64(time.Millisecond))
	run = min(run, 30*time.Minute)
	base := execution.Event{ExecutionID: id, WorkspaceID: ws, AgentID: agent,
		WorkerID: "worker-" + strconv.Itoa(rng.IntN(16)), Trigger: []string{"schedule", "api", "webhook"}[rng.IntN(3)]}
	evs := make([]execution.Event, 0, 3)
	e := base
	e.EventID, e.Type, e.Timestamp = id+"-q", execution.Queued, q.Truncate(time.Millisecond)
	evs = append(evs, e)
	st := q.Add(wait).Truncate(time.Millisecond)
	e = base
	e.EventID, e.Type, e.Timestamp = id+"-s", execution.Started, st
	evs = append(evs, e)
	fin := st.Add(run).Truncate(time.Millisecond)
	if fin.After(end) {
		return evs
	}
	e = base
	e.EventID, e.Timestamp = id+"-t", fin
	switch r := rng.Float64(); {
	case r < 0.85:
		e.Type = execution.Completed
	case r < 0.93:
		e.Type = execution.Failed
		e.Error = &execution.ErrorInfo{Type: []string{"rate_limit", "tool_error", "oom", "bad_output"}[rng.IntN(4)], Message: "the agent gave up after 3 attempts"}
	case r < 0.97:
		e.Type = execution.TimedOut
		e.Error = &execution.ErrorInfo{Type: "timeout", Message: "no answer within the time limit"}
	default:
		e.Type = execution.Cancelled
	}
	credits, tokens := math.Round(rng.Float64()*500)/100, float64(200+rng.IntN(8000))
	e.Credits, e.Tokens = &credits, &tokens
	return append(evs, e)
}

func benchToWire(e *execution.Event) benchWire {
	return benchWire{EventID: e.EventID, Type: e.Type, ExecutionID: e.ExecutionID, WorkspaceID: e.WorkspaceID,
		AgentID: e.AgentID, Timestamp: e.Timestamp.Format("2006-01-02T15:04:05.000Z07:00"), WorkerID: e.WorkerID,
		Trigger: e.Trigger, Error: e.Error, Credits: e.Credits, Tokens: e.Tokens}
}

// benchRun makes ids unique across the runs of one test binary.
var benchRun atomic.Int64

// BenchmarkIngestHTTP posts b.N batches of 1,000 events from 4 concurrent
// clients to POST /api/v1/events and reports events per second. Every
// answer is a durable commit (the store syncs on every commit).
func BenchmarkIngestHTTP(b *testing.B) {
	const (
		batch   = 1000
		clients = 4
	)
	s := benchStart(b, "", nil)
	url := "http://" + s.Addr() + "/api/v1/events"
	run := benchRun.Add(1)

	// Executions of 3 workspaces x 10 agents, queued one after another over
	// the day before the last hour, their events cut into batches in order:
	// an execution's events may straddle two batches, as they do when a
	// collector flushes on size.
	rng := rand.New(rand.NewPCG(uint64(run), 7))
	end := time.Now()
	from := end.Add(-25 * time.Hour)
	nExec := b.N*batch/3 + 1
	spacing := 24 * time.Hour / time.Duration(nExec)
	var stream []execution.Event
	for i := 0; len(stream) < b.N*batch; i++ {
		ws, ai := "ws-"+strconv.Itoa(rng.IntN(3)), rng.IntN(10)
		id := fmt.Sprintf("r%d-x%07d", run, i)
		q := from.Add(time.Duration(i)*spacing + time.Duration(rng.Int64N(int64(spacing))))
		stream = append(stream, benchExec(rng, ws, fmt.Sprintf("agent-%02d", ai), ai, id, q, end)...)
	}
	bodies := make([][]byte, b.N)
	var size int64
	for i := range bodies {
		wire := make([]benchWire, batch)
		for j := range wire {
			wire[j] = benchToWire(&stream[i*batch+j])
		}
		body, err := json.Marshal(wire)
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = body
		size += int64(len(body))
	}
	stream = nil
	b.SetBytes(size / int64(b.N)) // MB/s is request body throughput

	post := func(body []byte) error {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+string(benchOperator))
		req.Header.Set("Content-Type", "application/json")
		resp, err := benchHTTP.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		var res struct {
			Accepted int `json:"accepted"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(out, &res) != nil || res.Accepted != batch {
			return fmt.Errorf("POST /api/v1/events: %d %s", resp.StatusCode, out)
		}
		return nil
	}

	work := make(chan []byte, len(bodies))
	for _, body := range bodies {
		work <- body
	}
	close(work)
	var failed atomic.Bool
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range clients {
		wg.Go(func() {
			for body := range work {
				if failed.Load() {
					return
				}
				if err := post(body); err != nil {
					failed.Store(true)
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if failed.Load() {
		b.FailNow()
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// benchQueryWS is the workspace of BenchmarkQuery30d.
const benchQueryWS = "ws-bench"

// benchMarker records, in a kept data directory, what it holds.
type benchMarker struct {
	Executions int       `json:"executions"`
	LoadedAt   time.Time `json:"loaded_at"`
}

// BenchmarkQuery30d loads SHADOWER_BENCH_EXECUTIONS executions (default
// 1,000,000) spread over the last 30 days for one workspace with 20 agents,
// then measures the metrics endpoints through HTTP, one request at a time.
//
// The load feeds the server's ingest service directly (not HTTP) in
// batches of 9,999 events. Set SHADOWER_BENCH_DATA to a directory to keep
// the loaded store there and reuse it in later runs (the server's clock is
// then shifted back to the load time, so the windows see the same data);
// this keeps the load out of a CPU profile of the queries.
func BenchmarkQuery30d(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("SHADOWER_BENCH_EXECUTIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("SHADOWER_BENCH_EXECUTIONS=%q: want a positive whole number", v)
		}
	}
	dir := os.Getenv("SHADOWER_BENCH_DATA")
	var marker *benchMarker
	if dir != "" {
		if raw, err := os.ReadFile(filepath.Join(dir, "bench.json")); err == nil {
			marker = new(benchMarker)
			if err := json.Unmarshal(raw, marker); err != nil {
				b.Fatal(err)
			}
			if marker.Executions != n {
				b.Fatalf("%s holds %d executions, not %d: remove it or set SHADOWER_BENCH_EXECUTIONS=%d", dir, marker.Executions, n, marker.Executions)
			}
		}
	}
	var clock func() time.Time
	if marker != nil {
		shift := time.Since(marker.LoadedAt)
		clock = func() time.Time { return time.Now().Add(-shift) }
	}
	s := benchStart(b, dir, clock)
	if marker == nil {
		loadedAt := benchLoad(b, s, n)
		if dir != "" {
			raw, _ := json.Marshal(benchMarker{Executions: n, LoadedAt: loadedAt})
			if err := os.WriteFile(filepath.Join(dir, "bench.json"), raw, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.Logf("reusing %d executions loaded at %s in %s", n, marker.LoadedAt.Format(time.RFC3339), dir)
	}
	key := benchReadKey(b, s, benchQueryWS)
	base := "http://" + s.Addr() + "/api/v1/metrics/execution"
	benchLogWindow(b, base+"?workspace_id="+benchQueryWS+"&timeframe=30d", key)
	for _, c := range []struct{ name, path, timeframe string }{
		{"all_30d", "", "30d"},
		{"throughput_30d", "/throughput", "30d"},
		{"latency_30d", "/latency", "30d"},
		{"performance_30d", "/performance", "30d"},
		{"comparison_30d", "/comparison", "30d"},
		{"throughput_24h", "/throughput", "24h"},
		{"latency_1h", "/latency", "1h"},
	} {
		url := base + c.path + "?workspace_id=" + benchQueryWS + "&timeframe=" + c.timeframe
		b.Run(c.name, func(b *testing.B) { benchLatency(b, url, key) })
	}
}

// benchLogWindow logs what the 30-day window holds, so a run shows the
// queries read the data loaded.
func benchLogWindow(b *testing.B, url string, key auth.Secret) {
	b.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+string(key))
	resp, err := benchHTTP.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var all struct {
		Throughput struct {
			Total int64 `json:"total"`
		} `json:"throughput"`
		Latency struct {
			Count int64 `json:"count"`
		} `json:"latency"`
		Performance struct {
			ByAgent []json.RawMessage `json:"by_agent"`
		} `json:"performance"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &all) != nil {
		b.Fatalf("GET %s: %d %.300s", url, resp.StatusCode, raw)
	}
	b.Logf("30d window: %d finished executions, %d durations, %d agents; answer %d bytes",
		all.Throughput.Total, all.Latency.Count, len(all.Performance.ByAgent), len(raw))
}

// benchLoad feeds n executions over the 30 days before now to the
// server's ingest service from 3 goroutines, so commits group as under
// concurrent load, then enforces retention as the running server would
// have all along. It returns the time the data is relative to.
func benchLoad(b *testing.B, s *Server, n int) time.Time {
	b.Helper()
	const (
		agents  = 20
		perCall = 3333 // executions per batch: at most 9,999 events
		feeders = 3
	)
	end := s.cfg.Now()
	from := end.Add(-30 * 24 * time.Hour)
	spacing := (30*24*time.Hour - 10*time.Minute) / time.Duration(n)
	batches := make(chan []*execution.Event, feeders)
	go func() {
		defer close(batches)
		rng := rand.New(rand.NewPCG(42, 42))
		for lo := 0; lo < n; lo += perCall {
			var evs []*execution.Event
			for i := lo; i < min(lo+perCall, n); i++ {
				ai := rng.IntN(agents)
				q := from.Add(time.Duration(i)*spacing + time.Duration(rng.Int64N(int64(spacing))))
				for _, e := range benchExec(rng, benchQueryWS, fmt.Sprintf("agent-%02d", ai), ai, fmt.Sprintf("x%08d", i), q, end) {
					evs = append(evs, &e)
				}
			}
			batches <- evs
		}
	}()
	t0 := time.Now()
	var events atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range feeders {
		wg.Go(func() {
			for evs := range batches {
				res, err := s.ingest.Ingest(context.Background(), evs)
				for execution.ErrorCode(err) == execution.EOverloaded {
					time.Sleep(50 * time.Millisecond) // the writer's queue is full: wait, as a client would
					res, err = s.ingest.Ingest(context.Background(), evs)
				}
				if err == nil && res.Accepted != len(evs) {
					err = fmt.Errorf("accepted %d of %d events", res.Accepted, len(evs))
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				events.Add(int64(len(evs)))
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	took := time.Since(t0)
	b.Logf("loaded %d executions (%d events) in %v: %.0f events/s", n, events.Load(), took.Round(time.Second), float64(events.Load())/took.Seconds())
	t1 := time.Now()
	s.expire()
	b.Logf("retention pass after the load took %v", time.Since(t1).Round(time.Millisecond))
	if fi, err := os.Stat(s.db.Path()); err == nil {
		b.Logf("store file %.0f MiB", float64(fi.Size())/(1<<20))
	}
	return end
}

// BenchmarkRealtime10k measures GET /api/v1/metrics/execution/realtime
// with 10,000 executions running in one workspace.
func BenchmarkRealtime10k(b *testing.B) {
	const (
		running = 10_000
		ws      = "ws-live"
	)
	s := benchStart(b, "", nil)
	rng := rand.New(rand.NewPCG(10_000, 1))
	end := time.Now()
	var evs []*execution.Event
	for i := range running {
		evs = append(evs, &execution.Event{
			EventID: fmt.Sprintf("x%05d-s", i), Type: execution.Started, ExecutionID: fmt.Sprintf("x%05d", i),
			WorkspaceID: ws, AgentID: fmt.Sprintf("agent-%02d", rng.IntN(20)), WorkerID: "worker-" + strconv.Itoa(rng.IntN(64)),
			Timestamp: end.Add(-time.Duration(rng.Int64N(int64(30 * time.Minute)))).Truncate(time.Millisecond),
		})
	}
	for lo := 0; lo < running; lo += 1000 {
		if res, err := s.ingest.Ingest(context.Background(), evs[lo:lo+1000]); err != nil || res.Accepted != 1000 {
			b.Fatalf("ingest: %+v %v", res, err)
		}
	}
	key := benchReadKey(b, s, ws)
	url := "http://" + s.Addr() + "/api/v1/metrics/execution/realtime?workspace_id=" + ws
	var snap struct {
		Running int `json:"running"`
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+string(key))
	if resp, err := benchHTTP.Do(req); err != nil {
		b.Fatal(err)
	} else {
		err := json.NewDecoder(resp.Body).Decode(&snap)
		resp.Body.Close()
		if err != nil || snap.Running != running {
			b.Fatalf("realtime shows %d running, want %d (%v)", snap.Running, running, err)
		}
	}
	benchLatency(b, url, key)
}
