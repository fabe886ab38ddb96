package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shadower/shadower/internal/patterns"
	"github.com/shadower/shadower/internal/resources"
	"github.com/shadower/shadower/internal/rollup"
)

// RecordHeartbeats stores a batch of heartbeats, all or nothing: each
// worker's latest report, and every reading in the gauge tiers.
func (db *DB) RecordHeartbeats(ctx context.Context, hbs []*resources.Heartbeat) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var samples []rollup.GaugeSample
		b := &pgx.Batch{}
		for _, h := range hbs {
			labels, err := json.Marshal(h.Labels)
			if err != nil {
				return err
			}
			b.Queue(`INSERT INTO workspaces (workspace_id, created_at) VALUES ($1, now()) ON CONFLICT DO NOTHING`, h.WorkspaceID)
			// A late heartbeat only widens first_seen: the latest report wins.
			b.Queue(`INSERT INTO workers AS w (workspace_id, worker_id, capacity_slots, busy_slots, cpu_percent,
					memory_bytes, memory_limit_bytes, labels, interval_seconds, first_seen, last_seen)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
				ON CONFLICT (workspace_id, worker_id) DO UPDATE SET
					first_seen = least(w.first_seen, excluded.first_seen),
					capacity_slots = CASE WHEN excluded.last_seen >= w.last_seen THEN excluded.capacity_slots ELSE w.capacity_slots END,
					busy_slots = CASE WHEN excluded.last_seen >= w.last_seen THEN excluded.busy_slots ELSE w.busy_slots END,
					cpu_percent = CASE WHEN excluded.last_seen >= w.last_seen THEN excluded.cpu_percent ELSE w.cpu_percent END,
					memory_bytes = CASE WHEN excluded.last_seen >= w.last_seen THEN excluded.memory_bytes ELSE w.memory_bytes END,
					memory_limit_bytes = CASE WHEN excluded.last_seen >= w.last_seen THEN excluded.memory_limit_bytes ELSE w.memory_limit_bytes END,
					labels = CASE WHEN excluded.last_seen >= w.last_seen THEN excluded.labels ELSE w.labels END,
					interval_seconds = CASE WHEN excluded.last_seen >= w.last_seen THEN excluded.interval_seconds ELSE w.interval_seconds END,
					last_seen = greatest(w.last_seen, excluded.last_seen)`,
				h.WorkspaceID, h.WorkerID, *h.CapacitySlots, *h.BusySlots, h.CPUPercent, h.MemoryBytes, h.MemoryLimitBytes,
				string(labels), *h.IntervalSeconds, h.At())
			samples = append(samples, h.Samples()...)
		}
		queueGauges(b, samples)
		return tx.SendBatch(ctx, b).Close()
	})
}

// RecordGauges adds readings to the gauge tiers.
func (db *DB) RecordGauges(ctx context.Context, samples []rollup.GaugeSample) error {
	if len(samples) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		queueGauges(b, samples)
		return tx.SendBatch(ctx, b).Close()
	})
}

func queueGauges(b *pgx.Batch, samples []rollup.GaugeSample) {
	for _, s := range samples {
		for _, t := range rollup.Tiers {
			b.Queue(`INSERT INTO gauge_metrics AS g (workspace_id, tier, gauge, bucket, key, samples, value_sum, value_min, value_max)
				VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $6)
				ON CONFLICT (workspace_id, tier, gauge, bucket, key) DO UPDATE SET
					samples = g.samples + 1, value_sum = g.value_sum + excluded.value_sum,
					value_min = least(g.value_min, excluded.value_min), value_max = greatest(g.value_max, excluded.value_max)`,
				s.WorkspaceID, int16(t), s.Gauge, t.Bucket(s.At), s.Key, s.Value)
		}
	}
}

// GaugeRange returns the rows of the given gauges in one tier with buckets
// in [from, to), in gauge and bucket order.
func (db *DB) GaugeRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, gauges []string) ([]rollup.GaugeRow, error) {
	rows, err := db.pool.Query(ctx, `SELECT gauge, bucket, key, samples, value_sum, value_min, value_max FROM gauge_metrics
		WHERE workspace_id = $1 AND tier = $2 AND gauge = ANY($3) AND bucket >= $4 AND bucket < $5
		ORDER BY gauge, bucket, key`, ws, int16(tier), gauges, from, to)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (rollup.GaugeRow, error) {
		g := rollup.GaugeRow{Tier: tier}
		err := r.Scan(&g.Gauge, &g.Bucket, &g.Key, &g.Samples, &g.Sum, &g.Min, &g.Max)
		return g, err
	})
}

// Workers lists the workers of ws last seen at or after since.
func (db *DB) Workers(ctx context.Context, ws string, since time.Time) ([]resources.Worker, error) {
	rows, err := db.pool.Query(ctx, `SELECT worker_id, capacity_slots, busy_slots, cpu_percent, memory_bytes,
			memory_limit_bytes, labels, interval_seconds, first_seen, last_seen
		FROM workers WHERE workspace_id = $1 AND last_seen >= $2 ORDER BY worker_id`, ws, since)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (resources.Worker, error) {
		w := resources.Worker{WorkspaceID: ws}
		err := r.Scan(&w.WorkerID, &w.CapacitySlots, &w.BusySlots, &w.CPUPercent, &w.MemoryBytes, &w.MemoryLimitBytes,
			&w.Labels, &w.IntervalSeconds, &w.FirstSeen, &w.LastSeen)
		w.FirstSeen, w.LastSeen = w.FirstSeen.UTC(), w.LastSeen.UTC()
		return w, err
	})
}

