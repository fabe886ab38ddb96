package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/shadower/shadower/internal/patterns"
	"github.com/shadower/shadower/internal/resources"
	"github.com/shadower/shadower/internal/rollup"
)

// RecordHeartbeats stores a batch of heartbeats, all or nothing: each
// worker's latest report, and every reading in the gauge tiers.
func (db *DB) RecordHeartbeats(ctx context.Context, hbs []*resources.Heartbeat) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var samples []rollup.GaugeSample
	for _, h := range hbs {
		labels, err := json.Marshal(h.Labels)
		if err != nil {
			return err
		}
		at := h.At().UnixNano()
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO workspaces (workspace_id, created_at) VALUES (?, ?)`,
			h.WorkspaceID, time.Now().Unix()); err != nil {
			return err
		}
		// A late heartbeat only widens first_seen: the latest report wins.
		if _, err := tx.ExecContext(ctx, `INSERT INTO workers (workspace_id, worker_id, capacity_slots, busy_slots,
				cpu_percent, memory_bytes, memory_limit_bytes, labels, interval_seconds, first_seen, last_seen)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace_id, worker_id) DO UPDATE SET
				first_seen = min(workers.first_seen, excluded.first_seen),
				capacity_slots = CASE WHEN excluded.last_seen >= workers.last_seen THEN excluded.capacity_slots ELSE workers.capacity_slots END,
				busy_slots = CASE WHEN excluded.last_seen >= workers.last_seen THEN excluded.busy_slots ELSE workers.busy_slots END,
				cpu_percent = CASE WHEN excluded.last_seen >= workers.last_seen THEN excluded.cpu_percent ELSE workers.cpu_percent END,
				memory_bytes = CASE WHEN excluded.last_seen >= workers.last_seen THEN excluded.memory_bytes ELSE workers.memory_bytes END,
				memory_limit_bytes = CASE WHEN excluded.last_seen >= workers.last_seen THEN excluded.memory_limit_bytes ELSE workers.memory_limit_bytes END,
				labels = CASE WHEN excluded.last_seen >= workers.last_seen THEN excluded.labels ELSE workers.labels END,
				interval_seconds = CASE WHEN excluded.last_seen >= workers.last_seen THEN excluded.interval_seconds ELSE workers.interval_seconds END,
				last_seen = max(workers.last_seen, excluded.last_seen)`,
			h.WorkspaceID, h.WorkerID, *h.CapacitySlots, *h.BusySlots, h.CPUPercent, h.MemoryBytes, h.MemoryLimitBytes,
			string(labels), *h.IntervalSeconds, at, at); err != nil {
			return err
		}
		samples = append(samples, h.Samples()...)
	}
	if err := addGauges(ctx, tx, samples); err != nil {
		return err
	}
	return tx.Commit()
}

// RecordGauges adds readings to the gauge tiers.
func (db *DB) RecordGauges(ctx context.Context, samples []rollup.GaugeSample) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := addGauges(ctx, tx, samples); err != nil {
		return err
	}
	return tx.Commit()
}

func addGauges(ctx context.Context, tx *sql.Tx, samples []rollup.GaugeSample) error {
	if len(samples) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO gauges (workspace_id, tier, gauge, bucket, key, samples, value_sum, value_min, value_max)
		VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)
		ON CONFLICT (workspace_id, tier, gauge, bucket, key) DO UPDATE SET
			samples = gauges.samples + 1, value_sum = gauges.value_sum + excluded.value_sum,
			value_min = min(gauges.value_min, excluded.value_min), value_max = max(gauges.value_max, excluded.value_max)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, s := range samples {
		for _, t := range rollup.Tiers {
			if _, err := stmt.ExecContext(ctx, s.WorkspaceID, int(t), s.Gauge, t.Bucket(s.At), s.Key, s.Value, s.Value, s.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

// GaugeRange returns the rows of the given gauges in one tier with buckets
// in [from, to), in bucket order.
func (db *DB) GaugeRange(ctx context.Context, ws string, tier rollup.Tier, from, to int64, gauges []string) ([]rollup.GaugeRow, error) {
	var out []rollup.GaugeRow
	for _, g := range gauges {
		rows, err := db.r.QueryContext(ctx, `SELECT bucket, key, samples, value_sum, value_min, value_max FROM gauges
			WHERE workspace_id = ? AND tier = ? AND gauge = ? AND bucket >= ? AND bucket < ? ORDER BY bucket, key`,
			ws, int(tier), g, from, to)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			r := rollup.GaugeRow{Gauge: g, Tier: tier}
			if err := rows.Scan(&r.Bucket, &r.Key, &r.Samples, &r.Sum, &r.Min, &r.Max); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Workers lists the workers of ws last seen at or after since.
func (db *DB) Workers(ctx context.Context, ws string, since time.Time) ([]resources.Worker, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT worker_id, capacity_slots, busy_slots, cpu_percent, memory_bytes,
			memory_limit_bytes, labels, interval_seconds, first_seen, last_seen
		FROM workers WHERE workspace_id = ? AND last_seen >= ? ORDER BY worker_id`, ws, since.UnixNano())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []resources.Worker
	for rows.Next() {
		w := resources.Worker{WorkspaceID: ws}
		var cpu sql.NullFloat64
		var memory, limit sql.NullInt64
		var labels sql.NullString
		var first, last int64
		if err := rows.Scan(&w.WorkerID, &w.CapacitySlots, &w.BusySlots, &cpu, &memory, &limit, &labels,
			&w.IntervalSeconds, &first, &last); err != nil {
			return nil, err
		}
		if cpu.Valid {
			w.CPUPercent = &cpu.Float64
		}
		if memory.Valid {
			w.MemoryBytes = &memory.Int64
		}
		if limit.Valid {
			w.MemoryLimitBytes = &limit.Int64
		}
		if labels.Valid {
			if err := json.Unmarshal([]byte(labels.String), &w.Labels); err != nil {
				return nil, err
			}
		}
		w.FirstSeen, w.LastSeen = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
		out = append(out, w)
	}
	return out, rows.Err()
}

