// Package storetest is the conformance suite of stores: every store the
// service can run on (the embedded SQLite one, a later PostgreSQL one) runs
// the same checks of what the writer, the API, the realtime view and
// retention rely on.
//
// Each check opens a fresh store and writes only what it needs, at fixed
// times around Base, so every store sees the same data and a failure names
// the values that differ.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/auth"
	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/patterns"
	"github.com/shadower/shadower/internal/resources"
	"github.com/shadower/shadower/internal/rollup"
)

// Store is what the service needs from a database: the writer's
// transactions, the reads of the API and the realtime view, keys, retention
// and health.
type Store interface {
	ingest.Store

	// RollupRange returns the rows of one tier with buckets in [from, to)
	// for the given agents (all rows when none), with sketches when asked.
	RollupRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, agents []string, sketches bool) ([]*rollup.Row, error)
	// Executions lists executions newest first (SortAt, then id, descending).
	Executions(ctx context.Context, f execution.ListFilter) ([]*execution.Execution, error)
	// Execution returns one execution and its events in time order, or a
	// not_found *execution.Error.
	Execution(ctx context.Context, ws, id string) (*execution.Execution, []execution.StoredEvent, error)
	// LiveExecutions returns every unfinished execution and those finished
	// since since.
	LiveExecutions(ctx context.Context, since time.Time) ([]*execution.Execution, error)
	// Workspaces lists every workspace touched by a write.
	Workspaces(ctx context.Context) ([]string, error)

	CreateKey(ctx context.Context, k auth.Key) error
	Keys(ctx context.Context, ws string) ([]auth.Key, error)
	KeyByHash(ctx context.Context, hash []byte) (*auth.Key, error)
	RevokeKey(ctx context.Context, ws, id string, at time.Time) error

	// Expire deletes rollup rows with buckets before their tier's cutoff
	// and executions last updated before rawBefore (Unix seconds) with all
	// their events, and returns how many rows it deleted.
	Expire(ctx context.Context, tierBefore map[rollup.Tier]int64, rawBefore int64) (int64, error)
	Check(ctx context.Context) error
	Ping(ctx context.Context) error

	// RecordHeartbeats stores heartbeats all or nothing: each worker's
	// latest report (by timestamp) and their readings in the gauge tiers.
	RecordHeartbeats(ctx context.Context, hbs []*resources.Heartbeat) error
	// Workers lists the workers of a workspace last seen at or after since, by id.
	Workers(ctx context.Context, ws string, since time.Time) ([]resources.Worker, error)
	// RecordGauges adds readings to every gauge tier.
	RecordGauges(ctx context.Context, samples []rollup.GaugeSample) error
	// GaugeRange returns the gauge rows of one tier in [from, to).
	GaugeRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, gauges []string) ([]rollup.GaugeRow, error)
	// SaveFindings inserts or updates findings by id; Findings lists those
	// overlapping [from, to), newest first.
	SaveFindings(ctx context.Context, rs []patterns.Record) error
	Findings(ctx context.Context, ws string, from, to time.Time) ([]patterns.Record, error)
}

// Base is the fixed time the suite's data is laid out around.
var Base = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// Run runs every check against stores made by open. open is called once per
// subtest with that subtest's t and must return an empty, migrated store; it
// should register its own cleanup (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) Store) {
	checks := []struct {
		name string
		f    func(t *testing.T, s Store)
	}{
		{"InsertEventsNewVsDuplicate", testInsertEvents},
		{"FailedWriteStoresNothing", testFailedWrite},
		{"ExecutionRoundTrip", testExecutionRoundTrip},
		{"LoadExecutionsChunks", testLoadExecutionsChunks},
		{"RollupRoundTrip", testRollupRoundTrip},
		{"RollupRangeFilters", testRollupRange},
		{"ExecutionsListing", testExecutionsListing},
		{"ExecutionsPaging", testExecutionsPaging},
		{"ExecutionDetail", testExecutionDetail},
		{"LiveExecutions", testLiveExecutions},
		{"Workspaces", testWorkspaces},
		{"Keys", testKeys},
		{"Expire", testExpire},
		{"CheckAndPing", testCheck},
		{"Heartbeats", testHeartbeats},
		{"Gauges", testGauges},
		{"Findings", testFindings},
		{"ExpireResources", testExpireResources},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			c.f(t, s)
		})
	}
}

var ctx = context.Background()

// ---- helpers ---------------------------------------------------------------

func write(t *testing.T, s Store, fn func(tx ingest.Tx) error) {
	t.Helper()
	if err := s.Write(ctx, fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// errRollback makes a Write roll back after a look inside the transaction.
var errRollback = errors.New("storetest: roll back")

// peek runs fn in a transaction that is then rolled back.
func peek(t *testing.T, s Store, fn func(tx ingest.Tx) error) {
	t.Helper()
	err := s.Write(ctx, func(tx ingest.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Write (rolled back): %v", err)
	}
}

func workspacesOf(xs []*execution.Execution) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(out, x.WorkspaceID) {
			out = append(out, x.WorkspaceID)
		}
	}
	return out
}

// saveExecs stores executions (and touches their workspaces) as of now.
func saveExecs(t *testing.T, s Store, now time.Time, xs ...*execution.Execution) {
	t.Helper()
	write(t, s, func(tx ingest.Tx) error {
		if err := tx.SaveExecutions(xs, now); err != nil {
			return err
		}
		return tx.TouchWorkspaces(workspacesOf(xs), now)
	})
}

func insertEvents(t *testing.T, s Store, recv time.Time, evs ...*execution.Event) []bool {
	t.Helper()
	var out []bool
	write(t, s, func(tx ingest.Tx) error {
		var err error
		out, err = tx.InsertEvents(evs, recv)
		if err != nil {
			return err
		}
		if len(out) != len(evs) {
			return fmt.Errorf("InsertEvents reported %d results for %d events", len(out), len(evs))
		}
		var wss []string
		for _, ev := range evs {
			if !slices.Contains(wss, ev.WorkspaceID) {
				wss = append(wss, ev.WorkspaceID)
			}
		}
		return tx.TouchWorkspaces(wss, recv)
	})
	return out
}

func saveRollups(t *testing.T, s Store, now time.Time, rows ...*rollup.Row) {
	t.Helper()
	m := map[rollup.Key]*rollup.Row{}
	var wss []string
	for _, r := range rows {
		m[r.Key] = r
		if !slices.Contains(wss, r.WorkspaceID) {
			wss = append(wss, r.WorkspaceID)
		}
	}
	write(t, s, func(tx ingest.Tx) error {
		if err := tx.SaveRollups(m); err != nil {
			return err
		}
		return tx.TouchWorkspaces(wss, now)
	})
}

func fptr(v float64) *float64 { return &v }

func event(ws, x, id string, typ execution.Type, at time.Time) *execution.Event {
	return &execution.Event{EventID: id, Type: typ, ExecutionID: x, WorkspaceID: ws, AgentID: "agent-1", Timestamp: at}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	var e *execution.Error
	if err == nil || !errors.As(err, &e) || execution.ErrorCode(err) != execution.ENotFound {
		t.Errorf("%s: error %v (%T), want a not_found *execution.Error", what, err, err)
	}
}

func timeEq(a, b time.Time) bool { return a.IsZero() == b.IsZero() && a.Equal(b) }

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func fmtF(p *float64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func fmtErr(e *execution.ErrorInfo) string {
	if e == nil {
		return "nil"
	}
	return fmt.Sprintf("{%q %q}", e.Type, e.Message)
}

// diffExec lists the fields where got differs from want.
func diffExec(want, got *execution.Execution) []string {
	var d []string
	str := func(name, w, g string) {
		if w != g {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", name, g, w))
		}
	}
	tm := func(name string, w, g time.Time) {
		if !timeEq(w, g) {
			d = append(d, fmt.Sprintf("%s: got %s, want %s", name, fmtTime(g), fmtTime(w)))
		}
	}
	str("WorkspaceID", want.WorkspaceID, got.WorkspaceID)
	str("ExecutionID", want.ExecutionID, got.ExecutionID)
	str("AgentID", want.AgentID, got.AgentID)
	str("Status", string(want.Status), string(got.Status))
	tm("SeenAt", want.SeenAt, got.SeenAt)
	tm("QueuedAt", want.QueuedAt, got.QueuedAt)
	tm("StartedAt", want.StartedAt, got.StartedAt)
	tm("FinishedAt", want.FinishedAt, got.FinishedAt)
	str("WorkerID", want.WorkerID, got.WorkerID)
	str("Trigger", want.Trigger, got.Trigger)
	if (want.Progress == nil) != (got.Progress == nil) || (want.Progress != nil && *want.Progress != *got.Progress) {
		d = append(d, fmt.Sprintf("Progress: got %s, want %s", fmtF(got.Progress), fmtF(want.Progress)))
	}
	tm("ProgressAt", want.ProgressAt, got.ProgressAt)
	if (want.Error == nil) != (got.Error == nil) || (want.Error != nil && *want.Error != *got.Error) {
		d = append(d, fmt.Sprintf("Error: got %s, want %s", fmtErr(got.Error), fmtErr(want.Error)))
	}
	if want.Credits != got.Credits {
		d = append(d, fmt.Sprintf("Credits: got %v, want %v", got.Credits, want.Credits))
	}
	if want.Tokens != got.Tokens {
		d = append(d, fmt.Sprintf("Tokens: got %v, want %v", got.Tokens, want.Tokens))
	}
	return d
}

func checkExec(t *testing.T, what string, want, got *execution.Execution) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got nil execution", what)
		return
	}
	if d := diffExec(want, got); len(d) > 0 {
		t.Errorf("%s:\n  %s", what, strings.Join(d, "\n  "))
	}
}

