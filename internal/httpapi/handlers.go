package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shadower/shadower/internal/auth"
	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/metrics"
	"github.com/shadower/shadower/internal/patterns"
	"github.com/shadower/shadower/internal/resources"
)

func (a *API) postEvents(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := mayIngest(p); err != nil {
		return err
	}
	tooLarge := &execution.Error{Code: execution.ETooLarge, Message: fmt.Sprintf("a batch holds at most %d bytes", ingest.MaxBodyBytes), Where: "body"}
	if r.ContentLength > ingest.MaxBodyBytes {
		return tooLarge
	}
	// Under load, refuse before reading the body: decoding batches only to
	// refuse them would take the CPU the writer needs.
	if a.Ingest.Full(p.WorkspaceID) {
		return ingest.ErrOverloaded
	}
	if !p.Operator {
		if empty, wait := a.Limit.Empty(p.WorkspaceID); empty {
			return overRate(wait)
		}
	}
	body := http.MaxBytesReader(w, r.Body, ingest.MaxBodyBytes)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	ndjson := ct == "application/x-ndjson" || ct == "application/ndjson"
	gz := strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip")
	events, err := ingest.Decode(body, gz, ndjson, a.Now())
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || isMaxBytes(body) {
			return tooLarge
		}
		return err
	}
	if err := ownWorkspace(p, "ingest into", len(events), func(i int) string { return events[i].WorkspaceID }); err != nil {
		return err
	}
	counts := map[string]int{}
	for _, ev := range events {
		counts[ev.WorkspaceID]++
	}
	if ok, wait := a.Limit.Allow(counts); !ok {
		return overRate(wait)
	}
	res, err := a.Ingest.Ingest(r.Context(), events)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func overRate(wait time.Duration) error {
	return &execution.Error{Code: execution.EOverloaded, RetryAfter: wait,
		Message: "this workspace is over its ingest rate; nothing of the batch was stored, retry after the time in Retry-After"}
}

// isMaxBytes reports whether reading more of body hits the size limit.
func isMaxBytes(body io.Reader) bool {
	_, err := body.Read(make([]byte, 1))
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// readWindow reads the workspace and window of a metrics request.
func (a *API) readWindow(r *http.Request, p auth.Principal) (string, metrics.Window, error) {
	ws, err := workspaceParam(r, p, auth.ScopeRead)
	if err != nil {
		return "", metrics.Window{}, err
	}
	win, err := metrics.ParseWindow(r.URL.Query(), a.Now())
	return ws, win, err
}

func (a *API) getAll(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ws, win, err := a.readWindow(r, p)
	if err != nil {
		return err
	}
	all, err := a.Metrics.All(r.Context(), ws, win)
	if err != nil {
		return err
	}
	all.Realtime = a.Realtime.Snapshot(ws, win.Agents)
	return answer(w, all, nil)
}

func (a *API) getRealtime(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ws, err := workspaceParam(r, p, auth.ScopeRead)
	if err != nil {
		return err
	}
	agents, err := agentParams(r)
	if err != nil {
		return err
	}
	return answer(w, a.Realtime.Snapshot(ws, agents), nil)
}

// answer writes v, or returns err for the error mapping.
func answer(w http.ResponseWriter, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// windowSection serves one section computed over the request's window.
func windowSection[T any](a *API, compute func(*metrics.Engine, context.Context, string, metrics.Window) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		ws, win, err := a.readWindow(r, p)
		if err != nil {
			return err
		}
		v, err := compute(a.Metrics, r.Context(), ws, win)
		return answer(w, v, err)
	}
}

func (a *API) getForecast(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ws, err := workspaceParam(r, p, auth.ScopeRead)
	if err != nil {
		return err
	}
	agents, err := agentParams(r)
	if err != nil {
		return err
	}
	v, err := a.Metrics.Forecast(r.Context(), ws, agents)
	return answer(w, v, err)
}

func (a *API) listPatterns(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ws, win, err := a.readWindow(r, p)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := patterns.Filter{From: win.From, To: win.To, Agents: win.Agents, Metric: q.Get("metric"), Severity: q.Get("severity")}
	if f.Metric != "" && !slices.Contains(patterns.Metrics, patterns.Metric(f.Metric)) {
		return execution.ParamError("metric", "must be one of throughput, error_rate, duration_p95, queue_wait_p95")
	}
	if f.Severity != "" && f.Severity != "warning" && f.Severity != "critical" {
		return execution.ParamError("severity", "must be warning or critical")
	}
	f.Limit = 100
	if q.Has("limit") {
		if f.Limit, err = limitParam(q, patterns.MaxListed); err != nil {
			return err
		}
	}
	items, err := a.Metrics.FindingList(r.Context(), ws, f)
	return answer(w, map[string]any{"items": items}, err)
}

func (a *API) postHeartbeats(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := mayIngest(p); err != nil {
		return err
	}
	if r.ContentLength > resources.MaxBodyBytes {
		return &execution.Error{Code: execution.ETooLarge, Message: fmt.Sprintf("a batch holds at most %d bytes", resources.MaxBodyBytes), Where: "body"}
	}
	body := http.MaxBytesReader(w, r.Body, resources.MaxBodyBytes)
	hbs, err := resources.Decode(body, a.Now())
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &execution.Error{Code: execution.ETooLarge, Message: fmt.Sprintf("a batch holds at most %d bytes", resources.MaxBodyBytes), Where: "body"}
		}
		return err
	}
	if err := ownWorkspace(p, "report workers of", len(hbs), func(i int) string { return hbs[i].WorkspaceID }); err != nil {
		return err
	}
	if err := a.Workers.RecordHeartbeats(r.Context(), hbs); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": len(hbs)})
	return nil
}

