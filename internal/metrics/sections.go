package metrics

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/shadower/shadower/internal/realtime"
)

// Throughput is the throughput section.
type Throughput struct {
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	StepSeconds   int64     `json:"step_seconds"`
	Total         int64     `json:"total"`
	Started       int64     `json:"started"`
	Completed     int64     `json:"completed"`
	Failed        int64     `json:"failed"`
	TimedOut      int64     `json:"timed_out"`
	Cancelled     int64     `json:"cancelled"`
	PerMinute     float64   `json:"per_minute"`
	PerHour       float64   `json:"per_hour"`
	PerDay        float64   `json:"per_day"`
	PeakPerMinute int64     `json:"peak_per_minute"`
	PreviousTotal int64     `json:"previous_total"`
	TrendPct      *float64  `json:"trend_pct"`
	Series        []Point   `json:"series"`
}

// Point is one bucket of the throughput series.
type Point struct {
	T         time.Time `json:"t"`
	Started   int64     `json:"started"`
	Total     int64     `json:"total"`
	Completed int64     `json:"completed"`
	Failed    int64     `json:"failed"`
	TimedOut  int64     `json:"timed_out"`
	Cancelled int64     `json:"cancelled"`
}

// Latency is the latency section: run time of finished executions and
// queue wait of started ones.
type Latency struct {
	Count        int64         `json:"count"`
	MinMs        *float64      `json:"min_ms"`
	MaxMs        *float64      `json:"max_ms"`
	MeanMs       *float64      `json:"mean_ms"`
	P50Ms        *float64      `json:"p50_ms"`
	P75Ms        *float64      `json:"p75_ms"`
	P90Ms        *float64      `json:"p90_ms"`
	P95Ms        *float64      `json:"p95_ms"`
	P99Ms        *float64      `json:"p99_ms"`
	Distribution []HistBucket  `json:"distribution"`
	QueueWait    QueueWaitStat `json:"queue_wait"`
}

// HistBucket counts durations in [FromMs, ToMs).
type HistBucket struct {
	FromMs float64 `json:"from_ms"`
	ToMs   float64 `json:"to_ms"`
	Count  uint64  `json:"count"`
}

// QueueWaitStat summarises queue waits.
type QueueWaitStat struct {
	Count  int64    `json:"count"`
	MinMs  *float64 `json:"min_ms"`
	MeanMs *float64 `json:"mean_ms"`
	P50Ms  *float64 `json:"p50_ms"`
	P75Ms  *float64 `json:"p75_ms"`
	P90Ms  *float64 `json:"p90_ms"`
	P95Ms  *float64 `json:"p95_ms"`
	P99Ms  *float64 `json:"p99_ms"`
	MaxMs  *float64 `json:"max_ms"`
}

// Performance is the performance section.
type Performance struct {
	Total       int64        `json:"total"`
	Completed   int64        `json:"completed"`
	Failed      int64        `json:"failed"`
	TimedOut    int64        `json:"timed_out"`
	Cancelled   int64        `json:"cancelled"`
	SuccessRate *float64     `json:"success_rate"`
	ByAgent     []AgentPerf  `json:"by_agent"`
	ByHour      []HourPerf   `json:"by_hour"`
	ByErrorType []ErrorCount `json:"by_error_type"`
	TZ          string       `json:"tz"`
}

// AgentPerf is one agent's figures in the window.
type AgentPerf struct {
	AgentID     string   `json:"agent_id"`
	Total       int64    `json:"total"`
	Completed   int64    `json:"completed"`
	Failed      int64    `json:"failed"`
	TimedOut    int64    `json:"timed_out"`
	Cancelled   int64    `json:"cancelled"`
	SuccessRate *float64 `json:"success_rate"`
	MeanMs      *float64 `json:"mean_ms"`
	P50Ms       *float64 `json:"p50_ms"`
	P95Ms       *float64 `json:"p95_ms"`
	P99Ms       *float64 `json:"p99_ms"`
}

// HourPerf is one hour of the day, in the requested time zone.
type HourPerf struct {
	Hour        int      `json:"hour"`
	Total       int64    `json:"total"`
	Completed   int64    `json:"completed"`
	Failed      int64    `json:"failed"`
	TimedOut    int64    `json:"timed_out"`
	Cancelled   int64    `json:"cancelled"`
	SuccessRate *float64 `json:"success_rate"`
}

// ErrorCount counts failures of one error type.
type ErrorCount struct {
	ErrorType string `json:"error_type"`
	Count     int64  `json:"count"`
}

// Comparison sets each headline figure beside the previous window's.
type Comparison struct {
	From           time.Time `json:"from"`
	To             time.Time `json:"to"`
	PreviousFrom   time.Time `json:"previous_from"`
	PreviousTo     time.Time `json:"previous_to"`
	Total          Change    `json:"total"`
	Completed      Change    `json:"completed"`
	Failed         Change    `json:"failed"`
	TimedOut       Change    `json:"timed_out"`
	Cancelled      Change    `json:"cancelled"`
	SuccessRate    Change    `json:"success_rate"`
	PerHour        Change    `json:"per_hour"`
	MeanMs         Change    `json:"mean_ms"`
	P50Ms          Change    `json:"p50_ms"`
	P95Ms          Change    `json:"p95_ms"`
	P99Ms          Change    `json:"p99_ms"`
	QueueWaitP95Ms Change    `json:"queue_wait_p95_ms"`
}

// Change is one figure now and in the previous window; Change and
// ChangePct are null when either side is unknown (or, for the percentage,
// when the previous value is 0).
type Change struct {
	Current   *float64 `json:"current"`
	Previous  *float64 `json:"previous"`
	Change    *float64 `json:"change"`
	ChangePct *float64 `json:"change_pct"`
}

// All is the combined answer.
type All struct {
	Realtime    realtime.Snapshot `json:"realtime"`
	Throughput  *Throughput       `json:"throughput"`
	Latency     *Latency          `json:"latency"`
	Performance *Performance      `json:"performance"`
	Patterns    *Patterns         `json:"patterns"`
	Resources   *Resources        `json:"resources"`
	Comparison  *Comparison       `json:"comparison"`
	Queue       *Queue            `json:"queue"`
	Forecast    *Forecast         `json:"forecast"`
}

// All computes every window section at once, one goroutine each, sharing
// one memo: rows two sections need are read once, and the sections run
// on every core there is. The realtime section is the caller's.
func (e *Engine) All(ctx context.Context, ws string, w Window) (*All, error) {
	eng := e.Shared()
	all := &All{}
	tasks := []func() error{
		func() (err error) { all.Performance, err = eng.Performance(ctx, ws, w); return err },
		func() (err error) { all.Throughput, err = eng.Throughput(ctx, ws, w); return err },
		func() (err error) { all.Latency, err = eng.Latency(ctx, ws, w); return err },
		func() (err error) { all.Comparison, err = eng.Comparison(ctx, ws, w); return err },
		func() (err error) { all.Queue, err = eng.Queue(ctx, ws, w); return err },
		func() (err error) { all.Resources, err = eng.Resources(ctx, ws, w); return err },
		func() (err error) { all.Patterns, err = eng.Patterns(ctx, ws, w); return err },
		func() (err error) { all.Forecast, err = eng.Forecast(ctx, ws, w.Agents); return err },
	}
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, t := range tasks {
		wg.Go(func() { errs[i] = t() })
	}
	wg.Wait()
	return all, errors.Join(errs...)
}
