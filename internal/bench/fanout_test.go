package bench

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/live"
	"github.com/shadower/shadower/internal/realtime"
)

// nowSnapshots answers an empty realtime section taken now: all Fanout
// reads of it is "at".
type nowSnapshots struct{}

func (nowSnapshots) Snapshot(string, []string) realtime.Snapshot {
	return realtime.Snapshot{RunningExecutions: []realtime.Running{}, At: time.Now().UTC()}
}

// hubServer serves the real hub on /api/v1/ws behind a check of the key's
// subprotocol, the way the server takes a browser's key.
func hubServer(t *testing.T, key string) (*live.Hub, *httptest.Server) {
	t.Helper()
	hub := live.NewHub(nowSnapshots{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/ws" || !strings.Contains(r.Header.Get("Sec-WebSocket-Protocol"), "bearer."+key) {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		hub.Serve(w, r, r.URL.Query().Get("workspace_id"), nil)
	}))
	// The hub closes its clients before the listener stops waiting for them.
	t.Cleanup(ts.Close)
	t.Cleanup(hub.Close)
	return hub, ts
}

// startedIn returns a change that starts a new execution in ws, which
// marks the workspace changed and sends every client an
// execution_started before the update.
func startedIn(hub *live.Hub, ws string) func(context.Context) (time.Time, error) {
	var n atomic.Int64
	return func(context.Context) (time.Time, error) {
		id := "fan-" + strconv.FormatInt(n.Add(1), 10)
		hub.Observe([]execution.Update{{
			Execution: execution.Execution{WorkspaceID: ws, ExecutionID: id, AgentID: "agent-0", StartedAt: time.Now()},
			Change:    execution.Change{Started: true},
		}})
		return time.Now(), nil
	}
}

// TestFanout runs the measurement against the real hub: every client
// connects and sees every change within the hub's bound of 750 ms between
// pushes plus a 250 ms tick.
func TestFanout(t *testing.T) {
	const ws, key = "alpha", "shk_test"
	hub, ts := hubServer(t, key)
	began := time.Now()
	res, err := Fanout(t.Context(), &Process{Base: ts.URL}, ws, key, 200, 3, startedIn(hub, ws))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v in %v", res, time.Since(began))
	if res.Clients != 200 || res.Connected != 200 || res.Rounds != 3 {
		t.Errorf("clients %d, connected %d, rounds %d; want 200, 200, 3", res.Clients, res.Connected, res.Rounds)
	}
	if res.Missed != 0 || res.Dropped != 0 {
		t.Errorf("missed %d, dropped %d; want none", res.Missed, res.Dropped)
	}
	if res.LagMaxMs >= 1500 || res.LagP50Ms > res.LagP99Ms || res.LagP99Ms > res.LagMaxMs {
		t.Errorf("lags p50 %v, p99 %v, max %v ms: want ordered and under 1500", res.LagP50Ms, res.LagP99Ms, res.LagMaxMs)
	}
	if res.ServerCPUCores != 0 || res.ServerRSSMax != 0 {
		t.Errorf("no child process, yet CPU %v and RSS %d", res.ServerCPUCores, res.ServerRSSMax)
	}
	// The hub lets a client go once it has answered its close.
	for deadline := time.Now().Add(2 * time.Second); hub.Clients() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := hub.Clients(); n != 0 {
		t.Errorf("%d clients still connected", n)
	}
}

// TestFanoutWrongKey fails when no client gets in.
func TestFanoutWrongKey(t *testing.T) {
	hub, ts := hubServer(t, "shk_right")
	res, err := Fanout(t.Context(), &Process{Base: ts.URL}, "alpha", "shk_wrong", 3, 1, startedIn(hub, "alpha"))
	if err == nil || res.Connected != 0 {
		t.Fatalf("connected %d, err %v; want an error", res.Connected, err)
	}
}

