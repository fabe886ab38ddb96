// Package app wires the service together and runs its lifecycle: open the
// store, rebuild the live view, serve, and drain on shutdown.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadower/shadower/internal/auth"
	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/httpapi"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/live"
	"github.com/shadower/shadower/internal/metrics"
	"github.com/shadower/shadower/internal/patterns"
	"github.com/shadower/shadower/internal/peer"
	"github.com/shadower/shadower/internal/realtime"
	"github.com/shadower/shadower/internal/resources"
	"github.com/shadower/shadower/internal/rollup"
	"github.com/shadower/shadower/internal/store/postgres"
	"github.com/shadower/shadower/internal/store/sqlite"
	"github.com/shadower/shadower/web"
)

// Config is everything the server is told at start.
type Config struct {
	Addr       string
	Data       string // directory of the embedded store
	DB         string // a PostgreSQL URL, instead of the embedded store
	AdminKey   auth.Secret
	MaxRunTime time.Duration
	Retention  time.Duration // raw events and executions
	// WorkspaceRate caps each workspace's ingest in events per second
	// (bursts of WorkspaceBurst); 0 or less for no limit.
	WorkspaceRate  float64
	WorkspaceBurst float64
	Logger         *slog.Logger
	Now            func() time.Time
	// Quiet runs no background sampling or detection (tests that need
	// answers independent of timing drive them by hand).
	Quiet bool
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxRunTime <= 0 {
		c.MaxRunTime = 24 * time.Hour
	}
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
}

// store is what the server needs from a database; each store package
// provides it.
type store interface {
	ingest.Store
	httpapi.Store
	metrics.Rollups
	auth.KeyStore
	LiveExecutions(ctx context.Context, since time.Time) ([]*execution.Execution, error)
	Expire(ctx context.Context, tierBefore map[rollup.Tier]int64, rawBefore int64) (int64, error)
	RawRange(ctx context.Context, ws string, from, to time.Time) (map[string]*execution.Execution, []execution.Event, error)
	ReplaceRollups(ctx context.Context, ws string, from, to time.Time, rows map[rollup.Key]*rollup.Row) error
	httpapi.Workers
	metrics.Gauges
	metrics.Workers
	metrics.Findings
	patterns.Source
	RecordGauges(ctx context.Context, samples []rollup.GaugeSample) error
	SaveGaugeRows(ctx context.Context, ws string, rows []rollup.GaugeRow) error
	SaveWorkers(ctx context.Context, ws []resources.Worker) error
	Path() string
	Close() error
}

var (
	_ store = (*sqlite.DB)(nil)
	_ store = (*postgres.DB)(nil)
)

// openStore opens the store the configuration names.
func openStore(ctx context.Context, cfg Config) (store, error) {
	if cfg.DB != "" {
		if !strings.HasPrefix(cfg.DB, "postgres://") && !strings.HasPrefix(cfg.DB, "postgresql://") {
			return nil, fmt.Errorf("--db %s: only postgres:// URLs are supported", redactURL(cfg.DB))
		}
		return postgres.Open(ctx, cfg.DB)
	}
	return sqlite.Open(ctx, cfg.Data)
}

// Server is a running service.
type Server struct {
	cfg      Config
	db       store
	ingest   *ingest.Service
	live     *realtime.State
	hub      *live.Hub
	spans    *metrics.SpanCache
	http     *http.Server
	ln       net.Listener
	draining atomic.Bool
	host     *resources.HostSampler
	watcher  *patterns.Watcher
	// stopBackground ends the detector and the samplers; background waits
	// for them.
	stopBackground context.CancelFunc
	background     sync.WaitGroup
	// stopListening ends the subscription to other nodes' updates.
	stopListening context.CancelFunc
	stop          chan struct{}
	done          chan struct{}
}