// executionJSON is an execution as the API shows it.
type executionJSON struct {
	ExecutionID string               `json:"execution_id"`
	AgentID     string               `json:"agent_id"`
	Status      execution.Status     `json:"status"`
	QueuedAt    *time.Time           `json:"queued_at"`
	StartedAt   *time.Time           `json:"started_at"`
	FinishedAt  *time.Time           `json:"finished_at"`
	DurationMs  *float64             `json:"duration_ms"`
	QueueWaitMs *float64             `json:"queue_wait_ms"`
	WorkerID    string               `json:"worker_id"`
	Trigger     string               `json:"trigger"`
	Progress    *float64             `json:"progress"`
	Error       *execution.ErrorInfo `json:"error"`
	Credits     float64              `json:"credits"`
	Tokens      float64              `json:"tokens"`
}

func (a *API) toJSON(x *execution.Execution) executionJSON {
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	opt := func(v float64, ok bool) *float64 {
		if !ok {
			return nil
		}
		return &v
	}
	st := x.Status
	if !st.Finished() && x.SortAt().Before(a.Now().Add(-a.MaxRunTime)) {
		st = execution.StatusStale
	}
	return executionJSON{
		ExecutionID: x.ExecutionID, AgentID: x.AgentID, Status: st,
		QueuedAt: at(x.QueuedAt), StartedAt: at(x.StartedAt), FinishedAt: at(x.FinishedAt),
		DurationMs: opt(x.DurationMs()), QueueWaitMs: opt(x.QueueWaitMs()),
		WorkerID: x.WorkerID, Trigger: x.Trigger, Progress: x.Progress, Error: x.Error,
		Credits: x.Credits, Tokens: x.Tokens,
	}
}

const (
	defaultLimit = 100
	maxLimit     = 1000
)

func (a *API) listExecutions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ws, err := workspaceParam(r, p, auth.ScopeRead)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	now := a.Now()
	f := execution.ListFilter{WorkspaceID: ws, Limit: defaultLimit, StaleBefore: now.Add(-a.MaxRunTime)}
	if s := q.Get("status"); s != "" {
		st, ok := execution.ParseStatus(s)
		if !ok {
			return execution.ParamError("status", "must be one of queued, running, completed, failed, timed_out, cancelled, stale")
		}
		f.Status = st
	}
	if q.Get("timeframe") != "" || q.Get("from") != "" || q.Get("to") != "" {
		win, err := metrics.ParseWindow(q, now)
		if err != nil {
			return err
		}
		f.From, f.To, f.AgentIDs = win.From, win.To, win.Agents
	} else if f.AgentIDs, err = agentParams(r); err != nil {
		return err
	}
	if q.Has("limit") {
		if f.Limit, err = limitParam(q, maxLimit); err != nil {
			return err
		}
	}
	if c := q.Get("cursor"); c != "" {
		at, id, err := decodeCursor(c)
		if err != nil {
			return execution.ParamError("cursor", "is not a cursor this server gave")
		}
		f.AfterAt, f.AfterID = at, id
	}
	f.Limit++ // one more tells whether there is a next page
	xs, err := a.Store.Executions(r.Context(), f)
	if err != nil {
		return err
	}
	out := struct {
		Items      []executionJSON `json:"items"`
		NextCursor *string         `json:"next_cursor"`
	}{Items: []executionJSON{}}
	for i, x := range xs {
		if i == f.Limit-1 {
			c := encodeCursor(xs[i-1].SortAt(), xs[i-1].ExecutionID)
			out.NextCursor = &c
			break
		}
		out.Items = append(out.Items, a.toJSON(x))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixNano(), 10) + ":" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", err
	}
	ns, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || !execution.ValidID(id) {
		return time.Time{}, "", fmt.Errorf("bad cursor")
	}
	return time.Unix(0, n).UTC(), id, nil
}