// SaveFindings inserts findings or updates them in place (by id).
func (db *DB) SaveFindings(ctx context.Context, rs []patterns.Record) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, r := range rs {
		contrib, err := json.Marshal(r.Contributors)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO execution_patterns (workspace_id, id, metric, agent_id, direction,
				started_at, ended_at, ongoing, observed, expected, score, severity, baseline, explanation, contributors, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace_id, id) DO UPDATE SET ended_at = excluded.ended_at, ongoing = excluded.ongoing,
				observed = excluded.observed, expected = excluded.expected, score = excluded.score,
				severity = excluded.severity, baseline = excluded.baseline, explanation = excluded.explanation,
				contributors = excluded.contributors, updated_at = excluded.updated_at`,
			r.WorkspaceID, r.ID, r.Metric, r.AgentKey(), r.Direction, r.Start.UnixNano(), r.End.UnixNano(), r.Ongoing,
			r.Observed, r.Expected, r.Score, r.Severity, r.Baseline, r.Explanation, string(contrib), r.UpdatedAt.UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Findings lists the findings of ws overlapping [from, to), newest first.
func (db *DB) Findings(ctx context.Context, ws string, from, to time.Time) ([]patterns.Record, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, metric, agent_id, direction, started_at, ended_at, ongoing, observed,
			expected, score, severity, baseline, explanation, contributors, updated_at
		FROM execution_patterns WHERE workspace_id = ? AND started_at < ? AND ended_at > ?
		ORDER BY started_at DESC, id LIMIT ?`, ws, to.UnixNano(), from.UnixNano(), patterns.MaxListed)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []patterns.Record
	for rows.Next() {
		r := patterns.Record{WorkspaceID: ws}
		var agent, contrib string
		var start, end, updated int64
		if err := rows.Scan(&r.ID, &r.Metric, &agent, &r.Direction, &start, &end, &r.Ongoing, &r.Observed,
			&r.Expected, &r.Score, &r.Severity, &r.Baseline, &r.Explanation, &contrib, &updated); err != nil {
			return nil, err
		}
		if agent != rollup.AllAgents {
			r.AgentID = &agent
		}
		if err := json.Unmarshal([]byte(contrib), &r.Contributors); err != nil {
			return nil, err
		}
		r.Start, r.End, r.UpdatedAt = time.Unix(0, start).UTC(), time.Unix(0, end).UTC(), time.Unix(0, updated).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// SaveGaugeRows stores gauge rows as they are, replacing any of the same
// key (a migration's copy).
func (db *DB) SaveGaugeRows(ctx context.Context, ws string, rows []rollup.GaugeRow) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, g := range rows {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO gauges (workspace_id, tier, gauge, bucket, key, samples,
				value_sum, value_min, value_max) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ws, int(g.Tier), g.Gauge, g.Bucket, g.Key, g.Samples, g.Sum, g.Min, g.Max); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// SaveWorkers stores workers as they are, replacing any of the same id (a
// migration's copy).
func (db *DB) SaveWorkers(ctx context.Context, ws []resources.Worker) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, w := range ws {
		labels, err := json.Marshal(w.Labels)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO workers (workspace_id, worker_id, capacity_slots, busy_slots,
				cpu_percent, memory_bytes, memory_limit_bytes, labels, interval_seconds, first_seen, last_seen)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.WorkspaceID, w.WorkerID, w.CapacitySlots, w.BusySlots, w.CPUPercent, w.MemoryBytes, w.MemoryLimitBytes,
			string(labels), w.IntervalSeconds, w.FirstSeen.UnixNano(), w.LastSeen.UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}
