package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/shadower/shadower/internal/auth"
	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/resources"
	"github.com/shadower/shadower/internal/sim"
)

// DemoHistory is how much history the demo backfills.
const DemoHistory = 7 * 24 * time.Hour

// Demo serves a simulated agent platform: it backfills a week of history
// through the HTTP ingest path, then sends live traffic until ctx ends. With
// no data directory it works in a temporary one, removed at exit.
func Demo(ctx context.Context, cfg Config, out io.Writer) error {
	cfg.defaults()
	if cfg.Data == "" {
		dir, err := os.MkdirTemp("", "shadower-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.Data = dir
	}
	if cfg.AdminKey == "" {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		cfg.AdminKey = auth.Secret("op_" + base64.RawURLEncoding.EncodeToString(b[:]))
	}
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	if wss, err := s.DB().Workspaces(ctx); err != nil || len(wss) > 0 {
		s.Shutdown(ctx)
		if err != nil {
			return err
		}
		return fmt.Errorf("the demo needs an empty data directory; %s already holds workspaces %v", cfg.Data, wss)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		defer cancel()
		s.Shutdown(sctx)
	}()

	platform := sim.NewPlatform(1)
	keys := map[string]auth.Secret{}
	for _, ws := range platform.Workspaces() {
		k, secret, err := auth.NewKey(ws, auth.ScopeRead, cfg.Now())
		if err != nil {
			return err
		}
		if err := s.DB().CreateKey(ctx, k); err != nil {
			return err
		}
		keys[ws] = secret
	}
	base := "http://" + s.Addr()
	first := platform.Workspaces()[0]
	fmt.Fprintf(out, "Shadower demo: backfilling %s of history for workspaces %v...\n", DemoHistory, platform.Workspaces())

	poster := newPoster(base, cfg.AdminKey)
	now := cfg.Now().UTC().Truncate(time.Millisecond)
	began := time.Now()
	// Workers report every 5 minutes in the backfill (history enough for
	// the resources charts), every 15 seconds live.
	platform.OnBeat(5*time.Minute, poster.beats(ctx))
	if err := poster.run(ctx, 2, func(emit func([]execution.Event) error) error {
		return platform.History(now.Add(-DemoHistory), now, 1000, emit)
	}); err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	platform.OnBeat(resources.DefaultEvery, poster.beats(ctx))
	// The detector started on an empty store: have it read the backfill.
	s.watcher.Reseed()
	fmt.Fprintf(out, "Backfilled %d events in %s.\n\n", poster.sent, time.Since(began).Round(time.Millisecond))
	// The key rides in the fragment, which browsers never send to a server.
	fmt.Fprintf(out, "Dashboard:  %s/#key=%s&workspace=%s\n\n", base, string(keys[first]), first)
	for _, ws := range platform.Workspaces() {
		fmt.Fprintf(out, "Read key for workspace %-8s %s\n", ws+":", string(keys[ws]))
	}
	fmt.Fprintf(out, "Operator key:  %s\n\n", string(cfg.AdminKey))
	fmt.Fprintf(out, "Try:\n  curl -s -H 'Authorization: Bearer %s' '%s/api/v1/metrics/execution?workspace_id=%s&timeframe=24h'\n\n",
		string(keys[first]), base, first)
	fmt.Fprintln(out, "Live traffic is running. It follows the simulated daily and weekly cycle (busiest 09-17 UTC on")
	fmt.Fprintln(out, "weekdays, quiet at night and on weekends; globex has a burst at 15:00 UTC). Press Ctrl-C to stop.")

	err = poster.run(ctx, 1, func(emit func([]execution.Event) error) error {
		return platform.Live(ctx, now, cfg.Now, 1000, emit)
	})
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		return nil
	}
	return err
}

// poster sends batches to the ingest endpoint from a few goroutines.
type poster struct {
	url    string
	key    auth.Secret
	client *http.Client
	mu     sync.Mutex
	sent   int
}

func newPoster(base string, key auth.Secret) *poster {
	return &poster{url: base, key: key, client: &http.Client{Timeout: time.Minute}}
}

// beats returns a sink that posts the simulated workers' heartbeats.
func (p *poster) beats(ctx context.Context) func([]sim.Beat) error {
	return func(bs []sim.Beat) error {
		hbs := make([]map[string]any, len(bs))
		for i, b := range bs {
			hbs[i] = map[string]any{"workspace_id": b.Workspace, "worker_id": b.Worker, "timestamp": b.At,
				"interval_seconds": int64(b.Every / time.Second), "capacity_slots": b.Slots, "busy_slots": b.Busy,
				"cpu_percent": b.CPUPercent, "memory_bytes": b.MemoryBytes, "memory_limit_bytes": b.MemoryLimit,
				"labels": map[string]string{"pool": b.Workspace, "runtime": "python3.12"}}
		}
		body, err := json.Marshal(hbs)
		if err != nil {
			return err
		}
		return p.post(ctx, "/api/v1/workers/heartbeat", body)
	}
}

// run feeds the batches produced by gen to workers posters; it returns the
// first error of either side.
func (p *poster) run(ctx context.Context, workers int, gen func(emit func([]execution.Event) error) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan []byte, workers*2)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := p.post(ctx, "/api/v1/events", b); err != nil {
					cancel(err)
				}
			}
		}()
	}
	err := gen(func(evs []execution.Event) error {
		body, err := json.Marshal(evs)
		if err != nil {
			return err
		}
		select {
		case batches <- body:
			p.mu.Lock()
			p.sent += len(evs)
			p.mu.Unlock()
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	})
	close(batches)
	wg.Wait()
	if err == nil {
		err = context.Cause(ctx)
		if errors.Is(err, context.Canceled) {
			err = nil
		}
	}
	return err
}

// post sends one batch to path, retrying while the server sheds load.
func (p *poster) post(ctx context.Context, path string, body []byte) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+string(p.key))
		req.Header.Set("Content-Type", "application/json")
		resp, err := p.client.Do(req)
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return nil
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		default:
			return fmt.Errorf("%s answered %s: %s", path, resp.Status, bytes.TrimSpace(msg))
		}
	}
}
