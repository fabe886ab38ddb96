package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Accuracy is the worst relative error of the answered percentiles of one
// window against the exact nearest-rank values of the generated data.
type Accuracy struct {
	Window      string  `json:"window"`
	Scope       string  `json:"scope"` // "workspace" or "by_agent"
	Checked     int     `json:"percentiles_checked"`
	MaxErrorPct float64 `json:"max_error_pct"`
}

// accuracy checks the latency section (p50 to p99) and the performance
// section's per-agent p50, p95 and p99 over every window.
func accuracy(ctx context.Context, base, key string, w Workload, n int) ([]Accuracy, error) {
	type run struct {
		finished time.Time
		agent    string
		ms       float64
	}
	var runs []run
	for i := 0; i < n; i += w.Workspaces { // the queried workspace is execution i % Workspaces == 0
		x := w.At(i)
		runs = append(runs, run{x.Finished, x.Agent, x.Duration()})
	}
	var out []Accuracy
	for _, win := range windows {
		q := "?workspace_id=" + queried + "&timeframe=" + win
		var tp struct{ From, To time.Time }
		var lat struct {
			P50Ms *float64 `json:"p50_ms"`
			P75Ms *float64 `json:"p75_ms"`
			P90Ms *float64 `json:"p90_ms"`
			P95Ms *float64 `json:"p95_ms"`
			P99Ms *float64 `json:"p99_ms"`
		}
		var perf struct {
			ByAgent []struct {
				AgentID string   `json:"agent_id"`
				P50Ms   *float64 `json:"p50_ms"`
				P95Ms   *float64 `json:"p95_ms"`
				P99Ms   *float64 `json:"p99_ms"`
			} `json:"by_agent"`
		}
		for _, c := range []struct {
			path string
			dst  any
		}{{"throughput", &tp}, {"latency", &lat}, {"performance", &perf}} {
			_, b, err := get(ctx, base+"/api/v1/metrics/execution/"+c.path+q, key)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(b, c.dst); err != nil {
				return nil, err
			}
		}
		all := []float64{}
		byAgent := map[string][]float64{}
		for _, r := range runs {
			if !r.finished.Before(tp.From) && r.finished.Before(tp.To) {
				all = append(all, r.ms)
				byAgent[r.agent] = append(byAgent[r.agent], r.ms)
			}
		}
		ws := Accuracy{Window: win, Scope: "workspace"}
		sort.Float64s(all)
		for _, p := range []struct {
			got *float64
			q   float64
		}{{lat.P50Ms, 0.5}, {lat.P75Ms, 0.75}, {lat.P90Ms, 0.9}, {lat.P95Ms, 0.95}, {lat.P99Ms, 0.99}} {
			if len(all) > 0 && p.got != nil {
				ws.Checked++
				ws.MaxErrorPct = math.Max(ws.MaxErrorPct, relErr(*p.got, rank(all, p.q)))
			}
		}
		ag := Accuracy{Window: win, Scope: "by_agent"}
		for _, a := range perf.ByAgent {
			v := byAgent[a.AgentID]
			sort.Float64s(v)
			for _, p := range []struct {
				got *float64
				q   float64
			}{{a.P50Ms, 0.5}, {a.P95Ms, 0.95}, {a.P99Ms, 0.99}} {
				if len(v) > 0 && p.got != nil {
					ag.Checked++
					ag.MaxErrorPct = math.Max(ag.MaxErrorPct, relErr(*p.got, rank(v, p.q)))
				}
			}
		}
		ws.MaxErrorPct, ag.MaxErrorPct = round2(ws.MaxErrorPct), round2(ag.MaxErrorPct)
		out = append(out, ws, ag)
	}
	return out, nil
}

// relErr is |got - want| / want in percent; answers are rounded to the
// microsecond, so values below that compare as equal.
func relErr(got, want float64) float64 {
	if math.Abs(got-want) < 0.001 {
		return 0
	}
	return math.Abs(got-want) / want * 100
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				m.MemBytes = kb * 1024
			}
		}
	}
	return m
}

// dirSize is the bytes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
