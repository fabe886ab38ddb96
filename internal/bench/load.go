package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// client is the load process's HTTP client: enough idle connections for
// the concurrent posters, no compression.
var client = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
	MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true,
}}

// post sends body to path with key and decodes the answer into out,
// retrying while the server sheds load (429, 503).
func post(ctx context.Context, base, path, key string, body []byte, out any) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK, http.StatusCreated:
			if out != nil {
				return json.Unmarshal(b, out)
			}
			return nil
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		default:
			return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
		}
	}
}

// get does one GET and returns how long it took, its body read to the end.
func get(ctx context.Context, url, key string) (time.Duration, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(b))
	}
	return d, b, err
}

// IngestResult is one load of events.
type IngestResult struct {
	Events       int64   `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	ServerRSSMax int64   `json:"server_rss_max_bytes"`
}

// loadEvents posts events [from, to) of w in batches of batch events from
// clients concurrent posters, and checks every event was accepted.
func loadEvents(ctx context.Context, srv *Process, key string, w Workload, from, to, batch, clients int) (IngestResult, error) {
	n := (to - from + batch - 1) / batch
	return postBatches(ctx, srv, key, n, clients, func(i int) ([]byte, int) {
		lo := from + i*batch
		hi := min(lo+batch, to)
		return w.Events(lo, hi), hi - lo
	})
}

// loadLive posts the live stream of w's executions [from, to) in waves of
// wave executions (Workload.LiveBatch) from clients concurrent posters.
func loadLive(ctx context.Context, srv *Process, key string, w Workload, from, to, wave, clients int) (IngestResult, error) {
	waves := (to - from + wave - 1) / wave
	return postBatches(ctx, srv, key, waves+2, clients, func(j int) ([]byte, int) {
		return w.LiveBatch(from, to, wave, j)
	})
}

// postBatches posts batches [0, n) built by body (which also says how many
// events it holds) from clients concurrent posters, and checks every event
// was accepted.
func postBatches(ctx context.Context, srv *Process, key string, n, clients int, body func(i int) ([]byte, int)) (IngestResult, error) {
	srv.ResetMaxRSS()
	var next, sent, accepted atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	t0 := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				b, events := body(i)
				var res struct {
					Accepted, Duplicates int
				}
				if err := post(ctx, srv.Base, "/api/v1/events", key, b, &res); err != nil {
					errs <- err
					return
				}
				sent.Add(int64(events))
				accepted.Add(int64(res.Accepted))
			}
		}()
	}
	wg.Wait()
	took := time.Since(t0)
	close(errs)
	if err := <-errs; err != nil {
		return IngestResult{}, err
	}
	if a, s := accepted.Load(), sent.Load(); a != s {
		return IngestResult{}, fmt.Errorf("%d of %d events accepted", a, s)
	}
	events := sent.Load()
	return IngestResult{Events: events, Seconds: round2(took.Seconds()),
		EventsPerSec: float64(int64(float64(events) / took.Seconds())), ServerRSSMax: srv.MaxRSS()}, nil
}

// Latency is the spread of one request's answer times.
type Latency struct {
	Requests int     `json:"requests"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	// FirstMs is the warm-up request, outside the percentiles: for the
	// first request of a window after a load, what nothing cached costs.
	FirstMs float64 `json:"first_ms,omitempty"`
}

// measure GETs each of urls once, timed apart (its first answer), then n
// times in rounds: every url once a round. Interleaved, a spell of other
// work on the machine falls once on many requests' samples, as it would
// on a dashboard's, rather than on many samples of the one request timed
// during it.
func measure(ctx context.Context, urls []string, key string, n int) ([]Latency, error) {
	first := make([]time.Duration, len(urls))
	samples := make([][]time.Duration, len(urls))
	for i, u := range urls {
		d, _, err := get(ctx, u, key)
		if err != nil {
			return nil, err
		}
		first[i] = d
		samples[i] = make([]time.Duration, 0, n)
	}
	for range n {
		for i, u := range urls {
			d, _, err := get(ctx, u, key)
			if err != nil {
				return nil, err
			}
			samples[i] = append(samples[i], d)
		}
	}
	out := make([]Latency, len(urls))
	for i := range urls {
		out[i] = latencyOf(samples[i])
		out[i].FirstMs = round2(float64(first[i]) / float64(time.Millisecond))
	}
	return out, nil
}

func latencyOf(ds []time.Duration) Latency {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	ms := func(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }
	return Latency{Requests: len(ds), P50Ms: ms(rank(ds, 0.5)), P99Ms: ms(rank(ds, 0.99)), MaxMs: ms(ds[len(ds)-1])}
}

// rank is the nearest-rank quantile of sorted values.
func rank[T any](sorted []T, q float64) T {
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
