package sqlite

import (
	"database/sql"
	"encoding/json"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/rollup"
)

type scanner interface{ Scan(dest ...any) error }

func scanExecution(s scanner) (*execution.Execution, error) {
	var (
		x                                    execution.Execution
		status                               string
		seen, queued, started, finished, pAt sql.NullInt64
		progress                             sql.NullFloat64
		errType, errMsg                      sql.NullString
	)
	if err := s.Scan(&x.WorkspaceID, &x.ExecutionID, &x.AgentID, &status, &seen, &queued, &started, &finished,
		&x.WorkerID, &x.Trigger, &progress, &pAt, &errType, &errMsg, &x.Credits, &x.Tokens); err != nil {
		return nil, err
	}
	x.Status = execution.Status(status)
	x.SeenAt, x.QueuedAt, x.StartedAt, x.FinishedAt = fromNanos(seen), fromNanos(queued), fromNanos(started), fromNanos(finished)
	x.ProgressAt = fromNanos(pAt)
	if progress.Valid {
		p := progress.Float64
		x.Progress = &p
	}
	if errType.Valid {
		x.Error = &execution.ErrorInfo{Type: errType.String, Message: errMsg.String}
	}
	return &x, nil
}

const rollupColumns = `workspace_id, tier, bucket, agent_id, started, completed, failed, timed_out, cancelled,
	peak_minute, credits, tokens, errors, dur_count, dur_sum, dur_min, dur_max, dur_sketch,
	qw_count, qw_sum, qw_min, qw_max, qw_sketch`

// countColumns are the rollup columns without the sketches, for reads that
// need only counts.
const countColumns = `workspace_id, tier, bucket, agent_id, started, completed, failed, timed_out, cancelled,
	peak_minute, credits, tokens, NULL, dur_count, dur_sum, dur_min, dur_max, NULL,
	qw_count, qw_sum, qw_min, qw_max, NULL`

func scanRollup(s scanner, sketches bool) (*rollup.Row, error) {
	var (
		r           rollup.Row
		tier        int
		errs        sql.NullString
		durSk, qwSk []byte
	)
	if err := s.Scan(&r.WorkspaceID, &tier, &r.Bucket, &r.AgentID, &r.Started, &r.Completed, &r.Failed,
		&r.TimedOut, &r.Cancelled, &r.PeakMinute, &r.Credits, &r.Tokens, &errs,
		&r.Duration.Count, &r.Duration.Sum, &r.Duration.Min, &r.Duration.Max, &durSk,
		&r.QueueWait.Count, &r.QueueWait.Sum, &r.QueueWait.Min, &r.QueueWait.Max, &qwSk); err != nil {
		return nil, err
	}
	r.Tier = rollup.Tier(tier)
	if errs.Valid && errs.String != "" {
		r.SetEncodedErrors([]byte(errs.String))
	}
	if sketches {
		r.Duration.SetEncoded(durSk)
		r.QueueWait.SetEncoded(qwSk)
	}
	return &r, nil
}

func rollupArgs(r *rollup.Row) ([]any, error) {
	var errs any
	counts, err := r.ErrorCounts()
	if err != nil {
		return nil, err
	}
	if len(counts) > 0 {
		b, err := json.Marshal(counts)
		if err != nil {
			return nil, err
		}
		errs = string(b)
	}
	dur, err := r.Duration.Encoded()
	if err != nil {
		return nil, err
	}
	qw, err := r.QueueWait.Encoded()
	if err != nil {
		return nil, err
	}
	return []any{r.WorkspaceID, int(r.Tier), r.Bucket, r.AgentID, r.Started, r.Completed, r.Failed,
		r.TimedOut, r.Cancelled, r.PeakMinute, r.Credits, r.Tokens, errs,
		r.Duration.Count, r.Duration.Sum, r.Duration.Min, r.Duration.Max, dur,
		r.QueueWait.Count, r.QueueWait.Sum, r.QueueWait.Min, r.QueueWait.Max, qw}, nil
}