func diffEvent(want, got *execution.Event) []string {
	var d []string
	if want.EventID != got.EventID || want.Type != got.Type || want.ExecutionID != got.ExecutionID ||
		want.WorkspaceID != got.WorkspaceID || want.AgentID != got.AgentID || want.WorkerID != got.WorkerID ||
		want.Trigger != got.Trigger {
		d = append(d, fmt.Sprintf("ids/type/worker/trigger: got %+v, want %+v", *got, *want))
	}
	if !timeEq(want.Timestamp, got.Timestamp) {
		d = append(d, fmt.Sprintf("Timestamp: got %s, want %s", fmtTime(got.Timestamp), fmtTime(want.Timestamp)))
	}
	for _, f := range []struct {
		name string
		w, g *float64
	}{{"Progress", want.Progress, got.Progress}, {"Credits", want.Credits, got.Credits}, {"Tokens", want.Tokens, got.Tokens}} {
		if (f.w == nil) != (f.g == nil) || (f.w != nil && *f.w != *f.g) {
			d = append(d, fmt.Sprintf("%s: got %s, want %s", f.name, fmtF(f.g), fmtF(f.w)))
		}
	}
	if (want.Error == nil) != (got.Error == nil) || (want.Error != nil && *want.Error != *got.Error) {
		d = append(d, fmt.Sprintf("Error: got %s, want %s", fmtErr(got.Error), fmtErr(want.Error)))
	}
	return d
}

var quantiles = []float64{0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1}

func diffStat(name string, want, got *rollup.Stat, sketches bool) []string {
	var d []string
	if want.Count != got.Count || want.Sum != got.Sum || want.Min != got.Min || want.Max != got.Max {
		d = append(d, fmt.Sprintf("%s: got count %d sum %v min %v max %v, want %d %v %v %v", name,
			got.Count, got.Sum, got.Min, got.Max, want.Count, want.Sum, want.Min, want.Max))
	}
	gsk, err := got.Sketch()
	if err != nil {
		return append(d, fmt.Sprintf("%s: sketch: %v", name, err))
	}
	if !sketches {
		if !gsk.Empty() {
			d = append(d, fmt.Sprintf("%s: read without sketches, but the sketch holds %d values", name, gsk.Count()))
		}
		return d
	}
	wsk, err := want.Sketch()
	if err != nil {
		return append(d, fmt.Sprintf("%s: want sketch: %v", name, err))
	}
	if wsk.Count() != gsk.Count() {
		d = append(d, fmt.Sprintf("%s: sketch holds %d values, want %d", name, gsk.Count(), wsk.Count()))
	}
	for _, q := range quantiles {
		wv, wok := wsk.Quantile(q)
		gv, gok := gsk.Quantile(q)
		if wv != gv || wok != gok {
			d = append(d, fmt.Sprintf("%s: sketch quantile %v = %v,%v, want %v,%v", name, q, gv, gok, wv, wok))
		}
	}
	return d
}

// diffRow lists the fields where got differs from want; without sketches
// the sketches and error counts must read back empty while every other
// count is kept.
func diffRow(want, got *rollup.Row, sketches bool) []string {
	var d []string
	if _, err := got.ErrorCounts(); err != nil {
		d = append(d, err.Error())
	}
	if want.Key != got.Key {
		d = append(d, fmt.Sprintf("Key: got %+v, want %+v", got.Key, want.Key))
	}
	type c struct {
		name string
		w, g int64
	}
	for _, f := range []c{{"Started", want.Started, got.Started}, {"Completed", want.Completed, got.Completed},
		{"Failed", want.Failed, got.Failed}, {"TimedOut", want.TimedOut, got.TimedOut},
		{"Cancelled", want.Cancelled, got.Cancelled}, {"PeakMinute", want.PeakMinute, got.PeakMinute}} {
		if f.w != f.g {
			d = append(d, fmt.Sprintf("%s: got %d, want %d", f.name, f.g, f.w))
		}
	}
	if want.Credits != got.Credits || want.Tokens != got.Tokens {
		d = append(d, fmt.Sprintf("Credits/Tokens: got %v/%v, want %v/%v", got.Credits, got.Tokens, want.Credits, want.Tokens))
	}
	if !sketches {
		if len(got.Errors) != 0 {
			d = append(d, fmt.Sprintf("Errors: read without sketches, got %v", got.Errors))
		}
	} else if len(want.Errors) != len(got.Errors) {
		d = append(d, fmt.Sprintf("Errors: got %v, want %v", got.Errors, want.Errors))
	} else {
		for k, v := range want.Errors {
			if gv, ok := got.Errors[k]; !ok || gv != v {
				d = append(d, fmt.Sprintf("Errors: got %v, want %v", got.Errors, want.Errors))
				break
			}
		}
	}
	d = append(d, diffStat("Duration", &want.Duration, &got.Duration, sketches)...)
	d = append(d, diffStat("QueueWait", &want.QueueWait, &got.QueueWait, sketches)...)
	return d
}

func keyString(k rollup.Key) string {
	return fmt.Sprintf("%s/%s/%d/%s", k.WorkspaceID, k.Tier, k.Bucket, k.AgentID)
}

