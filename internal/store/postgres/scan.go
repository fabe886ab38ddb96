package postgres

import (
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/rollup"
)

type scanner interface{ Scan(dest ...any) error }

const execColumns = `workspace_id, execution_id, agent_id, status, seen_at_ns, queued_at_ns, started_at_ns, finished_at_ns,
	worker_id, trigger, progress, progress_at_ns, error_type, error_message, credits, tokens`

func nanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

func scanExecution(s scanner) (*execution.Execution, error) {
	var (
		x                                    execution.Execution
		status                               string
		seen, queued, started, finished, pAt *int64
		errType, errMsg                      *string
	)
	if err := s.Scan(&x.WorkspaceID, &x.ExecutionID, &x.AgentID, &status, &seen, &queued, &started, &finished,
		&x.WorkerID, &x.Trigger, &x.Progress, &pAt, &errType, &errMsg, &x.Credits, &x.Tokens); err != nil {
		return nil, err
	}
	x.Status = execution.Status(status)
	x.SeenAt, x.QueuedAt, x.StartedAt, x.FinishedAt = fromNanos(seen), fromNanos(queued), fromNanos(started), fromNanos(finished)
	x.ProgressAt = fromNanos(pAt)
	if errType != nil {
		x.Error = &execution.ErrorInfo{Type: *errType}
		if errMsg != nil {
			x.Error.Message = *errMsg
		}
	}
	return &x, nil
}

// rollupColumns are the columns of a rollup table, in the order rows are
// written and scanned.
const rollupColumns = `workspace_id, bucket, agent_id, started, completed, failed, timed_out, cancelled,
	peak_minute, credits, tokens, errors, dur_count, dur_sum, dur_min, dur_max, dur_sketch,
	qw_count, qw_sum, qw_min, qw_max, qw_sketch`

// countColumns are the rollup columns without the sketches and error
// counts, for reads that need only counts.
const countColumns = `workspace_id, bucket, agent_id, started, completed, failed, timed_out, cancelled,
	peak_minute, credits, tokens, NULL::jsonb, dur_count, dur_sum, dur_min, dur_max, NULL::bytea,
	qw_count, qw_sum, qw_min, qw_max, NULL::bytea`

func scanRollup(s scanner, tier rollup.Tier, sketches bool) (*rollup.Row, error) {
	var (
		r           rollup.Row
		errs        []byte
		durSk, qwSk []byte
	)
	if err := s.Scan(&r.WorkspaceID, &r.Bucket, &r.AgentID, &r.Started, &r.Completed, &r.Failed,
		&r.TimedOut, &r.Cancelled, &r.PeakMinute, &r.Credits, &r.Tokens, &errs,
		&r.Duration.Count, &r.Duration.Sum, &r.Duration.Min, &r.Duration.Max, &durSk,
		&r.QueueWait.Count, &r.QueueWait.Sum, &r.QueueWait.Min, &r.QueueWait.Max, &qwSk); err != nil {
		return nil, err
	}
	r.Tier = tier
	if len(errs) > 0 {
		r.SetEncodedErrors(errs)
	}
	if sketches {
		r.Duration.SetEncoded(durSk)
		r.QueueWait.SetEncoded(qwSk)
	}
	return &r, nil
}
