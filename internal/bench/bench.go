// Package bench is `shadower bench`: it starts the real server in a child
// process, loads a generated workload through the HTTP ingest path from
// this process, and measures what the service's targets are about: ingest
// rate, the latency of every metrics endpoint over 1 hour to 90 days as the
// store grows, percentile error against exact values, realtime with many
// executions running, WebSocket fan-out, the server's memory throughout,
// and the same questions answered the naive way in PostgreSQL.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// Options says what to run.
type Options struct {
	Bin     string // the shadower binary to serve with
	Dir     string // where the embedded store goes (a temporary directory when empty)
	Sizes   []int  // executions stored at each measurement, growing
	Batch   int    // events per ingest request
	Clients int    // concurrent ingest clients
	Repeat  int    // requests per endpoint and window
	Running int    // executions running for the realtime measurement
	// Live executions are posted as live traffic after the stages
	// (Workload.LiveBatch), finishing over the last liveSpan.
	Live int
	// WSClients WebSockets follow the workspace for WSRounds seconds of
	// one change a second.
	WSClients, WSRounds int
	// PG is a PostgreSQL server URL (a database the bench may create
	// databases from); empty skips the PostgreSQL store and the naive design.
	PG           string
	PGExecutions int  // executions loaded into the PostgreSQL store
	NaiveRepeat  int  // runs of each naive query
	RandomIDs    bool // Workload.RandomIDs
	Log          io.Writer
}

// Quick is a run of under two minutes here.
func Quick() Options {
	return Options{Sizes: []int{30_000, 90_000}, Batch: 1000, Clients: 4, Repeat: 30, Running: 10_000,
		Live: 30_000, WSClients: 2000, WSRounds: 10, PGExecutions: 30_000, NaiveRepeat: 3}
}

// Full is the run the documented figures come from.
func Full() Options {
	return Options{Sizes: []int{1_000_000, 3_000_000, 10_000_000}, Batch: 1000, Clients: 4, Repeat: 100,
		Running: 10_000, Live: 1_000_000, WSClients: 10_000, WSRounds: 60, PGExecutions: 1_000_000, NaiveRepeat: 3}
}

// Result is everything measured.
type Result struct {
	Started  time.Time  `json:"started"`
	Seconds  float64    `json:"seconds"`
	Machine  Machine    `json:"machine"`
	Workload Workload   `json:"workload"`
	Stages   []Stage    `json:"stages"`
	Accuracy []Accuracy `json:"accuracy"`
	Realtime *Latency   `json:"realtime_10k_running"`
	// Live is the ingest of live traffic on top of the last stage's store.
	Live       *LiveResult   `json:"live_ingest,omitempty"`
	Fanout     *FanoutResult `json:"fanout"`
	Postgres   *PGResult     `json:"postgres,omitempty"`
	Naive      []NaiveRow    `json:"naive,omitempty"`
	MaxRSS     int64         `json:"server_rss_max_bytes"`
	Executions int           `json:"executions"`
}

// Stage is the embedded store at one size: the load that brought it
// there, and every endpoint's latency.
type Stage struct {
	Executions int                `json:"executions"`
	Ingest     IngestResult       `json:"ingest"`
	Queries    map[string]Latency `json:"queries"` // by "section window", e.g. "all 30d"
	RSSMax     int64              `json:"server_rss_max_bytes"`
	StoreBytes int64              `json:"store_bytes"`
}

// LiveResult is the ingest of live traffic.
type LiveResult struct {
	IngestResult
	Executions int    `json:"executions"`
	Span       string `json:"finishing_over"`
}

// PGResult is the PostgreSQL store's figures.
type PGResult struct {
	Executions int                `json:"executions"`
	Ingest     IngestResult       `json:"ingest"`
	Queries    map[string]Latency `json:"queries"`
	Live       *LiveResult        `json:"live_ingest,omitempty"`
}