// makeRow builds a row with every field set, varied by seed.
func makeRow(k rollup.Key, seed int) *rollup.Row {
	s := int64(seed)
	r := &rollup.Row{Key: k, Started: 11 + s, Completed: 7 + s, Failed: 3 + s, TimedOut: 2 + s, Cancelled: 1 + s,
		PeakMinute: 5 + s, Credits: 1.25 + float64(seed)/8, Tokens: 1000.5 + float64(seed),
		Errors: map[string]int64{"TimeoutError": 2 + s, "ValueError": 3, fmt.Sprintf("E%d", seed): 1}}
	for i := range 40 + seed {
		r.Duration.Add(float64(i*i)*1.7 + 0.3 + float64(seed))
	}
	r.QueueWait.Add(0) // a zero must survive the sketch encoding
	for i := range 15 + seed {
		r.QueueWait.Add(float64(i) * 13.25)
	}
	return r
}

// ---- checks ----------------------------------------------------------------

func testInsertEvents(t *testing.T, s Store) {
	at := Base.Add(time.Hour)
	e1 := event("ws-a", "x1", "e1", execution.Queued, at)
	e2 := event("ws-a", "x1", "e2", execution.Started, at.Add(time.Second))
	e1again := event("ws-a", "x1", "e1", execution.Completed, at.Add(2*time.Second)) // same id, other body
	got := insertEvents(t, s, at, e1, e2, e1again)
	if want := []bool{true, true, false}; !slices.Equal(got, want) {
		t.Errorf("first batch: new = %v, want %v (a repeat inside one batch is a duplicate)", got, want)
	}

	b1 := event("ws-b", "x1", "e1", execution.Started, at.Add(3*time.Second)) // same ids, other workspace
	got = insertEvents(t, s, at.Add(time.Minute),
		event("ws-a", "x1", "e1", execution.Failed, at), b1, event("ws-b", "x1", "e1", execution.Queued, at),
		event("ws-a", "x1", "e3", execution.Progress, at.Add(4*time.Second)))
	if want := []bool{false, true, false, true}; !slices.Equal(got, want) {
		t.Errorf("second batch: new = %v, want %v (an event id is unique per workspace only)", got, want)
	}

	// The first body stored is the one kept.
	saveExecs(t, s, at,
		&execution.Execution{WorkspaceID: "ws-a", ExecutionID: "x1", AgentID: "agent-1", Status: execution.StatusRunning, SeenAt: at, StartedAt: at.Add(time.Second)},
		&execution.Execution{WorkspaceID: "ws-b", ExecutionID: "x1", AgentID: "agent-1", Status: execution.StatusRunning, SeenAt: at, StartedAt: at.Add(3 * time.Second)})
	_, evs, err := s.Execution(ctx, "ws-a", "x1")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, ev.EventID+":"+string(ev.Type))
	}
	if want := []string{"e1:queued", "e2:started", "e3:progress"}; !slices.Equal(types, want) {
		t.Errorf("ws-a events = %v, want %v", types, want)
	}
	_, evs, err = s.Execution(ctx, "ws-b", "x1")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].EventID != "e1" || evs[0].Type != execution.Started || evs[0].WorkspaceID != "ws-b" {
		t.Errorf("ws-b events = %+v, want only e1 (started)", evs)
	}
}

