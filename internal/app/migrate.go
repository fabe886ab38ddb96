package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/patterns"
	"github.com/shadower/shadower/internal/rollup"
	"github.com/shadower/shadower/internal/store/sqlite"
)

// MigrateSchema opens the store cfg names, which brings its schema up to
// date, and closes it.
func MigrateSchema(ctx context.Context, cfg Config) error {
	cfg.defaults()
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	cfg.Logger.Info("schema up to date", "store", db.Path())
	return db.Close()
}

// copyPage is how many rows each step of a migration copies.
const copyPage = 5000

// Migrate copies an embedded store's data (workspaces, keys, executions,
// events, rollups, gauges, workers and findings) into the store cfg names, as it is: nothing is
// recomputed, so every answer stays the same. Executions count as changed
// at the migration, so raw retention starts afresh for them. Stop the
// server first.
func Migrate(ctx context.Context, from string, cfg Config, out io.Writer) error {
	cfg.defaults()
	src, err := sqlite.Open(ctx, from)
	if err != nil {
		return fmt.Errorf("open %s: %w", from, err)
	}
	defer src.Close()
	dst, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer dst.Close()
	wss, err := src.Workspaces(ctx)
	if err != nil {
		return err
	}
	now := cfg.Now()
	for _, ws := range wss {
		var nx, ne, nr int
		// Executions and events, a page at a time.
		for after := ""; ; {
			xs, err := src.ExecutionsPage(ctx, ws, after, copyPage)
			if err != nil || len(xs) == 0 {
				if err != nil {
					return err
				}
				break
			}
			if err := dst.Write(ctx, func(tx ingest.Tx) error {
				if err := tx.TouchWorkspaces([]string{ws}, now); err != nil {
					return err
				}
				return tx.SaveExecutions(xs, now)
			}); err != nil {
				return fmt.Errorf("%s: copy executions: %w", ws, err)
			}
			nx += len(xs)
			after = xs[len(xs)-1].ExecutionID
		}
		for after := ""; ; {
			evs, err := src.EventsPage(ctx, ws, after, copyPage)
			if err != nil || len(evs) == 0 {
				if err != nil {
					return err
				}
				break
			}
			// Events keep the second they were received, which retention counts from.
			if err := dst.Write(ctx, func(tx ingest.Tx) error {
				for start := 0; start < len(evs); {
					end := start
					var batch []*execution.Event
					for ; end < len(evs) && evs[end].ReceivedAt.Equal(evs[start].ReceivedAt); end++ {
						batch = append(batch, &evs[end].Event)
					}
					if _, err := tx.InsertEvents(batch, evs[start].ReceivedAt); err != nil {
						return err
					}
					start = end
				}
				return nil
			}); err != nil {
				return fmt.Errorf("%s: copy events: %w", ws, err)
			}
			ne += len(evs)
			after = evs[len(evs)-1].EventID
		}
		// Rollups, a tier and thirty days at a time, over every day the
		// longest retention keeps (and the few minutes ahead timestamps may be).
		const step = 30 * 24 * 3600
		first := now.Add(-rollup.Retention[rollup.Day]).Unix() - step
		for _, tier := range rollup.Tiers {
			for lo := first; lo < now.Unix()+step; lo += step {
				rows, err := src.RollupRange(ctx, ws, tier, lo, lo+step, nil, true)
				if err != nil {
					return err
				}
				if len(rows) == 0 {
					continue
				}
				m := make(map[rollup.Key]*rollup.Row, len(rows))
				for _, r := range rows {
					m[r.Key] = r
				}
				if err := dst.Write(ctx, func(tx ingest.Tx) error { return tx.SaveRollups(m) }); err != nil {
					return fmt.Errorf("%s: copy rollups: %w", ws, err)
				}
				nr += len(rows)
			}
		}
		ng, nw, nf, err := migrateResources(ctx, src, dst, ws, now)
		if err != nil {
			return fmt.Errorf("%s: %w", ws, err)
		}
		// Keys, with their revocations.
		keys, err := src.Keys(ctx, ws)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := dst.CreateKey(ctx, k); err != nil {
				return fmt.Errorf("%s: copy key %s: %w", ws, k.ID, err)
			}
			if k.RevokedAt != nil {
				if err := dst.RevokeKey(ctx, ws, k.ID, *k.RevokedAt); err != nil {
					return err
				}
			}
		}
		fmt.Fprintf(out, "%s: %d executions, %d events, %d rollup rows, %d gauge rows, %d workers, %d findings, %d keys\n",
			ws, nx, ne, nr, ng, nw, nf, len(keys))
	}
	return nil
}

// migrateResources copies the gauge rows, workers and findings of ws.
func migrateResources(ctx context.Context, src *sqlite.DB, dst store, ws string, now time.Time) (gauges, workers, findings int, err error) {
	const step = 30 * 24 * 3600
	first := now.Add(-rollup.Retention[rollup.Day]).Unix() - step
	for _, tier := range rollup.Tiers {
		for lo := first; lo < now.Unix()+step; lo += step {
			rows, err := src.GaugeRange(ctx, ws, tier, lo, lo+step, rollup.Gauges)
			if err != nil {
				return gauges, workers, findings, err
			}
			if err := dst.SaveGaugeRows(ctx, ws, rows); err != nil {
				return gauges, workers, findings, fmt.Errorf("copy gauge rows: %w", err)
			}
			gauges += len(rows)
		}
	}
	ws0, err := src.Workers(ctx, ws, time.Time{})
	if err != nil {
		return gauges, workers, findings, err
	}
	if err := dst.SaveWorkers(ctx, ws0); err != nil {
		return gauges, workers, findings, fmt.Errorf("copy workers: %w", err)
	}
	workers = len(ws0)
	// Findings a day at a time: one read returns at most patterns.MaxListed.
	seen := map[string]bool{}
	for day := now.Add(-rollup.Retention[rollup.Hour]).Truncate(24 * time.Hour); day.Before(now.Add(24 * time.Hour)); day = day.Add(24 * time.Hour) {
		rs, err := src.Findings(ctx, ws, day, day.Add(24*time.Hour))
		if err != nil {
			return gauges, workers, findings, err
		}
		var fresh []patterns.Record
		for _, r := range rs {
			if !seen[r.ID] {
				seen[r.ID] = true
				fresh = append(fresh, r)
			}
		}
		if err := dst.SaveFindings(ctx, fresh); err != nil {
			return gauges, workers, findings, fmt.Errorf("copy findings: %w", err)
		}
		findings += len(fresh)
	}
	return gauges, workers, findings, nil
}
