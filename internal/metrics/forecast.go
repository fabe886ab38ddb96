package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/shadower/shadower/internal/patterns"
	"github.com/shadower/shadower/internal/rollup"
)

// Forecast history and horizon.
const (
	ForecastHistory = 28 * 24 * time.Hour
	ForecastHorizon = 24 // hours
)

// Forecast is the forecast section: executions expected per hour over the
// next day, and whether the workers can keep up.
type Forecast struct {
	Available       bool             `json:"available"`
	Reason          string           `json:"reason"`
	GeneratedAt     time.Time        `json:"generated_at"`
	Model           string           `json:"model"`
	HistoryHours    int              `json:"history_hours"`
	StepSeconds     int64            `json:"step_seconds"`
	Series          []ForecastPoint  `json:"series"`
	BacktestMAPEPct *float64         `json:"backtest_mape_pct"`
	CapacityPerHour *float64         `json:"capacity_per_hour"`
	CapacityWarning *CapacityWarning `json:"capacity_warning"`
}

// ForecastPoint is one hour ahead.
type ForecastPoint struct {
	T        time.Time `json:"t"`
	Expected float64   `json:"expected"`
	Lower    float64   `json:"lower"`
	Upper    float64   `json:"upper"`
}

// CapacityWarning is the first hour expected to need more than the workers have.
type CapacityWarning struct {
	T               time.Time `json:"t"`
	Expected        float64   `json:"expected"`
	CapacityPerHour float64   `json:"capacity_per_hour"`
}

// Forecast computes the forecast section for the selected agents.
func (e *Engine) Forecast(ctx context.Context, ws string, agents []string) (*Forecast, error) {
	now := e.now().UTC()
	end := now.Truncate(time.Hour)
	f := &Forecast{GeneratedAt: now, StepSeconds: 3600, Series: []ForecastPoint{}}
	sel := selection(Window{Agents: agents})
	from := end.Add(-ForecastHistory)
	rows, err := e.rollups.RollupRange(ctx, ws, rollup.Hour, from.Unix(), end.Unix(), sel, false)
	if err != nil {
		return nil, err
	}
	counts := make([]float64, int(ForecastHistory/time.Hour))
	first := len(counts)
	for _, r := range rows {
		i := int((r.Bucket - from.Unix()) / 3600)
		counts[i] += float64(r.Finished())
		if r.Finished() > 0 {
			first = min(first, i)
		}
	}
	// History starts with the first hour anything finished.
	history := counts[min(first, len(counts)):]
	fc, err := patterns.Hourly(history, end, ForecastHorizon)
	if errors.Is(err, patterns.ErrShortHistory) {
		f.HistoryHours = len(history)
		f.Reason = fmt.Sprintf("a forecast needs 48 hours of history; this selection has %d", len(history))
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	f.Available, f.Model, f.HistoryHours = true, fc.Model, fc.HistoryHours
	if fc.BacktestMAPE != nil {
		f.BacktestMAPEPct = ptr(math.Round(*fc.BacktestMAPE*10) / 10)
	}
	for _, p := range fc.Series {
		f.Series = append(f.Series, ForecastPoint{T: p.T, Expected: round1(p.Expected), Lower: round1(p.Lower), Upper: round1(p.Upper)})
	}
	c, err := e.capacityPerHour(ctx, ws, sel, now)
	if err != nil || c == 0 {
		return f, err
	}
	f.CapacityPerHour = &c
	for _, p := range f.Series {
		if p.Expected > c {
			f.CapacityWarning = &CapacityWarning{T: p.T, Expected: p.Expected, CapacityPerHour: c}
			break
		}
	}
	return f, nil
}

// capacityPerHour is what the active workers can finish in an hour: their
// slots over the mean run time of the last 24 hours; 0 when unknown (no
// workers or no runs).
func (e *Engine) capacityPerHour(ctx context.Context, ws string, sel []string, now time.Time) (float64, error) {
	workers, err := e.src.Workers.Workers(ctx, ws, now.Add(-LostListed))
	if err != nil {
		return 0, err
	}
	var slots int64
	for _, w := range workers {
		if !w.Lost(now) {
			slots += w.CapacitySlots
		}
	}
	if slots == 0 {
		return 0, nil
	}
	from := now.Truncate(time.Minute).Add(-24 * time.Hour)
	rows, err := e.cover(ctx, ws, from, now.Truncate(time.Minute), rollup.Hour, sel, false)
	if err != nil {
		return 0, err
	}
	var count int64
	var sum float64
	for _, r := range rows {
		count += r.Duration.Count
		sum += r.Duration.Sum
	}
	if count == 0 || sum <= 0 {
		return 0, nil
	}
	meanSeconds := sum / float64(count) / 1000
	return round1(float64(slots) * 3600 / meanSeconds), nil
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