func testFailedWrite(t *testing.T, s Store) {
	at := Base.Add(2 * time.Hour)
	ev := event("ws-a", "x1", "e1", execution.Started, at)
	x := &execution.Execution{WorkspaceID: "ws-a", ExecutionID: "x1", AgentID: "agent-1", Status: execution.StatusRunning, SeenAt: at, StartedAt: at}
	key := rollup.Key{WorkspaceID: "ws-a", Tier: rollup.Minute, Bucket: rollup.Minute.Bucket(at), AgentID: "agent-1"}
	boom := errors.New("boom")
	err := s.Write(ctx, func(tx ingest.Tx) error {
		if _, err := tx.InsertEvents([]*execution.Event{ev}, at); err != nil {
			return err
		}
		if err := tx.SaveExecutions([]*execution.Execution{x}, at); err != nil {
			return err
		}
		if err := tx.SaveRollups(map[rollup.Key]*rollup.Row{key: makeRow(key, 1)}); err != nil {
			return err
		}
		if err := tx.TouchWorkspaces([]string{"ws-a"}, at); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write returned %v, want the error of fn", err)
	}

	if _, _, err := s.Execution(ctx, "ws-a", "x1"); err == nil {
		t.Error("the execution of a failed write was stored")
	}
	xs, err := s.Executions(ctx, execution.ListFilter{WorkspaceID: "ws-a", Limit: 10})
	if err != nil || len(xs) != 0 {
		t.Errorf("Executions after a failed write: %d rows, err %v; want none", len(xs), err)
	}
	rows, err := s.RollupRange(ctx, "ws-a", rollup.Minute, 0, 1<<40, nil, true)
	if err != nil || len(rows) != 0 {
		t.Errorf("RollupRange after a failed write: %d rows, err %v; want none", len(rows), err)
	}
	wss, err := s.Workspaces(ctx)
	if err != nil || len(wss) != 0 {
		t.Errorf("Workspaces after a failed write: %v, err %v; want none", wss, err)
	}
	peek(t, s, func(tx ingest.Tx) error {
		got, err := tx.LoadExecutions("ws-a", []string{"x1"})
		if err != nil {
			return err
		}
		if len(got) != 0 {
			t.Errorf("LoadExecutions after a failed write: %d, want 0", len(got))
		}
		rs, err := tx.LoadRollups([]rollup.Key{key})
		if err != nil {
			return err
		}
		if len(rs) != 0 {
			t.Errorf("LoadRollups after a failed write: %d, want 0", len(rs))
		}
		return nil
	})
	// The event was not kept: it is new again, and the store still writes.
	if got := insertEvents(t, s, at, ev); !slices.Equal(got, []bool{true}) {
		t.Errorf("the event of a failed write is a duplicate: new = %v", got)
	}
}

func testExecutionRoundTrip(t *testing.T, s Store) {
	paris := time.FixedZone("UTC+2", 2*3600)
	t0 := Base.Add(3*time.Hour + 123456789*time.Nanosecond)
	full := &execution.Execution{
		WorkspaceID: "ws-a", ExecutionID: "x-full", AgentID: "agent/7@v2", Status: execution.StatusFailed,
		SeenAt: t0.In(paris), QueuedAt: t0.Add(1), StartedAt: t0.Add(2*time.Second + 7), FinishedAt: t0.Add(9*time.Second + 999),
		WorkerID: "worker:12", Trigger: "cron nightly", Progress: fptr(87.125), ProgressAt: t0.Add(8*time.Second + 3),
		Error:   &execution.ErrorInfo{Type: "ValueError", Message: "bad input: ✗ \"quoted\"\nsecond line"},
		Credits: 12.375, Tokens: 123456.5,
	}
	minimal := &execution.Execution{WorkspaceID: "ws-a", ExecutionID: "x-min", AgentID: "a", Status: execution.StatusQueued,
		SeenAt: t0.Add(5), QueuedAt: t0.Add(5)}
	zeroes := &execution.Execution{WorkspaceID: "ws-a", ExecutionID: "x-zero", AgentID: "a", Status: execution.StatusTimedOut,
		SeenAt: t0, StartedAt: t0, FinishedAt: t0.Add(time.Minute), Progress: fptr(0), ProgressAt: t0,
		Error: &execution.ErrorInfo{Type: "Timeout"}}
	other := &execution.Execution{WorkspaceID: "ws-b", ExecutionID: "x-full", AgentID: "b", Status: execution.StatusRunning,
		SeenAt: t0, StartedAt: t0, Credits: 1}
	all := []*execution.Execution{full, minimal, zeroes, other}
	saveExecs(t, s, t0, all...)

	peek(t, s, func(tx ingest.Tx) error {
		for _, ws := range []string{"ws-a", "ws-b"} {
			got, err := tx.LoadExecutions(ws, []string{"x-full", "x-min", "x-zero", "x-missing"})
			if err != nil {
				return err
			}
			n := 0
			for _, want := range all {
				if want.WorkspaceID != ws {
					continue
				}
				n++
				checkExec(t, "LoadExecutions "+ws+"/"+want.ExecutionID, want, got[want.ExecutionID])
			}
			if len(got) != n {
				t.Errorf("LoadExecutions %s: %d executions, want %d", ws, len(got), n)
			}
		}
		return nil
	})
	for _, want := range all {
		got, _, err := s.Execution(ctx, want.WorkspaceID, want.ExecutionID)
		if err != nil {
			t.Errorf("Execution %s/%s: %v", want.WorkspaceID, want.ExecutionID, err)
			continue
		}
		checkExec(t, "Execution "+want.WorkspaceID+"/"+want.ExecutionID, want, got)
	}

	// Saving again replaces every field, including back to unknown.
	upd := *minimal
	upd.Status, upd.StartedAt, upd.Progress, upd.ProgressAt = execution.StatusRunning, t0.Add(time.Second), fptr(10), t0.Add(time.Second)
	upd.Credits, upd.WorkerID = 2.5, "w2"
	updZero := *zeroes
	updZero.Progress, updZero.ProgressAt, updZero.Error = nil, time.Time{}, nil
	saveExecs(t, s, t0.Add(time.Minute), &upd, &updZero)
	for _, want := range []*execution.Execution{&upd, &updZero} {
		got, _, err := s.Execution(ctx, want.WorkspaceID, want.ExecutionID)
		if err != nil {
			t.Fatal(err)
		}
		checkExec(t, "after update "+want.ExecutionID, want, got)
	}
}

func testLoadExecutionsChunks(t *testing.T, s Store) {
	const n = 1203
	xs := make([]*execution.Execution, 0, n+5)
	ids := make([]string, 0, n+20)
	for i := range n {
		at := Base.Add(time.Duration(i) * time.Second)
		xs = append(xs, &execution.Execution{WorkspaceID: "ws-a", ExecutionID: fmt.Sprintf("x-%05d", i),
			AgentID: fmt.Sprintf("agent-%d", i%7), Status: execution.StatusRunning, SeenAt: at, StartedAt: at,
			Credits: float64(i) / 4})
		ids = append(ids, fmt.Sprintf("x-%05d", i))
	}
	for i := range 5 { // same ids in another workspace: never returned for ws-a
		xs = append(xs, &execution.Execution{WorkspaceID: "ws-b", ExecutionID: fmt.Sprintf("x-%05d", n+i),
			AgentID: "b", Status: execution.StatusQueued, SeenAt: Base, QueuedAt: Base})
	}
	for i := range 20 {
		ids = append(ids, fmt.Sprintf("x-%05d", n+i)) // not in ws-a
	}
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	saveExecs(t, s, Base, xs...)

	peek(t, s, func(tx ingest.Tx) error {
		got, err := tx.LoadExecutions("ws-a", ids)
		if err != nil {
			return err
		}
		if len(got) != n {
			t.Errorf("LoadExecutions of %d ids (%d stored): got %d", len(ids), n, len(got))
		}
		for _, want := range xs[:n] {
			x := got[want.ExecutionID]
			if x == nil {
				t.Errorf("LoadExecutions lacks %s", want.ExecutionID)
				continue
			}
			if d := diffExec(want, x); len(d) > 0 {
				t.Errorf("%s: %v", want.ExecutionID, d)
			}
		}
		empty, err := tx.LoadExecutions("ws-a", nil)
		if err != nil || len(empty) != 0 {
			t.Errorf("LoadExecutions of no ids: %d, %v", len(empty), err)
		}
		return nil
	})
}

func testRollupRoundTrip(t *testing.T, s Store) {
	m := rollup.Minute.Bucket(Base.Add(90 * time.Second))
	keys := []rollup.Key{
		{WorkspaceID: "ws-a", Tier: rollup.Minute, Bucket: m, AgentID: "agent-1"},
		{WorkspaceID: "ws-a", Tier: rollup.Minute, Bucket: m, AgentID: rollup.AllAgents},
		{WorkspaceID: "ws-a", Tier: rollup.Hour, Bucket: rollup.Hour.Bucket(Base), AgentID: "agent-1"},
		{WorkspaceID: "ws-a", Tier: rollup.Day, Bucket: rollup.Day.Bucket(Base), AgentID: "agent-1"},
		{WorkspaceID: "ws-b", Tier: rollup.Minute, Bucket: m, AgentID: "agent-1"},
	}
	want := map[rollup.Key]*rollup.Row{}
	for i, k := range keys {
		want[k] = makeRow(k, i)
	}
	// A row with counts only: empty stats and no errors.
	bare := rollup.Key{WorkspaceID: "ws-a", Tier: rollup.Minute, Bucket: m + 60, AgentID: "agent-1"}
	want[bare] = &rollup.Row{Key: bare, Started: 4}
	keys = append(keys, bare)
	var rows []*rollup.Row
	for _, k := range keys {
		rows = append(rows, want[k])
	}
	saveRollups(t, s, Base, rows...)

	missing := rollup.Key{WorkspaceID: "ws-a", Tier: rollup.Minute, Bucket: m - 60, AgentID: "agent-1"}
	peek(t, s, func(tx ingest.Tx) error {
		got, err := tx.LoadRollups(append(slices.Clone(keys), missing))
		if err != nil {
			return err
		}
		if len(got) != len(keys) {
			t.Errorf("LoadRollups: %d rows, want %d (a missing key is absent)", len(got), len(keys))
		}
		for _, k := range keys {
			if got[k] == nil {
				t.Errorf("LoadRollups lacks %s", keyString(k))
				continue
			}
			if d := diffRow(want[k], got[k], true); len(d) > 0 {
				t.Errorf("LoadRollups %s:\n  %s", keyString(k), strings.Join(d, "\n  "))
			}
		}
		return nil
	})
	for _, k := range keys {
		got, err := s.RollupRange(ctx, k.WorkspaceID, k.Tier, k.Bucket, k.Bucket+k.Tier.Seconds(), []string{k.AgentID}, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Errorf("RollupRange %s: %d rows, want 1", keyString(k), len(got))
			continue
		}
		if d := diffRow(want[k], got[0], true); len(d) > 0 {
			t.Errorf("RollupRange %s:\n  %s", keyString(k), strings.Join(d, "\n  "))
		}
		// A row read back merges like the one written.
		merged := &rollup.Row{Key: k}
		if err := merged.Merge(got[0]); err != nil {
			t.Errorf("merge %s: %v", keyString(k), err)
		} else if d := diffRow(want[k], merged, true); len(d) > 0 {
			t.Errorf("merged %s:\n  %s", keyString(k), strings.Join(d, "\n  "))
		}
	}

	// Saving a row again replaces it.
	k := keys[0]
	repl := makeRow(k, 9)
	repl.Errors = nil
	saveRollups(t, s, Base, repl)
	got, err := s.RollupRange(ctx, k.WorkspaceID, k.Tier, k.Bucket, k.Bucket+60, []string{k.AgentID}, true)
	if err != nil || len(got) != 1 {
		t.Fatalf("RollupRange after replace: %d rows, %v", len(got), err)
	}
	if d := diffRow(repl, got[0], true); len(d) > 0 {
		t.Errorf("after replace:\n  %s", strings.Join(d, "\n  "))
	}
}

func testRollupRange(t *testing.T, s Store) {
	b := Base.Unix()
	minute := func(i int64) int64 { return b + 60*i }
	var rows []*rollup.Row
	add := func(ws string, tier rollup.Tier, bucket int64, agent string) {
		rows = append(rows, makeRow(rollup.Key{WorkspaceID: ws, Tier: tier, Bucket: bucket, AgentID: agent}, len(rows)%5))
	}
	for i := range int64(5) {
		for _, a := range []string{"a", "b", rollup.AllAgents} {
			add("w1", rollup.Minute, minute(i), a)
		}
	}
	for _, h := range []int64{b, b + 3600} {
		add("w1", rollup.Hour, h, "a")
		add("w1", rollup.Hour, h, rollup.AllAgents)
	}
	add("w1", rollup.Day, b, rollup.AllAgents)
	add("w2", rollup.Minute, minute(1), "a")
	saveRollups(t, s, Base, rows...)

	cases := []struct {
		name     string
		ws       string
		tier     rollup.Tier
		from, to int64
		agents   []string
	}{
		{"minutes [1,3) all agents", "w1", rollup.Minute, minute(1), minute(3), nil},
		{"minutes [1,3) one agent", "w1", rollup.Minute, minute(1), minute(3), []string{"a"}},
		{"minutes agent and total", "w1", rollup.Minute, minute(0), minute(5), []string{"a", rollup.AllAgents}},
		{"minutes unknown agent", "w1", rollup.Minute, minute(0), minute(5), []string{"zzz"}},
		{"minutes to is exclusive", "w1", rollup.Minute, minute(0), minute(1), nil},
		{"minutes unaligned from", "w1", rollup.Minute, minute(2) - 1, minute(3), []string{"b"}},
		{"empty range", "w1", rollup.Minute, minute(2), minute(2), nil},
		{"after the data", "w1", rollup.Minute, minute(5), minute(100), nil},
		{"hour tier only", "w1", rollup.Hour, b, b + 3600, nil},
		{"hours", "w1", rollup.Hour, b - 86400, b + 86400, []string{rollup.AllAgents}},
		{"day", "w1", rollup.Day, b, b + 86400, nil},
		{"other workspace", "w2", rollup.Minute, minute(0), minute(5), nil},
		{"unknown workspace", "w3", rollup.Minute, minute(0), minute(5), nil},
	}
	for _, c := range cases {
		var want []*rollup.Row
		for _, r := range rows {
			if r.WorkspaceID == c.ws && r.Tier == c.tier && r.Bucket >= c.from && r.Bucket < c.to &&
				(len(c.agents) == 0 || slices.Contains(c.agents, r.AgentID)) {
				want = append(want, r)
			}
		}
		for _, sketches := range []bool{true, false} {
			got, err := s.RollupRange(ctx, c.ws, c.tier, c.from, c.to, c.agents, sketches)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			byKey := map[rollup.Key]*rollup.Row{}
			for _, r := range got {
				if byKey[r.Key] != nil {
					t.Errorf("%s: row %s returned twice", c.name, keyString(r.Key))
				}
				byKey[r.Key] = r
			}
			if len(got) != len(want) {
				t.Errorf("%s (sketches %v): %d rows, want %d", c.name, sketches, len(got), len(want))
			}
			for _, w := range want {
				g := byKey[w.Key]
				if g == nil {
					t.Errorf("%s (sketches %v): lacks %s", c.name, sketches, keyString(w.Key))
					continue
				}
				if d := diffRow(w, g, sketches); len(d) > 0 {
					t.Errorf("%s (sketches %v) %s:\n  %s", c.name, sketches, keyString(w.Key), strings.Join(d, "\n  "))
				}
			}
		}
	}
}

// listData is a workspace's executions of every status, with many ties on
// SortAt (so the id decides) and ids unrelated to time.
func listData() []*execution.Execution {
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []execution.Status{execution.StatusQueued, execution.StatusRunning, execution.StatusCompleted,
		execution.StatusFailed, execution.StatusTimedOut, execution.StatusCancelled}
	agents := []string{"a1", "a2", "a3"}
	perm := rng.Perm(1000)
	var xs []*execution.Execution
	for i := range 90 {
		ws := "w1"
		if i >= 80 {
			ws = "w2"
		}
		st := statuses[i%len(statuses)]
		at := Base.Add(time.Duration(rng.IntN(20))*time.Minute + time.Duration(rng.IntN(3)))
		x := &execution.Execution{WorkspaceID: ws, ExecutionID: fmt.Sprintf("x-%03d", perm[i]),
			AgentID: agents[rng.IntN(len(agents))], Status: st, Credits: float64(i)}
		switch st {
		case execution.StatusQueued:
			x.SeenAt, x.QueuedAt = at, at
		case execution.StatusRunning:
			x.SeenAt, x.QueuedAt, x.StartedAt = at.Add(-30*time.Second), at.Add(-30*time.Second), at
			x.Progress, x.ProgressAt = fptr(float64(i%100)), at
		default:
			x.SeenAt, x.StartedAt, x.FinishedAt = at.Add(-2*time.Minute), at.Add(-time.Minute), at
		}
		xs = append(xs, x)
	}
	// Unfinished executions right at the stale boundary (Base+10m): those
	// that began at it are not stale, those a nanosecond before are.
	edge := Base.Add(10 * time.Minute)
	for i, at := range []time.Time{edge, edge.Add(-1)} {
		xs = append(xs,
			&execution.Execution{WorkspaceID: "w1", ExecutionID: fmt.Sprintf("edge-q%d", i), AgentID: "a1",
				Status: execution.StatusQueued, SeenAt: at, QueuedAt: at},
			&execution.Execution{WorkspaceID: "w1", ExecutionID: fmt.Sprintf("edge-r%d", i), AgentID: "a2",
				Status: execution.StatusRunning, SeenAt: at.Add(-time.Minute), QueuedAt: at.Add(-time.Minute), StartedAt: at})
	}
	return xs
}

// startOf is when an unfinished execution began, for the stale split.
func startOf(x *execution.Execution) time.Time {
	for _, t := range []time.Time{x.StartedAt, x.QueuedAt, x.SeenAt} {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// wantList is the listing f selects from all, computed the slow way.
func wantList(all []*execution.Execution, f execution.ListFilter) []*execution.Execution {
	var out []*execution.Execution
	for _, x := range all {
		at := x.SortAt()
		stale := !x.Status.Finished() && startOf(x).Before(f.StaleBefore)
		switch {
		case x.WorkspaceID != f.WorkspaceID,
			!f.From.IsZero() && at.Before(f.From),
			!f.To.IsZero() && !at.Before(f.To),
			!f.AfterAt.IsZero() && !(at.Before(f.AfterAt) || at.Equal(f.AfterAt) && x.ExecutionID < f.AfterID),
			len(f.AgentIDs) > 0 && !slices.Contains(f.AgentIDs, x.AgentID):
			continue
		}
		switch f.Status {
		case "":
		case execution.StatusStale:
			if !stale {
				continue
			}
		case execution.StatusQueued, execution.StatusRunning:
			if x.Status != f.Status || stale {
				continue
			}
		default:
			if x.Status != f.Status {
				continue
			}
		}
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].SortAt(), out[j].SortAt()
		if !a.Equal(b) {
			return a.After(b)
		}
		return out[i].ExecutionID > out[j].ExecutionID
	})
	if f.Limit < len(out) {
		out = out[:f.Limit]
	}
	return out
}

func ids(xs []*execution.Execution) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.ExecutionID
	}
	return out
}

