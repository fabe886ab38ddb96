import type {
  ExecutionMetrics,
  Finding,
  Forecast,
  Patterns,
  QueueMetrics,
  RealtimeSnapshot,
  Resources,
  ThroughputPoint,
  WorkerInfo,
} from '../api/types';

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
    patterns: patterns(),
    resources: resources(),
    queue: queue(),
    forecast: forecast(),
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

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** The queue section of the same hour: 2 waiting, 4.2 finishing per minute. */
export function queue(over: Partial<QueueMetrics> = {}): QueueMetrics {
  return {
    at: '2026-03-01T12:00:00Z',
    from: '2026-03-01T11:00:00Z',
    to: '2026-03-01T12:01:00Z',
    step_seconds: 60,
    queued: 2,
    oldest_wait_ms: 12_000,
    completion_rate_per_minute: 4.2,
    arrival_rate_per_minute: 5,
    drain_seconds: (2 / 4.2) * 60,
    wait: { count: 30, min_ms: 5, mean_ms: 300, p50_ms: 150, p75_ms: 250, p90_ms: 600, p95_ms: 900, p99_ms: 1500, max_ms: 2000 },
    by_agent: [
      { agent_id: 'summarizer', queued: 2, oldest_wait_ms: 12_000, count: 20, p50_ms: 120, p95_ms: 800, p99_ms: 1400, max_ms: 1900 },
      { agent_id: 'classifier', queued: 0, oldest_wait_ms: null, count: 7, p50_ms: 200, p95_ms: 950, p99_ms: 1100, max_ms: 1200 },
      { agent_id: 'writer', queued: 0, oldest_wait_ms: null, count: 3, p50_ms: 400, p95_ms: 1500, p99_ms: 2000, max_ms: 2000 },
    ],
    series: [
      { t: '2026-03-01T11:57:00Z', queued_max: null, queued_mean: null, oldest_wait_ms_max: null, wait_count: 0 },
      { t: '2026-03-01T11:58:00Z', queued_max: 3, queued_mean: 1.5, oldest_wait_ms_max: 9000, wait_count: 10 },
      { t: '2026-03-01T11:59:00Z', queued_max: 4, queued_mean: 2.25, oldest_wait_ms_max: 12_000, wait_count: 20 },
    ],
    ...over,
  };
}

export function worker(over: Partial<WorkerInfo> = {}): WorkerInfo {
  return {
    worker_id: 'w-1',
    labels: { region: 'eu-west-1', pool: 'gpu' },
    capacity_slots: 8,
    busy_slots: 5,
    utilization: 0.625,
    cpu_percent: 63,
    memory_bytes: 2 * GiB,
    memory_limit_bytes: 8 * GiB,
    interval_seconds: 15,
    first_seen: '2026-03-01T08:00:00Z',
    last_seen: '2026-03-01T11:59:48Z',
    lost: false,
    running: 5,
    ...over,
  };
}