// SaveFindings inserts findings or updates them in place (by id).
func (db *DB) SaveFindings(ctx context.Context, rs []patterns.Record) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, r := range rs {
			contrib, err := json.Marshal(r.Contributors)
			if err != nil {
				return err
			}
			b.Queue(`INSERT INTO execution_patterns (workspace_id, id, metric, agent_id, direction, started_at, ended_at,
					ongoing, observed, expected, score, severity, baseline, explanation, contributors, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
				ON CONFLICT (workspace_id, id) DO UPDATE SET ended_at = excluded.ended_at, ongoing = excluded.ongoing,
					observed = excluded.observed, expected = excluded.expected, score = excluded.score,
					severity = excluded.severity, baseline = excluded.baseline, explanation = excluded.explanation,
					contributors = excluded.contributors, updated_at = excluded.updated_at`,
				r.WorkspaceID, r.ID, r.Metric, r.AgentKey(), r.Direction, r.Start, r.End, r.Ongoing,
				r.Observed, r.Expected, r.Score, r.Severity, r.Baseline, r.Explanation, string(contrib), r.UpdatedAt)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// Findings lists the findings of ws overlapping [from, to), newest first.
func (db *DB) Findings(ctx context.Context, ws string, from, to time.Time) ([]patterns.Record, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, metric, agent_id, direction, started_at, ended_at, ongoing, observed,
			expected, score, severity, baseline, explanation, contributors, updated_at
		FROM execution_patterns WHERE workspace_id = $1 AND started_at < $2 AND ended_at > $3
		ORDER BY started_at DESC, id LIMIT $4`, ws, to, from, patterns.MaxListed)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (patterns.Record, error) {
		r := patterns.Record{WorkspaceID: ws}
		var agent string
		err := row.Scan(&r.ID, &r.Metric, &agent, &r.Direction, &r.Start, &r.End, &r.Ongoing, &r.Observed,
			&r.Expected, &r.Score, &r.Severity, &r.Baseline, &r.Explanation, &r.Contributors, &r.UpdatedAt)
		if agent != rollup.AllAgents {
			r.AgentID = &agent
		}
		r.Start, r.End, r.UpdatedAt = r.Start.UTC(), r.End.UTC(), r.UpdatedAt.UTC()
		return r, err
	})
}

// expireResources deletes gauge rows past their tier's retention, findings
// that ended before the hour tier's, and workers silent since rawBefore.
func (db *DB) expireResources(ctx context.Context, ws string, tierBefore map[rollup.Tier]int64, rawBefore time.Time) (int64, error) {
	var total int64
	del := func(q string, args ...any) error {
		for {
			tag, err := db.pool.Exec(ctx, q, append(args, deleteChunk)...)
			if err != nil {
				return err
			}
			total += tag.RowsAffected()
			if tag.RowsAffected() < deleteChunk {
				return nil
			}
		}
	}
	for tier, before := range tierBefore {
		if err := del(`DELETE FROM gauge_metrics WHERE (workspace_id, tier, gauge, bucket, key) IN (
			SELECT workspace_id, tier, gauge, bucket, key FROM gauge_metrics
			WHERE workspace_id = $1 AND tier = $2 AND bucket < $3 LIMIT $4)`, ws, int16(tier), before); err != nil {
			return total, err
		}
	}
	if before, ok := tierBefore[rollup.Hour]; ok {
		if err := del(`DELETE FROM execution_patterns WHERE (workspace_id, id) IN (
			SELECT workspace_id, id FROM execution_patterns WHERE workspace_id = $1 AND ended_at < $2 LIMIT $3)`,
			ws, time.Unix(before, 0)); err != nil {
			return total, err
		}
	}
	err := del(`DELETE FROM workers WHERE (workspace_id, worker_id) IN (
		SELECT workspace_id, worker_id FROM workers WHERE workspace_id = $1 AND last_seen < $2 LIMIT $3)`, ws, rawBefore)
	return total, err
}

// SaveGaugeRows stores gauge rows as they are, replacing any of the same
// key (a migration's copy).
func (db *DB) SaveGaugeRows(ctx context.Context, ws string, rows []rollup.GaugeRow) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, g := range rows {
			b.Queue(`INSERT INTO gauge_metrics (workspace_id, tier, gauge, bucket, key, samples, value_sum, value_min, value_max)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				ON CONFLICT (workspace_id, tier, gauge, bucket, key) DO UPDATE SET samples = excluded.samples,
					value_sum = excluded.value_sum, value_min = excluded.value_min, value_max = excluded.value_max`,
				ws, int16(g.Tier), g.Gauge, g.Bucket, g.Key, g.Samples, g.Sum, g.Min, g.Max)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// SaveWorkers stores workers as they are, replacing any of the same id (a
// migration's copy).
func (db *DB) SaveWorkers(ctx context.Context, ws []resources.Worker) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, w := range ws {
			labels, err := json.Marshal(w.Labels)
			if err != nil {
				return err
			}
			b.Queue(`INSERT INTO workers (workspace_id, worker_id, capacity_slots, busy_slots, cpu_percent, memory_bytes,
					memory_limit_bytes, labels, interval_seconds, first_seen, last_seen)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
				ON CONFLICT (workspace_id, worker_id) DO UPDATE SET capacity_slots = excluded.capacity_slots,
					busy_slots = excluded.busy_slots, cpu_percent = excluded.cpu_percent, memory_bytes = excluded.memory_bytes,
					memory_limit_bytes = excluded.memory_limit_bytes, labels = excluded.labels,
					interval_seconds = excluded.interval_seconds, first_seen = excluded.first_seen, last_seen = excluded.last_seen`,
				w.WorkspaceID, w.WorkerID, w.CapacitySlots, w.BusySlots, w.CPUPercent, w.MemoryBytes, w.MemoryLimitBytes,
				string(labels), w.IntervalSeconds, w.FirstSeen, w.LastSeen)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}