func listFilters() []struct {
	name string
	f    execution.ListFilter
} {
	stale := Base.Add(10 * time.Minute)
	lf := func(mod func(*execution.ListFilter)) execution.ListFilter {
		f := execution.ListFilter{WorkspaceID: "w1", StaleBefore: stale, Limit: 1000}
		if mod != nil {
			mod(&f)
		}
		return f
	}
	type named = struct {
		name string
		f    execution.ListFilter
	}
	out := []named{
		{"all", lf(nil)},
		{"limit 7", lf(func(f *execution.ListFilter) { f.Limit = 7 })},
		{"limit 1", lf(func(f *execution.ListFilter) { f.Limit = 1 })},
		{"other workspace", lf(func(f *execution.ListFilter) { f.WorkspaceID = "w2" })},
		{"unknown workspace", lf(func(f *execution.ListFilter) { f.WorkspaceID = "w9" })},
		{"agent a1", lf(func(f *execution.ListFilter) { f.AgentIDs = []string{"a1"} })},
		{"agents a1 a3", lf(func(f *execution.ListFilter) { f.AgentIDs = []string{"a1", "a3"} })},
		{"from to", lf(func(f *execution.ListFilter) { f.From, f.To = Base.Add(5*time.Minute), Base.Add(12*time.Minute) })},
		{"from only", lf(func(f *execution.ListFilter) { f.From = Base.Add(15*time.Minute + 1) })},
		{"to only", lf(func(f *execution.ListFilter) { f.To = Base.Add(3 * time.Minute) })},
		{"running agent a2", lf(func(f *execution.ListFilter) { f.Status, f.AgentIDs = execution.StatusRunning, []string{"a2"} })},
		{"stale from to", lf(func(f *execution.ListFilter) {
			f.Status, f.From, f.To = execution.StatusStale, Base.Add(2*time.Minute), Base.Add(15*time.Minute)
		})},
	}
	for _, st := range []execution.Status{execution.StatusQueued, execution.StatusRunning, execution.StatusStale,
		execution.StatusCompleted, execution.StatusFailed, execution.StatusTimedOut, execution.StatusCancelled} {
		out = append(out, named{"status " + string(st), lf(func(f *execution.ListFilter) { f.Status = st })})
	}
	return out
}