// NaiveRow sets a question's naive answer time beside the service's.
type NaiveRow struct {
	Query   string  `json:"query"`
	NaiveMs float64 `json:"naive_median_ms"`
	OursMs  float64 `json:"ours_p50_ms"`
	Ratio   float64 `json:"ratio"`
}

// Machine is where the run happened.
type Machine struct {
	CPUs     int    `json:"cpus"`
	Model    string `json:"cpu_model"`
	MemBytes int64  `json:"memory_bytes"`
	Go       string `json:"go"`
}

// Sections and windows measured at each stage.
var (
	sections = []string{"all", "realtime", "throughput", "latency", "performance", "comparison", "queue", "resources", "patterns", "forecast"}
	windows  = []string{"1h", "24h", "30d", "90d"}
)

const (
	operator = "bench-operator"
	queried  = "ws-0"
)

// Run runs the benchmark and returns its figures.
func Run(ctx context.Context, o Options) (*Result, error) {
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, time.Now().Format("15:04:05 ")+format+"\n", args...)
		}
	}
	r := &Result{Started: time.Now().UTC(), Machine: machine()}
	began := time.Now()
	w := Workload{Seed: 1, Workspaces: 3, Agents: 10, Span: 90 * 24 * time.Hour, End: time.Now().UTC().Add(-time.Minute), Sizes: o.Sizes,
		RandomIDs: o.RandomIDs}
	r.Workload = w
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "shadower-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	srv, key, err := startServer(ctx, o.Bin, "--data", dir)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()

	loaded := 0
	for _, size := range o.Sizes {
		logf("loading executions %d to %d (%d events) over HTTP", loaded, size, 3*(size-loaded))
		in, err := loadEvents(ctx, srv, operator, w, 3*loaded, 3*size, o.Batch, o.Clients)
		if err != nil {
			return nil, err
		}
		loaded = size
		logf("  %.0f events/s; server RSS up to %d MiB", in.EventsPerSec, in.ServerRSSMax>>20)
		st := Stage{Executions: size, Ingest: in, StoreBytes: dirSize(dir)}
		srv.ResetMaxRSS()
		if st.Queries, err = queries(ctx, srv.Base, key, o.Repeat, logf); err != nil {
			return nil, err
		}
		st.RSSMax = srv.MaxRSS()
		r.Stages = append(r.Stages, st)
	}
	r.Executions = loaded

	logf("checking percentiles against exact values")
	if r.Accuracy, err = accuracy(ctx, srv.Base, key, w, loaded); err != nil {
		return nil, err
	}
	logf("realtime with %d running", o.Running)
	if r.Realtime, err = realtimeRunning(ctx, srv.Base, key, w, o.Running, o.Repeat); err != nil {
		return nil, err
	}
	if o.Live > 0 {
		if r.Live, err = liveTraffic(ctx, srv, o, w, loaded, logf); err != nil {
			return nil, err
		}
	}
	if o.WSClients > 0 {
		logf("WebSocket fan-out: %d clients, %d rounds", o.WSClients, o.WSRounds)
		n := 0
		change := func(ctx context.Context) (time.Time, error) {
			n++
			body := fmt.Sprintf(`[{"event_id":"fan-%d","type":"started","execution_id":"fan-%d","workspace_id":%q,"agent_id":"agent-0","timestamp":%q}]`,
				n, n, queried, time.Now().UTC().Format(time.RFC3339Nano))
			err := post(ctx, srv.Base, "/api/v1/events", operator, []byte(body), nil)
			return time.Now(), err
		}
		fr, err := Fanout(ctx, srv, queried, key, o.WSClients, o.WSRounds, change)
		if err != nil && fr.Connected == 0 {
			return nil, err
		}
		if err != nil {
			// Some clients could not connect: the others were measured,
			// and the figures say how many.
			logf("  %v", err)
		}
		r.Fanout = &fr
	}
	r.MaxRSS = srv.MaxRSS()
	for _, st := range r.Stages {
		r.MaxRSS = max(r.MaxRSS, st.RSSMax, st.Ingest.ServerRSSMax)
	}
	if r.Live != nil {
		r.MaxRSS = max(r.MaxRSS, r.Live.ServerRSSMax)
	}

	if o.PG != "" {
		if r.Postgres, err = postgresStore(ctx, o, w, logf); err != nil {
			return nil, err
		}
		if r.Naive, err = naive(ctx, o, w, loaded, r.Stages[len(r.Stages)-1], logf); err != nil {
			return nil, err
		}
	}
	r.Seconds = round2(time.Since(began).Seconds())
	return r, nil
}