/** Two active workers and one lost, with the service's own host. */
export function resources(over: Partial<Resources> = {}): Resources {
  return {
    at: '2026-03-01T12:00:00Z',
    from: '2026-03-01T11:00:00Z',
    to: '2026-03-01T12:01:00Z',
    step_seconds: 60,
    workers_active: 2,
    workers_lost: 1,
    capacity_slots: 16,
    busy_slots: 6,
    utilization: 0.375,
    cpu_percent: 41.5,
    memory_bytes: 3 * GiB,
    workers: [
      worker(),
      worker({
        worker_id: 'w-2',
        labels: { region: 'eu-west-1' },
        busy_slots: 1,
        utilization: 0.125,
        cpu_percent: 20,
        memory_bytes: GiB,
        memory_limit_bytes: null,
        last_seen: '2026-03-01T11:59:55Z',
        running: 1,
      }),
      worker({
        worker_id: 'w-3',
        labels: {},
        capacity_slots: 4,
        busy_slots: 4,
        utilization: 1,
        cpu_percent: 97.2,
        memory_bytes: 3.5 * GiB,
        memory_limit_bytes: 4 * GiB,
        last_seen: '2026-03-01T11:52:00Z',
        lost: true,
        running: 0,
      }),
    ],
    series: [
      { t: '2026-03-01T11:57:00Z', workers: 0, capacity_slots: null, busy_slots: null, utilization: null, cpu_percent: null, memory_bytes: null },
      { t: '2026-03-01T11:58:00Z', workers: 3, capacity_slots: 20, busy_slots: 9, utilization: 0.45, cpu_percent: 55.1, memory_bytes: 6.5 * GiB },
      { t: '2026-03-01T11:59:00Z', workers: 2, capacity_slots: 16, busy_slots: 6, utilization: 0.375, cpu_percent: 41.5, memory_bytes: 3 * GiB },
    ],
    host: {
      hostname: 'shadower-0',
      cpu_percent: 12.5,
      cpu_limit_cores: 2,
      memory_bytes: 384 * MiB,
      memory_limit_bytes: GiB,
      process_rss_bytes: 128 * MiB,
      cgroup: true,
      sampled_at: '2026-03-01T11:59:58Z',
    },
    ...over,
  };
}

/** A throughput burst of the workspace, still going, and an error-rate finding of one agent earlier. */
export function finding(over: Partial<Finding> = {}): Finding {
  return {
    id: 'f-1',
    metric: 'throughput',
    agent_id: null,
    direction: 'up',
    start: '2026-03-01T11:58:00Z',
    end: '2026-03-01T12:00:00Z',
    ongoing: true,
    observed: 20,
    expected: 6,
    score: 9.4,
    severity: 'critical',
    baseline: 'seasonal',
    explanation: 'Executions finished per minute rose to 20, against 6 expected at this time of day.',
    contributors: [
      { agent_id: 'summarizer', observed: 14, expected: 4, share: 0.71 },
      { agent_id: 'classifier', observed: 5, expected: 2, share: 0.21 },
    ],
    updated_at: '2026-03-01T12:00:00Z',
    ...over,
  };
}

export function patterns(over: Partial<Patterns> = {}): Patterns {
  const burst = finding();
  return {
    from: '2026-03-01T11:00:00Z',
    to: '2026-03-01T12:01:00Z',
    anomalies: [
      burst,
      finding({
        id: 'f-2',
        metric: 'error_rate',
        agent_id: 'classifier',
        start: '2026-03-01T11:20:00Z',
        end: '2026-03-01T11:35:00Z',
        ongoing: false,
        observed: 0.4,
        expected: 0.05,
        score: 6.1,
        severity: 'warning',
        baseline: 'robust',
        explanation: 'The error rate of classifier reached 40%, against 5% in recent hours.',
        contributors: [],
      }),
    ],
    bursts: [burst],
    detector: { running: true, evaluated_through: '2026-03-01T12:00:00Z', baseline: 'seasonal', history_hours: 336 },
    ...over,
  };
}

/** Executions expected per hour from 12:00, a daily shape. */
export const FORECAST_EXPECTED = [
  540, 560, 610, 700, 820, 900, 940, 910, 860, 780, 690, 600, 520, 430, 350, 290, 250, 230, 240, 280, 340, 410, 470, 520,
];

export function forecast(over: Partial<Forecast> = {}): Forecast {
  const t0 = Date.parse('2026-03-01T12:00:00Z');
  return {
    available: true,
    reason: '',
    generated_at: '2026-03-01T12:00:00Z',
    model: 'seasonal_daily',
    history_hours: 72,
    step_seconds: 3600,
    series: FORECAST_EXPECTED.map((e, i) => ({
      t: new Date(t0 + i * 3_600_000).toISOString().replace('.000Z', 'Z'),
      expected: e,
      lower: Math.round(e * 0.8),
      upper: Math.round(e * 1.2),
    })),
    backtest_mape_pct: 11.8,
    capacity_per_hour: 960,
    capacity_warning: null,
    ...over,
  };
}