func testExecutionsListing(t *testing.T, s Store) {
	all := listData()
	saveExecs(t, s, Base.Add(time.Hour), all...)
	byID := map[string]*execution.Execution{}
	for _, x := range all {
		byID[x.WorkspaceID+"/"+x.ExecutionID] = x
	}
	for _, c := range listFilters() {
		want := wantList(all, c.f)
		if len(want) == 0 && !strings.Contains(c.name, "unknown") {
			t.Fatalf("%s: the test data selects nothing", c.name)
		}
		got, err := s.Executions(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if g, w := ids(got), ids(want); !slices.Equal(g, w) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, g, w)
			continue
		}
		for _, x := range got {
			checkExec(t, c.name+" "+x.ExecutionID, byID[x.WorkspaceID+"/"+x.ExecutionID], x)
		}
	}
	// Stale and the unfinished statuses split the unfinished executions.
	count := func(st execution.Status) int {
		f := listFilters()[0].f
		f.Status = st
		xs, err := s.Executions(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(xs)
	}
	unfinished := 0
	for _, x := range all {
		if x.WorkspaceID == "w1" && !x.Status.Finished() {
			unfinished++
		}
	}
	if q, r, st := count(execution.StatusQueued), count(execution.StatusRunning), count(execution.StatusStale); q+r+st != unfinished || st == 0 {
		t.Errorf("queued %d + running %d + stale %d, want %d unfinished with some stale", q, r, st, unfinished)
	}
}