// startServer serves on a free port of the loopback interface and creates
// a read key of the queried workspace, as a dashboard uses. The caller
// stops the server.
func startServer(ctx context.Context, bin string, args ...string) (*Process, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := l.Addr().String()
	l.Close()
	// No per-workspace rate limit: the load is the point.
	srv, err := StartServer(ctx, bin, addr, operator, append(args, "--workspace-rate", "0", "--log-level", "warn")...)
	if err != nil {
		return nil, "", err
	}
	var k struct {
		Key string `json:"key"`
	}
	if err := post(ctx, srv.Base, "/api/v1/workspaces/"+queried+"/keys", operator, []byte(`{"scope":"read"}`), &k); err != nil {
		srv.Stop()
		return nil, "", err
	}
	return srv, k.Key, nil
}

// requestNames are the requests measured at each stage: every section
// over every window ("all 30d"), and realtime and forecast, which take none.
func requestNames() []string {
	var names []string
	for _, s := range sections {
		if s == "realtime" || s == "forecast" {
			names = append(names, s)
			continue
		}
		for _, win := range windows {
			names = append(names, s+" "+win)
		}
	}
	return names
}

// queries measures every request of requestNames.
func queries(ctx context.Context, base, key string, repeat int, logf func(string, ...any)) (map[string]Latency, error) {
	names := requestNames()
	urls := make([]string, len(names))
	for i, name := range names {
		s, win, _ := strings.Cut(name, " ")
		urls[i] = base + "/api/v1/metrics/execution/" + s + "?workspace_id=" + queried
		if s == "all" {
			urls[i] = base + "/api/v1/metrics/execution?workspace_id=" + queried
		}
		if win != "" {
			urls[i] += "&timeframe=" + win
		}
	}
	ls, err := measure(ctx, urls, key, repeat)
	if err != nil {
		return nil, err
	}
	out := map[string]Latency{}
	for i, name := range names {
		out[name] = ls[i]
		logf("  %-22s p50 %7.2f ms  p99 %7.2f ms", name, ls[i].P50Ms, ls[i].P99Ms)
	}
	return out, nil
}

// realtimeRunning starts n executions that do not finish and measures the
// realtime section.
func realtimeRunning(ctx context.Context, base, key string, w Workload, n, repeat int) (*Latency, error) {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for lo := 0; lo < n; lo += 1000 {
		b := []byte{'['}
		for i := lo; i < min(lo+1000, n); i++ {
			if i > lo {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, `{"event_id":"run-%d","type":"started","execution_id":"run-%d","workspace_id":%q,"agent_id":"agent-%d","worker_id":"w-%d","timestamp":%q}`,
				i, i, queried, i%w.Agents, i%50, now)
		}
		if err := post(ctx, base, "/api/v1/events", operator, append(b, ']'), nil); err != nil {
			return nil, err
		}
	}
	ls, err := measure(ctx, []string{base + "/api/v1/metrics/execution/realtime?workspace_id=" + queried}, key, repeat*3)
	if err != nil {
		return nil, err
	}
	return &ls[0], nil
}