// Start opens the store, rebuilds the realtime view and starts serving.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg.defaults()
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, db: db, stop: make(chan struct{}), done: make(chan struct{})}
	s.live = realtime.New(cfg.MaxRunTime, cfg.Now)
	s.hub = live.NewHub(s.live, cfg.Logger)
	s.spans = metrics.NewSpanCache(cfg.Now)
	observe := func(u []execution.Update) {
		s.spans.Forget(u) // before the batch is answered: no stale answer after it
		s.live.Observe(u) // first, so the hub's snapshots include the commit
		s.hub.Observe(u)
	}
	opts := ingest.Options{Now: cfg.Now, Logger: cfg.Logger, Observe: observe}
	listenCtx, stopListening := context.WithCancel(context.Background())
	s.stopListening = stopListening
	if pg, ok := db.(*postgres.DB); ok {
		// Other nodes may share the database: no rollup cache, and every
		// commit tells the others what changed, as they tell us.
		node := newNodeID()
		opts.CacheRows = -1
		opts.Announce = func(u []execution.Update) []string { return peer.Encode(node, u) }
		recv := &peer.Receiver{Node: node, Store: pg, Observe: observe}
		go postgres.ListenUpdates(listenCtx, cfg.DB, func(msg string) {
			if err := recv.Receive(listenCtx, msg); err != nil && listenCtx.Err() == nil {
				cfg.Logger.Error("apply another node's update", "err", err)
			}
		})
	}
	// Listen first, then load: nothing committed meanwhile is missed.
	recent, err := db.LiveExecutions(ctx, cfg.Now().Add(-realtime.RecentWindow))
	if err != nil {
		stopListening()
		s.hub.Close()
		db.Close()
		return nil, fmt.Errorf("rebuild realtime view: %w", err)
	}
	s.live.Load(recent)
	s.ingest = ingest.New(db, opts)

	s.host = resources.NewHostSampler()
	s.host.Sample()
	s.watcher = patterns.NewWatcher(db, cfg.Now, patterns.Announce{
		Finding: func(ws string, r patterns.Record) {
			agent := ""
			if r.AgentID != nil {
				agent = *r.AgentID
			}
			s.hub.Publish(ws, agent, "anomaly_detected", r)
		},
		Replayed: func(ws string, n int) {
			s.hub.Publish(ws, "", "anomalies_replayed", map[string]int{"findings": n})
		},
	}, cfg.Logger)
	engine := metrics.NewEngine(metrics.Sources{Rollups: db, Gauges: db, Workers: db, Findings: db, Live: s.live,
		Detector: s.watcher, Host: s.host.Latest, Spans: s.spans}, cfg.Now)
	api := &httpapi.API{
		Ingest: s.ingest, Store: db, Workers: db, Realtime: s.live,
		Metrics: engine, Auth: auth.NewAuthenticator(db, cfg.AdminKey),
		Live: s.hub, Static: web.Files(), Log: cfg.Logger,
		// Rates are about wall-clock time, whatever clock the server is given.
		Limit: ingest.NewLimiter(cfg.WorkspaceRate, cfg.WorkspaceBurst, time.Now), Now: cfg.Now, MaxRunTime: cfg.MaxRunTime,
		Ready: func() bool { return !s.draining.Load() },
	}
	s.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		s.hub.Close()
		s.ingest.Close()
		db.Close()
		return nil, err
	}
	s.http = &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("serve", "err", err)
		}
	}()
	go s.expireLoop()
	bg, stopBackground := context.WithCancel(context.Background())
	s.stopBackground = stopBackground
	if !cfg.Quiet {
		s.background.Add(2)
		go func() {
			defer s.background.Done()
			s.watcher.Run(bg)
		}()
		go func() {
			defer s.background.Done()
			s.sampleLoop(bg)
		}()
	}
	cfg.Logger.Info("serving", "addr", s.Addr(), "store", db.Path(), "executions_open", len(recent))
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// DB is the store the server runs on.
func (s *Server) DB() store { return s.db }

// Shutdown stops taking requests, lets those in flight finish (every batch
// acknowledged is committed before its answer), then closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.stopListening()
	s.hub.Close() // WebSockets are hijacked: Shutdown would not close them
	err := s.http.Shutdown(ctx)
	close(s.stop)
	<-s.done
	s.stopBackground()
	s.background.Wait()
	s.ingest.Close()
	return errors.Join(err, s.db.Close())
}

// expireLoop enforces retention every ten minutes.
func (s *Server) expireLoop() {
	defer close(s.done)
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		s.expire()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

func (s *Server) expire() {
	now := s.cfg.Now()
	cut := map[rollup.Tier]int64{}
	for t, d := range rollup.Retention {
		cut[t] = now.Add(-d).Unix()
	}
	rawBefore := now.Add(-s.cfg.Retention)
	n, err := s.db.Expire(context.Background(), cut, rawBefore.Unix())
	if err != nil {
		s.cfg.Logger.Error("retention", "err", err)
		return
	}
	s.live.Forget(rawBefore)
	if n > 0 {
		s.spans.Reset() // cached spans may hold rows just removed
		s.cfg.Logger.Info("retention", "rows_deleted", n)
	}
}

// Run serves until ctx ends, then drains.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	cfg.Logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

// newNodeID names this process among the nodes sharing a database.
func newNodeID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i > 0 {
		if j := strings.Index(u, "://"); j > 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}
