package app

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/auth"
	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/rollup/rolluptest"
	"github.com/shadower/shadower/internal/store/pgtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// now is the fixed present of these tests, so answers are reproducible.
var now = time.Date(2026, 3, 4, 12, 7, 30, 0, time.UTC)

const operator = auth.Secret("test-operator-key")

func start(t *testing.T, dir string) *Server {
	t.Helper()
	return startLogging(t, dir, io.Discard)
}

// onPostgres runs the suite on PostgreSQL instead of the embedded store:
// SHADOWER_TEST_STORE=postgres (the test script runs it both ways).
var onPostgres = os.Getenv("SHADOWER_TEST_STORE") == "postgres"

// pgFor maps a test's data directory to its database, so a restart on the
// same directory finds the same data.
var pgFor = map[string]string{}

// storeConfig points cfg at dir's store: the directory itself, or a fresh
// PostgreSQL database standing for it.
func storeConfig(t *testing.T, cfg *Config, dir string) {
	t.Helper()
	if !onPostgres {
		cfg.Data = dir
		return
	}
	if pgFor[dir] == "" {
		pgFor[dir] = pgtest.FreshDSN(t)
	}
	cfg.DB = pgFor[dir]
}

func startLogging(t *testing.T, dir string, logs io.Writer) *Server {
	t.Helper()
	cfg := Config{
		Addr: "127.0.0.1:0", AdminKey: operator, Now: func() time.Time { return now }, Quiet: true,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	storeConfig(t, &cfg, dir)
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func stop(t *testing.T, s *Server) {
	t.Helper()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type client struct {
	t    *testing.T
	base string
}

func (c client) do(method, path string, key auth.Secret, body []byte, out any) int {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+string(key))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// raw is the answer to a GET, without the host's figures (the machine's
// load, never the same twice), for comparing answers byte for byte.
func (c client) raw(path string, key auth.Secret) []byte {
	c.t.Helper()
	var m json.RawMessage
	if code := c.do("GET", path, key, nil, &m); code != 200 {
		c.t.Fatalf("GET %s: %d %s", path, code, m)
	}
	return hostSection.ReplaceAll(m, []byte(`"host":{}`))
}

// world is a generated history with its exact truth.
type world struct {
	batches [][]execution.Event
	execs   map[string]*truth // by workspace/execution
}

type truth struct {
	ws, agent          string
	queued, started    time.Time
	finished           time.Time
	status             execution.Status
	errType            string
	conflictsAfterward int
}

var agents = []string{"classifier", "summarizer", "researcher", "coder"}

// generate makes executions over the last 3 days in two workspaces, sends
// their events shuffled across batches, with duplicates and extra terminal
// events, and records the truth as the server must see it: the first
// terminal event to arrive wins.
func generate(seed uint64) *world {
	rng := rand.New(rand.NewPCG(seed, 1))
	w := &world{}
	var all []execution.Event
	n := 0
	add := func(e execution.Event) { n++; e.EventID = fmt.Sprintf("ev-%d", n); all = append(all, e) }
	terminals := []execution.Type{execution.Completed, execution.Completed, execution.Completed, execution.Completed,
		execution.Failed, execution.TimedOut, execution.Cancelled}
	errTypes := []string{"rate_limit", "tool_error", "oom"}
	for i := 0; i < 3000; i++ {
		ws := []string{"alpha", "beta"}[rng.IntN(2)]
		ai := rng.IntN(len(agents))
		id := fmt.Sprintf("x%d", i)
		q := now.Add(-time.Duration(rng.Float64() * float64(72*time.Hour))).Truncate(time.Millisecond)
		wait := time.Duration(math.Exp(rng.NormFloat64()*0.8+6) * float64(time.Millisecond))
		run := time.Duration(math.Exp(rng.NormFloat64()*1.0+float64(ai)*1.5+6) * float64(time.Millisecond))
		base := execution.Event{ExecutionID: id, WorkspaceID: ws, AgentID: agents[ai], WorkerID: fmt.Sprintf("w%d", rng.IntN(5))}
		e := base
		e.Type, e.Timestamp = execution.Queued, q
		add(e)
		st := q.Add(wait)
		if st.After(now) {
			continue // still queued
		}
		e = base
		e.Type, e.Timestamp = execution.Started, st
		add(e)
		fin := st.Add(run)
		if fin.After(now) {
			continue // still running
		}
		term := terminals[rng.IntN(len(terminals))]
		e = base
		e.Type, e.Timestamp = term, fin
		if term == execution.Failed || term == execution.TimedOut {
			e.Error = &execution.ErrorInfo{Type: errTypes[rng.IntN(len(errTypes))], Message: "boom"}
		}
		add(e)
		if rng.IntN(20) == 0 { // a second, conflicting terminal event
			e2 := base
			e2.Type, e2.Timestamp = execution.Cancelled, fin.Add(time.Second)
			if e2.Timestamp.After(now) {
				e2.Timestamp = now
			}
			add(e2)
		}
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for len(all) > 0 {
		k := min(len(all), 400)
		batch := append([]execution.Event(nil), all[:k]...)
		all = all[k:]
		if len(w.batches) > 0 && rng.IntN(3) == 0 { // resend part of an earlier batch
			prev := w.batches[rng.IntN(len(w.batches))]
			batch = append(batch, prev[:20]...)
		}
		w.batches = append(w.batches, batch)
	}
	w.learn()
	return w
}

// learn works out the truth from the batches, in arrival order.
func (w *world) learn() {
	w.execs = map[string]*truth{}
	seen := map[string]bool{}
	for _, b := range w.batches {
		for _, e := range b {
			if seen[e.WorkspaceID+"/"+e.EventID] {
				continue
			}
			seen[e.WorkspaceID+"/"+e.EventID] = true
			k := e.WorkspaceID + "/" + e.ExecutionID
			x := w.execs[k]
			if x == nil {
				x = &truth{ws: e.WorkspaceID, agent: e.AgentID}
				w.execs[k] = x
			}
			switch {
			case e.Type == execution.Queued:
				x.queued = e.Timestamp
			case e.Type == execution.Started:
				x.started = e.Timestamp
			case e.Type.Terminal() && x.status == "":
				x.finished, x.status = e.Timestamp, execution.Status(e.Type)
				if e.Error != nil {
					x.errType = e.Error.Type
				}
			case e.Type.Terminal():
				x.conflictsAfterward++
			}
		}
	}
}

// nearestRank is the exact nearest-rank quantile of sorted values.
func nearestRank(sorted []float64, q float64) float64 {
	r := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(r, len(sorted)-1))]
}

func within1pct(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: null, want %v", what, want)
	}
	if math.Abs(*got-want) > 0.01*math.Abs(want)+1e-9 {
		t.Fatalf("%s: %v, want %v (±1%%)", what, *got, want)
	}
}

type oracle struct {
	total, completed, failed, timedOut, cancelled, started int64
	durations, waits                                       []float64
	errors                                                 map[string]int64
}

func (w *world) oracle(ws string, from, to time.Time, agent string) oracle {
	o := oracle{errors: map[string]int64{}}
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	for _, x := range w.execs {
		if x.ws != ws || (agent != "" && x.agent != agent) {
			continue
		}
		if in(x.started) {
			o.started++
			if !x.queued.IsZero() {
				o.waits = append(o.waits, execution.Millis(x.started.Sub(x.queued)))
			}
		}
		if x.status == "" || !in(x.finished) {
			continue
		}
		o.total++
		switch x.status {
		case execution.StatusCompleted:
			o.completed++
		case execution.StatusFailed:
			o.failed++
		case execution.StatusTimedOut:
			o.timedOut++
		case execution.StatusCancelled:
			o.cancelled++
		}
		if x.errType != "" {
			o.errors[x.errType]++
		}
		if !x.started.IsZero() {
			o.durations = append(o.durations, execution.Millis(x.finished.Sub(x.started)))
		}
	}
	sort.Float64s(o.durations)
	sort.Float64s(o.waits)
	return o
}

type throughputJSON struct {
	From, To                  time.Time
	Total, Started, Completed int64
	Failed                    int64
	TimedOut                  int64 `json:"timed_out"`
	Cancelled                 int64
	Series                    []struct{ Total, Started int64 }
}

type latencyJSON struct {
	Count        int64
	MinMs        *float64 `json:"min_ms"`
	MaxMs        *float64 `json:"max_ms"`
	P50Ms        *float64 `json:"p50_ms"`
	P75Ms        *float64 `json:"p75_ms"`
	P90Ms        *float64 `json:"p90_ms"`
	P95Ms        *float64 `json:"p95_ms"`
	P99Ms        *float64 `json:"p99_ms"`
	Distribution []struct{ Count uint64 }
	QueueWait    struct {
		Count int64
		P50Ms *float64 `json:"p50_ms"`
		P95Ms *float64 `json:"p95_ms"`
	} `json:"queue_wait"`
}

type performanceJSON struct {
	Total       int64
	SuccessRate *float64 `json:"success_rate"`
	ByAgent     []struct {
		AgentID string `json:"agent_id"`
		Total   int64
		P95Ms   *float64 `json:"p95_ms"`
		P99Ms   *float64 `json:"p99_ms"`
	} `json:"by_agent"`
	ByErrorType []struct {
		ErrorType string `json:"error_type"`
		Count     int64
	} `json:"by_error_type"`
	ByHour []struct{ Total int64 } `json:"by_hour"`
}

func checkWindow(t *testing.T, c client, w *world, ws, query, agent string) {
	t.Helper()
	var th throughputJSON
	c.do("GET", "/api/v1/metrics/execution/throughput?workspace_id="+ws+"&"+query, operator, nil, &th)
	o := w.oracle(ws, th.From, th.To, agent)
	if th.Total != o.total || th.Completed != o.completed || th.Failed != o.failed || th.TimedOut != o.timedOut ||
		th.Cancelled != o.cancelled || th.Started != o.started {
		t.Fatalf("%s %s: throughput %+v, want total %d completed %d failed %d timed_out %d cancelled %d started %d",
			ws, query, th, o.total, o.completed, o.failed, o.timedOut, o.cancelled, o.started)
	}
	var seriesTotal int64
	for _, p := range th.Series {
		seriesTotal += p.Total
	}
	if seriesTotal != o.total {
		t.Fatalf("%s %s: series adds up to %d, want %d", ws, query, seriesTotal, o.total)
	}

	var l latencyJSON
	c.do("GET", "/api/v1/metrics/execution/latency?workspace_id="+ws+"&"+query, operator, nil, &l)
	if l.Count != int64(len(o.durations)) {
		t.Fatalf("%s %s: latency count %d, want %d", ws, query, l.Count, len(o.durations))
	}
	if len(o.durations) > 0 {
		if *l.MinMs != math.Round(o.durations[0]*1000)/1000 || *l.MaxMs != math.Round(o.durations[len(o.durations)-1]*1000)/1000 {
			t.Fatalf("%s %s: min/max %v/%v, want %v/%v", ws, query, *l.MinMs, *l.MaxMs, o.durations[0], o.durations[len(o.durations)-1])
		}
		for _, q := range []struct {
			q   float64
			got *float64
		}{{0.5, l.P50Ms}, {0.75, l.P75Ms}, {0.9, l.P90Ms}, {0.95, l.P95Ms}, {0.99, l.P99Ms}} {
			within1pct(t, fmt.Sprintf("%s %s p%v", ws, query, q.q*100), q.got, nearestRank(o.durations, q.q))
		}
		var histTotal uint64
		for _, b := range l.Distribution {
			histTotal += b.Count
		}
		if histTotal != uint64(l.Count) {
			t.Fatalf("distribution holds %d, want %d", histTotal, l.Count)
		}
	}
	if l.QueueWait.Count != int64(len(o.waits)) {
		t.Fatalf("%s %s: queue wait count %d, want %d", ws, query, l.QueueWait.Count, len(o.waits))
	}
	if len(o.waits) > 0 {
		within1pct(t, "queue wait p95", l.QueueWait.P95Ms, nearestRank(o.waits, 0.95))
		within1pct(t, "queue wait p50", l.QueueWait.P50Ms, nearestRank(o.waits, 0.5))
	}

	var p performanceJSON
	c.do("GET", "/api/v1/metrics/execution/performance?workspace_id="+ws+"&"+query, operator, nil, &p)
	if p.Total != o.total {
		t.Fatalf("performance total %d, want %d", p.Total, o.total)
	}
	if den := o.completed + o.failed + o.timedOut; den > 0 {
		if want := float64(o.completed) / float64(den); p.SuccessRate == nil || math.Abs(*p.SuccessRate-want) > 1e-12 {
			t.Fatalf("success rate %v, want %v", p.SuccessRate, want)
		}
	}
	for _, e := range p.ByErrorType {
		if e.Count != o.errors[e.ErrorType] {
			t.Fatalf("error %s: %d, want %d", e.ErrorType, e.Count, o.errors[e.ErrorType])
		}
	}
	if len(p.ByErrorType) != len(o.errors) {
		t.Fatalf("%d error types, want %d", len(p.ByErrorType), len(o.errors))
	}
	var hours int64
	for _, h := range p.ByHour {
		hours += h.Total
	}
	if hours != o.total {
		t.Fatalf("by_hour adds up to %d, want %d", hours, o.total)
	}
	for _, a := range p.ByAgent {
		ao := w.oracle(ws, th.From, th.To, a.AgentID)
		if a.Total != ao.total {
			t.Fatalf("agent %s total %d, want %d", a.AgentID, a.Total, ao.total)
		}
		if len(ao.durations) > 0 {
			within1pct(t, a.AgentID+" p95", a.P95Ms, nearestRank(ao.durations, 0.95))
			within1pct(t, a.AgentID+" p99", a.P99Ms, nearestRank(ao.durations, 0.99))
		}
	}
}

// TestEndToEnd boots the real server, ingests a shuffled history with
// duplicates and conflicts over HTTP, checks every window answer against the
// exact truth, then restarts and expects identical answers.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	c := client{t: t, base: "http://" + s.Addr()}
	w := generate(7)

	var accepted, duplicates, conflicts int
	for _, b := range w.batches {
		body, _ := json.Marshal(b)
		var res struct{ Accepted, Duplicates, Conflicts int }
		if code := c.do("POST", "/api/v1/events", operator, body, &res); code != 200 {
			t.Fatalf("ingest: %d", code)
		}
		accepted += res.Accepted
		duplicates += res.Duplicates
		conflicts += res.Conflicts
	}
	var events, extra, wantConflicts int
	for _, b := range w.batches {
		events += len(b)
	}
	for _, x := range w.execs {
		wantConflicts += x.conflictsAfterward
	}
	seen := map[string]bool{}
	for _, b := range w.batches {
		for _, e := range b {
			if seen[e.WorkspaceID+e.EventID] {
				extra++
			}
			seen[e.WorkspaceID+e.EventID] = true
		}
	}
	if accepted != events-extra || duplicates != extra || conflicts != wantConflicts {
		t.Fatalf("accepted %d duplicates %d conflicts %d, want %d %d %d", accepted, duplicates, conflicts, events-extra, extra, wantConflicts)
	}

	queries := []string{"timeframe=1h", "timeframe=24h", "timeframe=7d", "timeframe=30d", "timeframe=90d",
		"timeframe=24h&step=3600", "from=2026-03-02T10:17:00Z&to=2026-03-03T03:00:00Z&step=300"}
	for _, ws := range []string{"alpha", "beta"} {
		for _, q := range queries {
			checkWindow(t, c, w, ws, q, "")
		}
		checkWindow(t, c, w, ws, "timeframe=7d&agent_id=coder", "coder")
	}
	checkRealtime(t, c, w)
	for _, ws := range []string{"alpha", "beta"} {
		rolluptest.MatchRaw(t, s.DB(), ws, now.Add(-5*24*time.Hour).Truncate(24*time.Hour), now.Add(24*time.Hour).Truncate(24*time.Hour))
	}

	paths := []string{
		"/api/v1/metrics/execution?workspace_id=alpha&timeframe=24h",
		"/api/v1/metrics/execution?workspace_id=beta&timeframe=7d&agent_id=coder&agent_id=researcher&tz=Asia/Kolkata",
		"/api/v1/executions?workspace_id=alpha&limit=5",
		"/api/v1/executions?workspace_id=alpha&status=failed&timeframe=24h&limit=3",
	}
	before := map[string][]byte{}
	for _, p := range paths {
		before[p] = c.raw(p, operator)
	}
	checkGolden(t, before)
	stop(t, s)

	s = start(t, dir)
	defer stop(t, s)
	c.base = "http://" + s.Addr()
	for _, p := range paths {
		if after := c.raw(p, operator); !bytes.Equal(after, before[p]) {
			i := 0
			for i < len(after) && i < len(before[p]) && after[i] == before[p][i] {
				i++
			}
			lo := max(i-200, 0)
			t.Fatalf("%s changed across a restart at byte %d:\nbefore …%s\nafter  …%s", p, i, before[p][lo:min(i+200, len(before[p]))], after[lo:min(i+200, len(after))])
		}
	}
}