// postgresStore loads the PostgreSQL store and measures it.
func postgresStore(ctx context.Context, o Options, w Workload, logf func(string, ...any)) (*PGResult, error) {
	name := "shadower_bench_" + randomHex()
	if err := createDatabase(ctx, o.PG, name); err != nil {
		return nil, err
	}
	defer dropDatabase(context.Background(), o.PG, name)
	srv, key, err := startServer(ctx, o.Bin, "--db", withDatabase(o.PG, name))
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	w.Sizes = []int{o.PGExecutions} // one sweep of the span
	logf("PostgreSQL: loading %d executions (%d events) over HTTP", o.PGExecutions, 3*o.PGExecutions)
	in, err := loadEvents(ctx, srv, operator, w, 0, 3*o.PGExecutions, o.Batch, o.Clients)
	if err != nil {
		return nil, err
	}
	logf("  %.0f events/s", in.EventsPerSec)
	res := &PGResult{Executions: o.PGExecutions, Ingest: in}
	if res.Queries, err = queries(ctx, srv.Base, key, o.Repeat, logf); err != nil {
		return nil, err
	}
	if o.Live > 0 {
		if res.Live, err = liveTraffic(ctx, srv, o, w, o.PGExecutions, logf); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// liveTraffic posts o.Live executions after the first loaded of w as live
// traffic (Workload.LiveBatch), finishing over the last liveSpan.
// liveSpan is how long before now live traffic's executions finish: recent
// enough that every event is live, apart enough that queued, started and
// terminal events fall in different minutes.
const liveSpan = 10 * time.Minute

func liveTraffic(ctx context.Context, srv *Process, o Options, w Workload, loaded int, logf func(string, ...any)) (*LiveResult, error) {
	logf("live traffic: %d executions (%d events) finishing over the last %s", o.Live, 3*o.Live, liveSpan)
	w.Span, w.End, w.Sizes = liveSpan, time.Now().UTC().Add(-time.Second), []int{loaded, loaded + o.Live}
	in, err := loadLive(ctx, srv, operator, w, loaded, loaded+o.Live, o.Batch/3, o.Clients)
	if err != nil {
		return nil, err
	}
	logf("  %.0f events/s; server RSS up to %d MiB", in.EventsPerSec, in.ServerRSSMax>>20)
	return &LiveResult{IngestResult: in, Executions: o.Live, Span: liveSpan.String()}, nil
}

// naive loads the same executions into a plain table and times the naive
// answers beside the service's, read at the last stage.
func naive(ctx context.Context, o Options, w Workload, n int, last Stage, logf func(string, ...any)) ([]NaiveRow, error) {
	nv, err := OpenNaive(ctx, o.PG)
	if err != nil {
		return nil, err
	}
	defer nv.Close(context.Background())
	logf("naive design: copying %d executions into PostgreSQL", n)
	if err := nv.Load(ctx, w, n); err != nil {
		return nil, err
	}
	var rows []NaiveRow
	now := time.Now().UTC()
	for _, win := range []struct {
		name string
		d    time.Duration
		step time.Duration
	}{{"1h", time.Hour, time.Minute}, {"24h", 24 * time.Hour, 15 * time.Minute}, {"30d", 30 * 24 * time.Hour, 6 * time.Hour}, {"90d", 90 * 24 * time.Hour, 24 * time.Hour}} {
		for _, s := range NaiveSections {
			var ds []time.Duration
			for range o.NaiveRepeat {
				d, err := nv.Time(ctx, s, queried, now.Add(-win.d), now, win.step)
				if err != nil {
					return nil, err
				}
				ds = append(ds, d)
			}
			l := latencyOf(ds)
			ours := last.Queries[s+" "+win.name].P50Ms
			row := NaiveRow{Query: s + " " + win.name, NaiveMs: l.P50Ms, OursMs: ours}
			if ours > 0 {
				row.Ratio = round2(l.P50Ms / ours)
			}
			rows = append(rows, row)
			logf("  %-16s naive %9.1f ms  ours %7.2f ms  %7.0fx", row.Query, row.NaiveMs, row.OursMs, row.Ratio)
		}
	}
	return rows, nil
}

func randomHex() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// WriteJSON writes r to path.
func (r *Result) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
