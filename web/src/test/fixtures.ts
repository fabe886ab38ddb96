import type { ExecutionMetrics, RealtimeSnapshot, ThroughputPoint } from '../api/types';

export function snapshot(over: Partial<RealtimeSnapshot> = {}): RealtimeSnapshot {
  return {
    running: 3,
    queued: 2,
    stale: 0,
    oldest_queued_age_ms: 12_000,
    started_last_minute: 7,
    finished_last_minute: 5,
    failed_last_minute: 1,
    timed_out_last_minute: 0,
    running_executions: [
      {
        execution_id: 'run-1',
        agent_id: 'summarizer',
        worker_id: 'w-1',
        started_at: '2026-03-01T11:59:00Z',
        elapsed_ms: 60_000,
        progress: 40,
      },
    ],
    at: '2026-03-01T12:00:00Z',
    ...over,
  };
}

export function point(t: string, over: Partial<ThroughputPoint> = {}): ThroughputPoint {
  return { t, started: 0, total: 0, completed: 0, failed: 0, timed_out: 0, cancelled: 0, ...over };
}

const change = (current: number | null, previous: number | null, pct: number | null = null) => ({
  current,
  previous,
  change: current !== null && previous !== null ? current - previous : null,
  change_pct: pct,
});

export function metrics(over: Partial<ExecutionMetrics> = {}): ExecutionMetrics {
  return {
    realtime: snapshot(),
    throughput: {
      from: '2026-03-01T11:00:00Z',
      to: '2026-03-01T12:01:00Z',
      step_seconds: 60,
      total: 30,
      started: 31,
      completed: 26,
      failed: 3,
      timed_out: 1,
      cancelled: 0,
      per_minute: 0.5,
      per_hour: 30,
      per_day: 720,
      peak_per_minute: 4,
      previous_total: 20,
      trend_pct: 50,
      series: [
        point('2026-03-01T11:58:00Z', { total: 10, completed: 8, failed: 2, started: 10 }),
        point('2026-03-01T11:59:00Z', { total: 20, completed: 18, failed: 1, timed_out: 1, started: 21 }),
      ],
    },
    latency: {
      count: 30,
      min_ms: 100,
      max_ms: 9000,
      mean_ms: 1500,
      p50_ms: 1200,
      p75_ms: 2000,
      p90_ms: 4000,
      p95_ms: 5300,
      p99_ms: 8800,
      distribution: [
        { from_ms: 100, to_ms: 200, count: 2 },
        { from_ms: 200, to_ms: 500, count: 3 },
        { from_ms: 500, to_ms: 1000, count: 5 },
        { from_ms: 1000, to_ms: 2000, count: 12 },
        { from_ms: 2000, to_ms: 5000, count: 6 },
        { from_ms: 5000, to_ms: 10000, count: 2 },
      ],
      queue_wait: {
        count: 30,
        min_ms: 5,
        mean_ms: 300,
        p50_ms: 150,
        p75_ms: 250,
        p90_ms: 600,
        p95_ms: 900,
        p99_ms: 1500,
        max_ms: 2000,
      },
    },
    performance: {
      total: 30,
      completed: 26,
      failed: 3,
      timed_out: 1,
      cancelled: 0,
      success_rate: 26 / 30,
      by_agent: [
        { agent_id: 'summarizer', total: 20, completed: 19, failed: 1, timed_out: 0, cancelled: 0, success_rate: 0.95, mean_ms: 1000, p50_ms: 900, p95_ms: 3000, p99_ms: 4000 },
        { agent_id: 'classifier', total: 7, completed: 5, failed: 2, timed_out: 0, cancelled: 0, success_rate: 5 / 7, mean_ms: 300, p50_ms: 250, p95_ms: 700, p99_ms: 800 },
        { agent_id: 'writer', total: 3, completed: 2, failed: 0, timed_out: 1, cancelled: 0, success_rate: 2 / 3, mean_ms: 7000, p50_ms: 6000, p95_ms: 8800, p99_ms: 9000 },
      ],
      by_hour: [],
      by_error_type: [{ error_type: 'RateLimit', count: 3 }],
      tz: 'UTC',
    },
    patterns: { available: false, reason: 'pattern and anomaly detection is not built yet' },
    resources: { available: false, reason: 'worker resource reporting is not built yet' },
    comparison: {
      from: '2026-03-01T11:00:00Z',
      to: '2026-03-01T12:01:00Z',
      previous_from: '2026-03-01T09:59:00Z',
      previous_to: '2026-03-01T11:00:00Z',
      total: change(30, 20, 50),
      completed: change(26, 19, 36.84),
      failed: change(3, 1, 200),
      timed_out: change(1, 0),
      success_rate: change(26 / 30, 0.95, -8.77),
      per_hour: change(30, 20, 50),
      mean_ms: change(1500, 1400, 7.14),
      p50_ms: change(1200, 1100, 9.09),
      p95_ms: change(5300, 5000, 6),
      p99_ms: change(8800, 8000, 10),
      queue_wait_p95_ms: change(900, 1000, -10),
    },
    ...over,
  };
}
