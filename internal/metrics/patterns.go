package metrics

import (
	"context"
	"time"

	"github.com/shadower/shadower/internal/patterns"
)

// Patterns is the patterns section: the detector's findings overlapping
// the window.
type Patterns struct {
	From      time.Time         `json:"from"`
	To        time.Time         `json:"to"`
	Anomalies []patterns.Record `json:"anomalies"`
	Bursts    []patterns.Record `json:"bursts"`
	Detector  patterns.Status   `json:"detector"`
}

// Patterns computes the patterns section.
func (e *Engine) Patterns(ctx context.Context, ws string, w Window) (*Patterns, error) {
	all, err := e.src.Findings.Findings(ctx, ws, w.From, w.To)
	if err != nil {
		return nil, err
	}
	p := &Patterns{From: w.From, To: w.To, Anomalies: patterns.Filter{Agents: w.Agents}.Apply(all), Bursts: []patterns.Record{},
		Detector: e.src.Detector.Status(ws)}
	for _, r := range p.Anomalies {
		if r.Metric == string(patterns.Throughput) && r.Direction == "up" {
			p.Bursts = append(p.Bursts, r)
		}
	}
	return p, nil
}

// FindingList answers GET /api/v1/patterns.
func (e *Engine) FindingList(ctx context.Context, ws string, f patterns.Filter) ([]patterns.Record, error) {
	all, err := e.src.Findings.Findings(ctx, ws, f.From, f.To)
	if err != nil {
		return nil, err
	}
	return f.Apply(all), nil
}
