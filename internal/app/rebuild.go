package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/shadower/shadower/internal/rollup"
)

// RebuildRollups recomputes the rollups of the whole UTC days covering
// [from, to) from raw rows, for every workspace, and replaces what is
// stored. Raw rows are kept for the raw retention only: rebuilding older
// days would erase their rollups, so the range must lie inside it. Run it
// while the server is stopped.
func RebuildRollups(ctx context.Context, cfg Config, from, to time.Time, out io.Writer) error {
	cfg.defaults()
	from = from.UTC().Truncate(24 * time.Hour)
	if t := to.UTC().Truncate(24 * time.Hour); t.Before(to) {
		to = t.Add(24 * time.Hour)
	}
	if !from.Before(to) {
		return fmt.Errorf("--from must be before --to")
	}
	if oldest := cfg.Now().Add(-cfg.Retention); from.Before(oldest) {
		return fmt.Errorf("--from %s is older than the raw retention (%s): its raw rows are gone, and rebuilding would erase its rollups",
			from.Format(time.DateOnly), oldest.Format(time.RFC3339))
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	wss, err := db.Workspaces(ctx)
	if err != nil {
		return err
	}
	for _, ws := range wss {
		xs, usage, err := db.RawRange(ctx, ws, from, to)
		if err != nil {
			return fmt.Errorf("%s: read raw rows: %w", ws, err)
		}
		rows, err := rollup.Recompute(xs, usage, from, to)
		if err != nil {
			return fmt.Errorf("%s: %w", ws, err)
		}
		if err := db.ReplaceRollups(ctx, ws, from, to, rows); err != nil {
			return fmt.Errorf("%s: write rollups: %w", ws, err)
		}
		fmt.Fprintf(out, "%s: %d executions, %d rollup rows for %s to %s\n", ws, len(xs), len(rows),
			from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	return nil
}
