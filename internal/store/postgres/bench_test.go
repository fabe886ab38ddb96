package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
)

const benchEvents = 50_000

// benchBatch is 50,000 events: 12,500 executions of 20 agents, each
// queued, started, reporting progress with usage, and finished, over ten
// minutes.
func benchBatch(round int, base time.Time) []*execution.Event {
	evs := make([]*execution.Event, 0, benchEvents)
	credits, tokens, progress := 0.25, 1500.0, 50.0
	for i := range benchEvents / 4 {
		id := fmt.Sprintf("r%d-x%05d", round, i)
		agent := fmt.Sprintf("agent-%02d", i%20)
		at := base.Add(time.Duration(i) * 48 * time.Millisecond)
		mk := func(suffix string, typ execution.Type, d time.Duration) *execution.Event {
			return &execution.Event{EventID: id + suffix, Type: typ, ExecutionID: id, WorkspaceID: "bench", AgentID: agent,
				Timestamp: at.Add(d), WorkerID: "worker-1"}
		}
		q, s, p, c := mk("-q", execution.Queued, 0), mk("-s", execution.Started, 300*time.Millisecond),
			mk("-p", execution.Progress, time.Second), mk("-c", execution.Completed, 2*time.Second+time.Duration(i%900)*time.Millisecond)
		p.Progress, p.Credits, p.Tokens = &progress, &credits, &tokens
		if i%10 == 0 {
			c.Type = execution.Failed
			c.Error = &execution.ErrorInfo{Type: "ValueError", Message: "bad input"}
		}
		evs = append(evs, q, s, p, c)
	}
	return evs
}

// BenchmarkWrite ingests 50,000 events per operation through the ingest
// service (one commit: ids claimed, events logged, executions loaded and
// saved, rollup rows loaded and saved) and reports events per second.
// "nocache" is how nodes sharing a database run: every rollup row is read
// back under its lock.
func BenchmarkWrite(b *testing.B) {
	for _, c := range []struct {
		name  string
		cache int
	}{{"nocache", -1}, {"cache", 0}} {
		b.Run(c.name, func(b *testing.B) {
			db := open(b, freshDSN(b))
			svc := ingest.New(db, ingest.Options{CacheRows: c.cache})
			defer svc.Close()
			base := time.Now().UTC().Add(-time.Hour)
			// One round first, so the partitions and rows exist as in a
			// running service.
			if _, err := svc.Ingest(context.Background(), benchBatch(-1, base)); err != nil {
				b.Fatal(err)
			}
			batches := make([][]*execution.Event, b.N)
			for i := range batches {
				batches[i] = benchBatch(i, base)
			}
			b.ResetTimer()
			for i := range b.N {
				res, err := svc.Ingest(context.Background(), batches[i])
				if err != nil {
					b.Fatal(err)
				}
				if res.Accepted != benchEvents {
					b.Fatalf("accepted %d of %d", res.Accepted, benchEvents)
				}
			}
			b.ReportMetric(float64(b.N*benchEvents)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkInsertEvents measures the id claim and event log alone.
func BenchmarkInsertEvents(b *testing.B) {
	db := open(b, freshDSN(b))
	base := time.Now().UTC().Add(-time.Hour)
	batches := make([][]*execution.Event, b.N)
	for i := range batches {
		batches[i] = benchBatch(i, base)
	}
	b.ResetTimer()
	for i := range b.N {
		err := db.Write(context.Background(), func(tx ingest.Tx) error {
			_, err := tx.InsertEvents(batches[i], time.Now())
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchEvents)/b.Elapsed().Seconds(), "events/s")
}