func TestUpdateAt(t *testing.T) {
	at := time.Date(2026, 3, 4, 12, 0, 0, 123456789, time.UTC)
	for _, tc := range []struct {
		name, msg string
		update    bool
	}{
		{"the hub's order", `{"type":"execution_update","data":{"running":1,"running_executions":[{"execution_id":"x","started_at":"2026-03-04T11:00:00Z"}],"at":"2026-03-04T12:00:00.123456789Z"}}`, true},
		{"other order", `{"data":{"at":"2026-03-04T12:00:00.123456789Z","running":0},"type":"execution_update"}`, true},
		{"space after colons", `{"type": "execution_update", "data": {"at": "2026-03-04T13:00:00.123456789+01:00"}}`, true},
		{"started", `{"type":"execution_started","data":{"execution_id":"x","started_at":"2026-03-04T12:00:00.123456789Z"}}`, false},
		{"anomaly with a type of its own", `{"type":"anomaly_detected","data":{"type":"execution_update","at":"2026-03-04T12:00:00.123456789Z"}}`, false},
		{"no at", `{"type":"execution_update","data":{"running":0}}`, false},
		{"not JSON", `{"type":"execution_update","data":`, false},
	} {
		got, ok := updateAt([]byte(tc.msg))
		if ok != tc.update || ok && got != at.UnixNano() {
			t.Errorf("%s: %v %v, want %v %v", tc.name, time.Unix(0, got).UTC(), ok, at, tc.update)
		}
	}
}

// TestResolve matches a client's updates to rounds whose changes are
// called 100 ms before their T, 1 s apart.
func TestResolve(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		name string
		ats  []time.Duration // "at" of each update, from round 1's T; each arrives 10 ms later
		want []time.Duration // per round, the "at" of the update counted; -1 for none
	}{
		{"one each", []time.Duration{-500 * ms, 250 * ms, 1250 * ms, 2500 * ms},
			[]time.Duration{250 * ms, 1250 * ms, 2500 * ms}},
		{"an idle push first", []time.Duration{250 * ms, 500 * ms, 1250 * ms, 2250 * ms},
			[]time.Duration{250 * ms, 1250 * ms, 2250 * ms}},
		{"round 2 folded into 3", []time.Duration{250 * ms, 2250 * ms},
			[]time.Duration{250 * ms, -1, 2250 * ms}},
		{"none for the last", []time.Duration{250 * ms, 1250 * ms, 1500 * ms},
			[]time.Duration{250 * ms, 1250 * ms, -1}},
		// The server pushed round 2 between its call and T, so nothing came
		// after T until round 3.
		{"pushed before the acknowledgement", []time.Duration{250 * ms, 950 * ms, 2250 * ms},
			[]time.Duration{250 * ms, 950 * ms, 2250 * ms}},
		// Rounds 2 and 3 both pushed before their acknowledgements: each
		// round counts its own update, not the next round's.
		{"pushed before the acknowledgement, twice", []time.Duration{250 * ms, 950 * ms, 1950 * ms},
			[]time.Duration{250 * ms, 950 * ms, 1950 * ms}},
		{"an early update, then one after T", []time.Duration{250 * ms, 950 * ms, 1250 * ms, 2250 * ms},
			[]time.Duration{250 * ms, 1250 * ms, 2250 * ms}},
		{"the last only early", []time.Duration{250 * ms, 1250 * ms, 1950 * ms},
			[]time.Duration{250 * ms, 1250 * ms, 1950 * ms}},
		// Round 2's update came between round 3's call and T: it carries
		// round 2, and may carry round 3, which then has no other.
		{"one between the next call and T", []time.Duration{250 * ms, 1950 * ms},
			[]time.Duration{250 * ms, 1950 * ms, 1950 * ms}},
	} {
		base := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC).UnixNano()
		f := &fanout{call: make([]atomic.Int64, 3), at: make([]atomic.Int64, 3)}
		f.began.Store(3)
		for k := range f.at {
			f.call[k].Store(base + int64(time.Duration(k)*time.Second-100*ms))
			f.at[k].Store(base + int64(time.Duration(k)*time.Second))
		}
		// Arrivals are kept as time since the start, which must not be 0.
		recv := func(at time.Duration) time.Duration { return time.Hour + at + 10*ms }
		c := &fanClient{got: make([]time.Duration, 3)}
		for _, at := range tc.ats {
			c.queue = append(c.queue, arrival{at: base + int64(at), recv: recv(at)})
			f.resolve(c, false)
		}
		f.resolve(c, true)
		for k, at := range tc.want {
			if want := recv(at); at < 0 && c.got[k] != 0 || at >= 0 && c.got[k] != want {
				t.Errorf("%s: round %d counted the update at %v, want %v", tc.name, k+1, c.got[k]-recv(0), at)
			}
		}
	}
}