func testExecutionsPaging(t *testing.T, s Store) {
	all := listData()
	saveExecs(t, s, Base.Add(time.Hour), all...)
	for _, c := range listFilters() {
		unlimited := c.f
		unlimited.Limit = len(all)
		full := wantList(all, unlimited)
		for _, size := range []int{1, 4, 13} {
			f := c.f
			f.Limit = size
			var got []string
			seen := map[string]bool{}
			for page := 0; ; page++ {
				if page > len(full)+2 {
					t.Fatalf("%s, pages of %d: paging does not end", c.name, size)
				}
				xs, err := s.Executions(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(xs) > size {
					t.Fatalf("%s: page of %d rows, limit %d", c.name, len(xs), size)
				}
				for _, x := range xs {
					if seen[x.ExecutionID] {
						t.Errorf("%s, pages of %d: %s listed twice", c.name, size, x.ExecutionID)
					}
					seen[x.ExecutionID] = true
					got = append(got, x.ExecutionID)
				}
				if len(xs) < size {
					break
				}
				last := xs[len(xs)-1]
				f.AfterAt, f.AfterID = last.SortAt(), last.ExecutionID
			}
			if w := ids(full); !slices.Equal(got, w) {
				t.Errorf("%s, pages of %d:\n got %v\nwant %v", c.name, size, got, w)
			}
		}
	}
}

func testExecutionDetail(t *testing.T, s Store) {
	t0 := Base.Add(5*time.Hour + 17*time.Nanosecond)
	recv1 := Base.Add(5*time.Hour + 30*time.Second + 250*time.Millisecond)
	recv2 := recv1.Add(90 * time.Second)
	q := event("w1", "x1", "ev-q", execution.Queued, t0)
	q.Trigger = "webhook"
	st := event("w1", "x1", "ev-s", execution.Started, t0.Add(2*time.Second+3))
	st.WorkerID = "worker-9"
	pr := event("w1", "x1", "ev-p", execution.Progress, t0.Add(5*time.Second))
	pr.Progress, pr.Credits, pr.Tokens = fptr(40.5), fptr(0.75), fptr(1234)
	fl := event("w1", "x1", "ev-f", execution.Failed, t0.Add(9*time.Second).In(time.FixedZone("x", -5*3600)))
	fl.Error = &execution.ErrorInfo{Type: "ValueError", Message: "bad"}
	// Same execution id in another workspace, earlier than all of them.
	foreign := event("w2", "x1", "ev-q", execution.Queued, t0.Add(-time.Hour))

	// Arrival order differs from time order.
	insertEvents(t, s, recv1, fl, pr, foreign)
	insertEvents(t, s, recv2, st, q)
	var x execution.Execution
	for _, ev := range []*execution.Event{fl, pr, st, q} {
		x.Apply(ev)
	}
	var y execution.Execution
	y.Apply(foreign)
	saveExecs(t, s, recv2, &x, &y)

	gotX, evs, err := s.Execution(ctx, "w1", "x1")
	if err != nil {
		t.Fatal(err)
	}
	checkExec(t, "Execution w1/x1", &x, gotX)
	want := []*execution.Event{q, st, pr, fl}
	recv := map[string]time.Time{"ev-q": recv2, "ev-s": recv2, "ev-p": recv1, "ev-f": recv1}
	if len(evs) != len(want) {
		t.Fatalf("Execution w1/x1: %d events, want %d", len(evs), len(want))
	}
	for i, w := range want {
		g := &evs[i]
		if d := diffEvent(w, &g.Event); len(d) > 0 {
			t.Errorf("event %d (%s):\n  %s", i, w.EventID, strings.Join(d, "\n  "))
		}
		// Stores may keep the receipt time to the second only.
		if r := recv[w.EventID]; g.ReceivedAt.After(r) || r.Sub(g.ReceivedAt) >= time.Second {
			t.Errorf("event %s received at %s, want %s", w.EventID, fmtTime(g.ReceivedAt), fmtTime(r))
		}
	}
	_, evs, err = s.Execution(ctx, "w2", "x1")
	if err != nil || len(evs) != 1 || evs[0].WorkspaceID != "w2" {
		t.Errorf("Execution w2/x1: %d events, %v; want its one event", len(evs), err)
	}

	_, _, err = s.Execution(ctx, "w1", "missing")
	wantNotFound(t, "missing execution", err)
	saveExecs(t, s, recv2, &execution.Execution{WorkspaceID: "w2", ExecutionID: "only-w2", AgentID: "a",
		Status: execution.StatusQueued, SeenAt: t0, QueuedAt: t0})
	_, _, err = s.Execution(ctx, "w1", "only-w2")
	wantNotFound(t, "another workspace's execution", err)
	_, _, err = s.Execution(ctx, "w3", "x1")
	wantNotFound(t, "unknown workspace", err)
}

func testLiveExecutions(t *testing.T, s Store) {
	since := Base.Add(10 * time.Minute)
	mk := func(ws, id string, st execution.Status, at time.Time) *execution.Execution {
		x := &execution.Execution{WorkspaceID: ws, ExecutionID: id, AgentID: "a", Status: st, SeenAt: at.Add(-time.Hour)}
		switch st {
		case execution.StatusQueued:
			x.QueuedAt = at
		case execution.StatusRunning:
			x.StartedAt = at
		default:
			x.StartedAt, x.FinishedAt = at.Add(-time.Second), at
		}
		return x
	}
	all := []*execution.Execution{
		mk("w1", "queued-old", execution.StatusQueued, Base.Add(-48*time.Hour)),
		mk("w1", "running-old", execution.StatusRunning, Base.Add(-48*time.Hour)),
		mk("w1", "running-new", execution.StatusRunning, since.Add(time.Minute)),
		mk("w1", "done-long-ago", execution.StatusCompleted, Base),
		mk("w1", "done-just-before", execution.StatusFailed, since.Add(-1)),
		mk("w1", "done-at-since", execution.StatusCancelled, since),
		mk("w1", "done-after", execution.StatusTimedOut, since.Add(time.Minute)),
		mk("w2", "queued-new", execution.StatusQueued, since.Add(time.Second)),
		mk("w2", "done-long-ago", execution.StatusCompleted, Base.Add(-time.Hour)),
		mk("w2", "done-after", execution.StatusCompleted, since.Add(2*time.Minute)),
	}
	saveExecs(t, s, since, all...)
	var want []string
	byKey := map[string]*execution.Execution{}
	for _, x := range all {
		k := x.WorkspaceID + "/" + x.ExecutionID
		byKey[k] = x
		if !x.Status.Finished() || !x.FinishedAt.Before(since) {
			want = append(want, k)
		}
	}
	got, err := s.LiveExecutions(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, x := range got {
		k := x.WorkspaceID + "/" + x.ExecutionID
		keys = append(keys, k)
		if w := byKey[k]; w != nil {
			checkExec(t, "LiveExecutions "+k, w, x)
		}
	}
	sort.Strings(keys)
	sort.Strings(want)
	if !slices.Equal(keys, want) {
		t.Errorf("LiveExecutions:\n got %v\nwant %v", keys, want)
	}
}

func testWorkspaces(t *testing.T, s Store) {
	if wss, err := s.Workspaces(ctx); err != nil || len(wss) != 0 {
		t.Errorf("empty store: Workspaces = %v, %v", wss, err)
	}
	write(t, s, func(tx ingest.Tx) error { return tx.TouchWorkspaces([]string{"ws-b", "ws-a", "ws-b"}, Base) })
	write(t, s, func(tx ingest.Tx) error { return tx.TouchWorkspaces([]string{"ws-a", "ws-c"}, Base.Add(time.Hour)) })
	write(t, s, func(tx ingest.Tx) error { return tx.TouchWorkspaces(nil, Base) })
	wss, err := s.Workspaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(wss)
	sort.Strings(got)
	if want := []string{"ws-a", "ws-b", "ws-c"}; !slices.Equal(got, want) {
		t.Errorf("Workspaces = %v, want each of %v once", wss, want)
	}
}

func diffKey(want, got auth.Key) []string {
	var d []string
	if want.ID != got.ID || want.WorkspaceID != got.WorkspaceID || want.Scope != got.Scope || !bytes.Equal(want.Hash, got.Hash) {
		d = append(d, fmt.Sprintf("got %s/%s/%s/%x, want %s/%s/%s/%x", got.ID, got.WorkspaceID, got.Scope, got.Hash,
			want.ID, want.WorkspaceID, want.Scope, want.Hash))
	}
	if !timeEq(want.CreatedAt, got.CreatedAt) {
		d = append(d, fmt.Sprintf("CreatedAt: got %s, want %s", fmtTime(got.CreatedAt), fmtTime(want.CreatedAt)))
	}
	switch {
	case (want.RevokedAt == nil) != (got.RevokedAt == nil):
		d = append(d, fmt.Sprintf("RevokedAt: got %v, want %v", got.RevokedAt, want.RevokedAt))
	case want.RevokedAt != nil && !want.RevokedAt.Equal(*got.RevokedAt):
		d = append(d, fmt.Sprintf("RevokedAt: got %s, want %s", fmtTime(*got.RevokedAt), fmtTime(*want.RevokedAt)))
	}
	return d
}

func testKeys(t *testing.T, s Store) {
	mk := func(id, ws string, sc auth.Scope, created time.Time) auth.Key {
		return auth.Key{ID: id, WorkspaceID: ws, Scope: sc, Hash: auth.Hash(auth.Secret("secret-" + id)), CreatedAt: created}
	}
	// Created out of order, two at the same time (the id decides).
	keys := []auth.Key{
		mk("key_c", "ws-a", auth.ScopeRead, Base.Add(2*time.Hour+5)),
		mk("key_b", "ws-a", auth.ScopeIngest, Base.Add(time.Hour)),
		mk("key_a", "ws-a", auth.ScopeAdmin, Base.Add(time.Hour)),
		mk("key_z", "ws-a", auth.ScopeIngest, Base.Add(-time.Hour)),
		mk("key_o", "ws-b", auth.ScopeAdmin, Base),
	}
	for _, k := range keys {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatalf("CreateKey %s: %v", k.ID, err)
		}
	}
	list := func(ws string) []auth.Key {
		t.Helper()
		got, err := s.Keys(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	check := func(what string, want, got []auth.Key) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d keys, want %d", what, len(got), len(want))
			return
		}
		for i := range want {
			if d := diffKey(want[i], got[i]); len(d) > 0 {
				t.Errorf("%s[%d]: %v", what, i, d)
			}
		}
	}
	wantA := []auth.Key{keys[3], keys[2], keys[1], keys[0]}
	check("Keys ws-a (oldest first, then by id)", wantA, list("ws-a"))
	check("Keys ws-b", []auth.Key{keys[4]}, list("ws-b"))
	check("Keys of a workspace without keys", nil, list("ws-none"))

	for _, k := range keys {
		got, err := s.KeyByHash(ctx, k.Hash)
		if err != nil {
			t.Errorf("KeyByHash %s: %v", k.ID, err)
			continue
		}
		if d := diffKey(k, *got); len(d) > 0 {
			t.Errorf("KeyByHash %s: %v", k.ID, d)
		}
	}
	_, err := s.KeyByHash(ctx, auth.Hash("unknown"))
	wantNotFound(t, "KeyByHash of an unknown hash", err)

	at := Base.Add(3*time.Hour + 42)
	if err := s.RevokeKey(ctx, "ws-a", "key_b", at); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	// Revoking again keeps the first time.
	if err := s.RevokeKey(ctx, "ws-a", "key_b", at.Add(time.Hour)); err != nil {
		t.Errorf("RevokeKey again: %v", err)
	}
	wantA[2].RevokedAt = &at
	check("Keys ws-a after revoke", wantA, list("ws-a"))
	if got, err := s.KeyByHash(ctx, keys[1].Hash); err != nil {
		t.Error(err)
	} else if d := diffKey(wantA[2], *got); len(d) > 0 {
		t.Errorf("KeyByHash of a revoked key: %v", d)
	}

	wantNotFound(t, "RevokeKey of a missing key", s.RevokeKey(ctx, "ws-a", "key_missing", at))
	wantNotFound(t, "RevokeKey of another workspace's key", s.RevokeKey(ctx, "ws-a", "key_o", at))
	check("Keys ws-b after a refused revoke", []auth.Key{keys[4]}, list("ws-b"))
}

func testExpire(t *testing.T, s Store) {
	// Rollups: cutoffs per tier; a bucket at the cutoff is kept.
	cut := map[rollup.Tier]int64{
		rollup.Minute: Base.Add(2 * time.Hour).Unix(),
		rollup.Hour:   Base.Add(-24 * time.Hour).Unix(),
		rollup.Day:    Base.Add(-10 * 24 * time.Hour).Unix(),
	}
	var rows []*rollup.Row
	for _, ws := range []string{"w1", "w2"} {
		for _, tier := range rollup.Tiers {
			c := cut[tier]
			w := tier.Seconds()
			for _, b := range []int64{c - 3*w, c - w, c, c + w, c + 5*w} {
				for _, a := range []string{"a", rollup.AllAgents} {
					rows = append(rows, &rollup.Row{Key: rollup.Key{WorkspaceID: ws, Tier: tier, Bucket: b, AgentID: a}, Started: 1})
				}
			}
		}
	}
	saveRollups(t, s, Base, rows...)

	// Raw data: an execution last changed before rawBefore goes, with all
	// its events, whenever they arrived.
	old, raw, recent := Base.Add(-10*24*time.Hour), Base.Add(-24*time.Hour), Base
	mkx := func(ws, id string) *execution.Execution {
		return &execution.Execution{WorkspaceID: ws, ExecutionID: id, AgentID: "a", Status: execution.StatusRunning,
			SeenAt: old, StartedAt: old}
	}
	insertEvents(t, s, old,
		event("w1", "x-old", "e-old-1", execution.Queued, old),
		event("w1", "x-keep", "e-keep-old", execution.Queued, old),
		event("w2", "x-old", "e-old-2", execution.Queued, old))
	saveExecs(t, s, old, mkx("w1", "x-old"), mkx("w2", "x-old"))
	insertEvents(t, s, raw, event("w1", "x-edge", "e-edge", execution.Queued, old))
	saveExecs(t, s, raw, mkx("w1", "x-edge"))
	insertEvents(t, s, recent, event("w1", "x-keep", "e-keep-new", execution.Started, old.Add(time.Second)))
	saveExecs(t, s, recent, mkx("w1", "x-keep"))

	wantDeleted := int64(2 /* events */ + 2 /* executions */)
	for _, r := range rows {
		if r.Bucket < cut[r.Tier] {
			wantDeleted++
		}
	}
	n, err := s.Expire(ctx, cut, raw.Unix())
	if err != nil {
		t.Fatalf("Expire: %v", err)
	}
	if n != wantDeleted {
		t.Errorf("Expire deleted %d rows, want %d", n, wantDeleted)
	}

	check := func(when string) {
		t.Helper()
		for _, ws := range []string{"w1", "w2"} {
			for _, tier := range rollup.Tiers {
				got, err := s.RollupRange(ctx, ws, tier, cut[tier]-100*tier.Seconds(), cut[tier]+100*tier.Seconds(), nil, false)
				if err != nil {
					t.Fatal(err)
				}
				var g, w []string
				for _, r := range got {
					g = append(g, keyString(r.Key))
				}
				for _, r := range rows {
					if r.WorkspaceID == ws && r.Tier == tier && r.Bucket >= cut[tier] {
						w = append(w, keyString(r.Key))
					}
				}
				sort.Strings(g)
				sort.Strings(w)
				if !slices.Equal(g, w) {
					t.Errorf("%s: rollups %s %s:\n got %v\nwant %v", when, ws, tier, g, w)
				}
			}
		}
		for _, k := range [][2]string{{"w1", "x-old"}, {"w2", "x-old"}} {
			_, _, err := s.Execution(ctx, k[0], k[1])
			wantNotFound(t, when+": execution updated before the cutoff "+k[0]+"/"+k[1], err)
		}
		for _, c := range []struct {
			ws, id string
			events []string
		}{{"w1", "x-keep", []string{"e-keep-old", "e-keep-new"}}, {"w1", "x-edge", []string{"e-edge"}}} {
			_, evs, err := s.Execution(ctx, c.ws, c.id)
			if err != nil {
				t.Errorf("%s: execution %s/%s: %v", when, c.ws, c.id, err)
				continue
			}
			var got []string
			for _, ev := range evs {
				got = append(got, ev.EventID)
			}
			if !slices.Equal(got, c.events) {
				t.Errorf("%s: events of %s/%s = %v, want %v", when, c.ws, c.id, got, c.events)
			}
		}
		// Deleted events are new again; kept ones are still duplicates.
		peek(t, s, func(tx ingest.Tx) error {
			got, err := tx.InsertEvents([]*execution.Event{
				event("w1", "x-old", "e-old-1", execution.Queued, old),
				event("w1", "x-keep", "e-keep-old", execution.Queued, old),
				event("w2", "x-old", "e-old-2", execution.Queued, old),
				event("w1", "x-edge", "e-edge", execution.Queued, old),
				event("w1", "x-keep", "e-keep-new", execution.Started, old.Add(time.Second)),
			}, recent)
			if err != nil {
				return err
			}
			if want := []bool{true, false, true, false, false}; !slices.Equal(got, want) {
				t.Errorf("%s: re-inserting events reports new = %v, want %v", when, got, want)
			}
			return nil
		})
	}
	check("after Expire")
	n, err = s.Expire(ctx, cut, raw.Unix())
	if err != nil || n != 0 {
		t.Errorf("second Expire: deleted %d, %v; want 0", n, err)
	}
	check("after a second Expire")
}

func testCheck(t *testing.T, s Store) {
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping on an empty store: %v", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Errorf("Check on an empty store: %v", err)
	}
	all := listData()
	saveExecs(t, s, Base, all...)
	k := rollup.Key{WorkspaceID: "w1", Tier: rollup.Hour, Bucket: Base.Unix(), AgentID: "a"}
	saveRollups(t, s, Base, makeRow(k, 3))
	insertEvents(t, s, Base, event("w1", "x", "e", execution.Queued, Base))
	if err := s.Check(ctx); err != nil {
		t.Errorf("Check after writes: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after writes: %v", err)
	}
}
