// Package httpapi is the HTTP face of the service: one route table, the
// handlers, authentication and the JSON error mapping.
package httpapi

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/shadower/shadower/internal/auth"
	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/metrics"
	"github.com/shadower/shadower/internal/realtime"
	"github.com/shadower/shadower/internal/resources"
)

// Ingester commits batches of events.
type Ingester interface {
	Ingest(ctx context.Context, events []*execution.Event) (ingest.Result, error)
	// Full reports whether a batch of workspace ws ("" for any) would be
	// refused for load right now.
	Full(ws string) bool
}

// Store is what the handlers read and write directly.
type Store interface {
	Executions(ctx context.Context, f execution.ListFilter) ([]*execution.Execution, error)
	Execution(ctx context.Context, ws, id string) (*execution.Execution, []execution.StoredEvent, error)
	Workspaces(ctx context.Context) ([]string, error)
	CreateKey(ctx context.Context, k auth.Key) error
	Keys(ctx context.Context, ws string) ([]auth.Key, error)
	RevokeKey(ctx context.Context, ws, id string, at time.Time) error
	Ping(ctx context.Context) error
}

// Workers stores heartbeats.
type Workers interface {
	RecordHeartbeats(ctx context.Context, hbs []*resources.Heartbeat) error
}

// Realtime answers the realtime section.
type Realtime interface {
	Snapshot(ws string, agents []string) realtime.Snapshot
}

// Live streams a workspace over a WebSocket.
type Live interface {
	// Serve fails, before answering, a request that is not a WebSocket
	// handshake it takes.
	Serve(w http.ResponseWriter, r *http.Request, ws string, agents []string) error
}

// API holds what the handlers need.
type API struct {
	Ingest   Ingester
	Store    Store
	Workers  Workers
	Realtime Realtime
	Metrics  *metrics.Engine
	Auth     *auth.Authenticator
	// Limit caps each workspace's ingest rate; nil for none.
	Limit *ingest.Limiter
	Live  Live
	// Static holds the dashboard's built files, served at /.
	Static     fs.FS
	Log        *slog.Logger
	Now        func() time.Time
	MaxRunTime time.Duration
	// Ready reports whether the server takes traffic (false while draining).
	Ready func() bool
}

// Handler returns the route table.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)

	mux.Handle("POST /api/v1/events", a.authed(a.postEvents))
	mux.Handle("GET /api/v1/metrics/execution", a.authed(a.getAll))
	mux.Handle("GET /api/v1/metrics/execution/realtime", a.authed(a.getRealtime))
	mux.Handle("GET /api/v1/metrics/execution/throughput", a.authed(windowSection(a, (*metrics.Engine).Throughput)))
	mux.Handle("GET /api/v1/metrics/execution/latency", a.authed(windowSection(a, (*metrics.Engine).Latency)))
	mux.Handle("GET /api/v1/metrics/execution/performance", a.authed(windowSection(a, (*metrics.Engine).Performance)))
	mux.Handle("GET /api/v1/metrics/execution/comparison", a.authed(windowSection(a, (*metrics.Engine).Comparison)))
	mux.Handle("GET /api/v1/metrics/execution/queue", a.authed(windowSection(a, (*metrics.Engine).Queue)))
	mux.Handle("GET /api/v1/metrics/execution/resources", a.authed(windowSection(a, (*metrics.Engine).Resources)))
	mux.Handle("GET /api/v1/metrics/execution/patterns", a.authed(windowSection(a, (*metrics.Engine).Patterns)))
	mux.Handle("GET /api/v1/metrics/execution/forecast", a.authed(a.getForecast))
	mux.Handle("GET /api/v1/patterns", a.authed(a.listPatterns))
	mux.Handle("POST /api/v1/workers/heartbeat", a.authed(a.postHeartbeats))
	mux.Handle("GET /api/v1/executions", a.authed(a.listExecutions))
	mux.Handle("GET /api/v1/executions/{execution_id}", a.authed(a.getExecution))
	mux.Handle("GET /api/v1/workspaces", a.authed(a.listWorkspaces))
	mux.Handle("POST /api/v1/workspaces/{id}/keys", a.authed(a.createKey))
	mux.Handle("GET /api/v1/workspaces/{id}/keys", a.authed(a.listKeys))
	mux.Handle("DELETE /api/v1/workspaces/{id}/keys/{key_id}", a.authed(a.revokeKey))
	mux.Handle("GET /api/v1/ws", a.authed(a.websocket))
	if a.Static != nil {
		// Without a method: "GET /" would conflict with the "/api/" catch-all.
		mux.Handle("/", dashboard(a.Static))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, a.Log, execution.Errorf(execution.ENotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// handlerFunc is a handler that returns its error for the JSON mapping.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// authed resolves the request's key before the handler runs; on every
// route it guards, no key or an unknown one is 401 whatever else is wrong
// with the request.
func (a *API) authed(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Auth.Authenticate(r.Context(), bearer(r))
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			writeError(w, r, a.Log, err)
		}
	})
}

// bearer reads the key from the Authorization header or, for browsers'
// WebSockets (which cannot set headers), from a "bearer.<key>" subprotocol.
// Neither lands in a log, unlike a query parameter.
func bearer(r *http.Request) auth.Secret {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return auth.Secret(strings.TrimSpace(h[7:]))
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if k, ok := strings.CutPrefix(strings.TrimSpace(p), "bearer."); ok {
				return auth.Secret(k)
			}
		}
	}
	return ""
}

func (a *API) websocket(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ws, err := workspaceParam(r, p, auth.ScopeRead)
	if err != nil {
		return err
	}
	agents, err := agentParams(r)
	if err != nil {
		return err
	}
	return a.Live.Serve(w, r, ws, agents)
}

// agentParams reads the repeatable agent_id parameter.
func agentParams(r *http.Request) ([]string, error) {
	var agents []string
	for _, ag := range r.URL.Query()["agent_id"] {
		if !execution.ValidID(ag) {
			return nil, execution.ParamError("agent_id", "must be 1-128 characters of [A-Za-z0-9._:@/-]")
		}
		agents = append(agents, ag)
	}
	return agents, nil
}

// dashboard serves the built dashboard; paths that are not files get
// index.html, so the app's own routes survive a reload.
func dashboard(files fs.FS) http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name != "" {
			if st, err := fs.Stat(files, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				fileServer.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, "index.html")
	})
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	if a.Ready != nil && !a.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.Store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// workspaceParam reads workspace_id and checks the principal may act on it.
func workspaceParam(r *http.Request, p auth.Principal, need auth.Scope) (string, error) {
	ws := r.URL.Query().Get("workspace_id")
	if ws == "" {
		return "", execution.ParamError("workspace_id", "workspace_id is required")
	}
	if !execution.ValidID(ws) {
		return "", execution.ParamError("workspace_id", "must be 1-128 characters of [A-Za-z0-9._:@/-]")
	}
	return ws, p.Allow(ws, need)
}