// TestLateEventsReachLongWindows: what long windows read of days that have
// ended is kept between requests; events arriving late for those days must
// still be in the very next answer.
func TestLateEventsReachLongWindows(t *testing.T) {
	s := start(t, t.TempDir())
	defer stop(t, s)
	c := client{t: t, base: "http://" + s.Addr()}
	w := generate(13)
	post := func(batches [][]execution.Event) {
		for _, b := range batches {
			body, _ := json.Marshal(b)
			if code := c.do("POST", "/api/v1/events", operator, body, nil); code != 200 {
				t.Fatalf("ingest: %d", code)
			}
		}
	}
	post(w.batches)
	queries := []string{"timeframe=7d", "timeframe=30d", "timeframe=90d", "timeframe=30d&agent_id=coder"}
	check := func() {
		for _, q := range queries {
			agent := ""
			if strings.Contains(q, "agent_id=") {
				agent = "coder"
			}
			checkWindow(t, c, w, "alpha", q, agent)
		}
	}
	check()
	check() // answered from what the first asks kept

	// Failures of up to 40 hours that ended 2 to 21 days ago, sent now.
	var late []execution.Event
	for i := range 40 {
		fin := now.Add(-time.Duration(2+i%20) * 24 * time.Hour).Truncate(time.Millisecond)
		base := execution.Event{ExecutionID: fmt.Sprintf("late-%d", i), WorkspaceID: "alpha", AgentID: "coder", WorkerID: "w1"}
		e := base
		e.EventID, e.Type, e.Timestamp = fmt.Sprintf("late-start-%d", i), execution.Started, fin.Add(-time.Duration(i+1)*time.Hour)
		late = append(late, e)
		e = base
		e.EventID, e.Type, e.Timestamp = fmt.Sprintf("late-end-%d", i), execution.Failed, fin
		e.Error = &execution.ErrorInfo{Type: "late_error", Message: "arrived late"}
		late = append(late, e)
	}
	w.batches = append(w.batches, late)
	w.learn()
	post([][]execution.Event{late})
	check()
}