func (a *API) getExecution(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ws, err := workspaceParam(r, p, auth.ScopeRead)
	if err != nil {
		return err
	}
	id := r.PathValue("execution_id")
	if !execution.ValidID(id) {
		return execution.ParamError("execution_id", "must be 1-128 characters of [A-Za-z0-9._:@/-]")
	}
	x, evs, err := a.Store.Execution(r.Context(), ws, id)
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []execution.StoredEvent{}
	}
	writeJSON(w, http.StatusOK, struct {
		executionJSON
		Events []execution.StoredEvent `json:"events"`
	}{a.toJSON(x), evs})
	return nil
}

func (a *API) listWorkspaces(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Operator {
		writeJSON(w, http.StatusOK, map[string][]string{"workspaces": {p.WorkspaceID}})
		return nil
	}
	wss, err := a.Store.Workspaces(r.Context())
	if err != nil {
		return err
	}
	if wss == nil {
		wss = []string{}
	}
	writeJSON(w, http.StatusOK, map[string][]string{"workspaces": wss})
	return nil
}

type keyJSON struct {
	ID          string     `json:"id"`
	Key         string     `json:"key,omitempty"`
	Scope       auth.Scope `json:"scope"`
	WorkspaceID string     `json:"workspace_id"`
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// keyWorkspace reads the workspace of a key route; managing keys takes the
// operator key or an admin key of that workspace.
func keyWorkspace(r *http.Request, p auth.Principal) (string, error) {
	ws := r.PathValue("id")
	if !execution.ValidID(ws) {
		return "", execution.ParamError("id", "must be 1-128 characters of [A-Za-z0-9._:@/-]")
	}
	return ws, p.Allow(ws, auth.ScopeAdmin)
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ws, err := keyWorkspace(r, p)
	if err != nil {
		return err
	}
	var body struct {
		Scope string `json:"scope"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil {
		return &execution.Error{Code: execution.EInvalid, Message: `body must be {"scope": "ingest" | "read" | "admin"}`, Where: "body"}
	}
	scope, ok := auth.ParseScope(body.Scope)
	if !ok {
		return &execution.Error{Code: execution.EInvalid, Message: "scope must be ingest, read or admin", Where: "scope"}
	}
	k, secret, err := auth.NewKey(ws, scope, a.Now())
	if err != nil {
		return err
	}
	if err := a.Store.CreateKey(r.Context(), k); err != nil {
		return err
	}
	a.Log.Info("key created", "workspace_id", ws, "key_id", k.ID, "scope", scope)
	writeJSON(w, http.StatusCreated, keyJSON{ID: k.ID, Key: string(secret), Scope: k.Scope, WorkspaceID: ws, CreatedAt: k.CreatedAt})
	return nil
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ws, err := keyWorkspace(r, p)
	if err != nil {
		return err
	}
	keys, err := a.Store.Keys(r.Context(), ws)
	if err != nil {
		return err
	}
	out := struct {
		Keys []keyJSON `json:"keys"`
	}{Keys: []keyJSON{}}
	for _, k := range keys {
		out.Keys = append(out.Keys, keyJSON{ID: k.ID, Scope: k.Scope, WorkspaceID: k.WorkspaceID, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ws, err := keyWorkspace(r, p)
	if err != nil {
		return err
	}
	if err := a.Store.RevokeKey(r.Context(), ws, r.PathValue("key_id"), a.Now()); err != nil {
		return err
	}
	a.Auth.Forget()
	a.Log.Info("key revoked", "workspace_id", ws, "key_id", r.PathValue("key_id"))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// limitParam reads the limit parameter: a whole number from 1 to most.
func limitParam(q url.Values, most int) (int, error) {
	n, err := strconv.Atoi(q.Get("limit"))
	if err != nil || n < 1 || n > most {
		return 0, execution.ParamError("limit", "must be a whole number from 1 to %d", most)
	}
	return n, nil
}

// mayIngest refuses a key whose scope may not write.
func mayIngest(p auth.Principal) error {
	if !p.Operator && p.Scope != auth.ScopeIngest && p.Scope != auth.ScopeAdmin {
		return execution.Errorf(execution.EForbidden, "this key has scope %q; %q is needed", p.Scope, auth.ScopeIngest)
	}
	return nil
}

// ownWorkspace refuses a batch of n items (item i of workspace ws(i)) that
// reaches outside the key's workspace; the operator may write anywhere.
func ownWorkspace(p auth.Principal, verb string, n int, ws func(i int) string) error {
	if p.Operator {
		return nil
	}
	for i := range n {
		if ws(i) != p.WorkspaceID {
			return &execution.Error{Code: execution.EForbidden,
				Message: "this key may only " + verb + " its own workspace; nothing of the batch was stored",
				Details: []execution.Detail{{Index: i, Field: "workspace_id", Message: "belongs to another workspace"}}}
		}
	}
	return nil
}