func checkRealtime(t *testing.T, c client, w *world) {
	t.Helper()
	var rt struct {
		Running, Queued   int
		RunningExecutions []struct {
			ExecutionID string `json:"execution_id"`
		} `json:"running_executions"`
	}
	c.do("GET", "/api/v1/metrics/execution/realtime?workspace_id=alpha", operator, nil, &rt)
	var running, queued int
	for _, x := range w.execs {
		if x.ws != "alpha" || x.status != "" {
			continue
		}
		if !x.started.IsZero() {
			running++
		} else {
			queued++
		}
	}
	if rt.Running != running || rt.Queued != queued || len(rt.RunningExecutions) != min(running, 50) {
		t.Fatalf("realtime running %d queued %d listed %d, want %d %d", rt.Running, rt.Queued, len(rt.RunningExecutions), running, queued)
	}
}

// hostSection is the service's own host in the resources section.
var hostSection = regexp.MustCompile(`"host":\{[^{}]*\}`)

// checkGolden compares answers with testdata/*.json (go test -update rewrites them).
func checkGolden(t *testing.T, answers map[string][]byte) {
	t.Helper()
	for p, b := range answers {
		name := strings.NewReplacer("/api/v1/", "", "/", "_", "?", "_", "&", "_", "=", "-").Replace(p)
		file := filepath.Join("testdata", name+".json")
		var pretty bytes.Buffer
		json.Indent(&pretty, b, "", "  ")
		if *update {
			os.MkdirAll("testdata", 0o755)
			if err := os.WriteFile(file, pretty.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/app -update to create it)", err)
		}
		if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(pretty.Bytes())) {
			t.Fatalf("%s differs from %s; if the change is intended, rerun with -update", p, file)
		}
	}
}

// TestRebuildRollups erases a day of rollups, sees the answers change, and
// rebuilds them from raw rows to the exact answers of before.
func TestRebuildRollups(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	c := client{t: t, base: "http://" + s.Addr()}
	for _, b := range generate(11).batches {
		body, _ := json.Marshal(b)
		if code := c.do("POST", "/api/v1/events", operator, body, nil); code != 200 {
			t.Fatal(code)
		}
	}
	path := "/api/v1/metrics/execution?workspace_id=alpha&timeframe=7d"
	before := c.raw(path, operator)
	stop(t, s)

	// Like a rebuild, the erasure runs while the server is stopped.
	cfg := Config{Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	storeConfig(t, &cfg, dir)
	db, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	day := now.Truncate(24 * time.Hour).Add(-24 * time.Hour)
	if err := db.ReplaceRollups(context.Background(), "alpha", day, day.Add(24*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = start(t, dir)
	c.base = "http://" + s.Addr()
	if bytes.Equal(c.raw(path, operator), before) {
		t.Fatal("erasing a day of rollups changed nothing; the test proves nothing")
	}
	stop(t, s)

	var out bytes.Buffer
	if err := RebuildRollups(context.Background(), cfg, now.Add(-4*24*time.Hour), now, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "alpha:") || !strings.Contains(out.String(), "beta:") {
		t.Fatalf("rebuild said %q", out.String())
	}
	s = start(t, dir)
	defer stop(t, s)
	c.base = "http://" + s.Addr()
	if after := c.raw(path, operator); !bytes.Equal(after, before) {
		t.Fatalf("after the rebuild:\n%s\nbefore:\n%s", after, before)
	}
	if err := RebuildRollups(context.Background(), cfg, now.Add(-40*24*time.Hour), now, io.Discard); err == nil {
		t.Fatal("a rebuild older than the raw retention was allowed")
	}
}
