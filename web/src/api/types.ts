// Types of the JSON the service answers, field for field as the Go structs
// encode them (internal/metrics/sections.go, internal/realtime/realtime.go,
// internal/httpapi/handlers.go, internal/resources, internal/patterns). Times are RFC 3339 strings in UTC; every
// `*_ms` field is milliseconds. `null` stands where the Go side has a nil
// pointer ("unknown"), never for zero.

/** An RFC 3339 timestamp, e.g. "2026-03-01T12:00:00Z". */
export type Time = string;

export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    where?: string;
    details?: { index: number; field: string; message: string }[];
  };
}

export interface WorkspacesResponse {
  workspaces: string[];
}

export interface RunningExecution {
  execution_id: string;
  agent_id: string;
  worker_id: string;
  started_at: Time;
  elapsed_ms: number;
  progress: number | null;
}

/** The realtime section (realtime.Snapshot). */
export interface RealtimeSnapshot {
  running: number;
  queued: number;
  stale: number;
  oldest_queued_age_ms: number | null;
  started_last_minute: number;
  finished_last_minute: number;
  failed_last_minute: number;
  timed_out_last_minute: number;
  running_executions: RunningExecution[];
  at: Time;
}

/** One bucket of the throughput series (metrics.Point). */
export interface ThroughputPoint {
  t: Time;
  started: number;
  total: number;
  completed: number;
  failed: number;
  timed_out: number;
  cancelled: number;
}

export interface Throughput {
  from: Time;
  to: Time;
  step_seconds: number;
  total: number;
  started: number;
  completed: number;
  failed: number;
  timed_out: number;
  cancelled: number;
  per_minute: number;
  per_hour: number;
  per_day: number;
  peak_per_minute: number;
  previous_total: number;
  trend_pct: number | null;
  series: ThroughputPoint[];
}

/** Durations in [from_ms, to_ms). */
export interface HistBucket {
  from_ms: number;
  to_ms: number;
  count: number;
}

export interface QueueWaitStat {
  count: number;
  min_ms: number | null;
  mean_ms: number | null;
  p50_ms: number | null;
  p75_ms: number | null;
  p90_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

export interface Latency {
  count: number;
  min_ms: number | null;
  max_ms: number | null;
  mean_ms: number | null;
  p50_ms: number | null;
  p75_ms: number | null;
  p90_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  distribution: HistBucket[];
  queue_wait: QueueWaitStat;
}

export interface AgentPerf {
  agent_id: string;
  total: number;
  completed: number;
  failed: number;
  timed_out: number;
  cancelled: number;
  /** completed / (completed + failed + timed_out), 0..1 */
  success_rate: number | null;
  mean_ms: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
}

export interface HourPerf {
  hour: number;
  total: number;
  completed: number;
  failed: number;
  timed_out: number;
  cancelled: number;
  success_rate: number | null;
}

export interface ErrorCount {
  error_type: string;
  count: number;
}

export interface Performance {
  total: number;
  completed: number;
  failed: number;
  timed_out: number;
  cancelled: number;
  success_rate: number | null;
  by_agent: AgentPerf[];
  by_hour: HourPerf[];
  by_error_type: ErrorCount[];
  tz: string;
}

/** One figure now and in the previous window. */
export interface Change {
  current: number | null;
  previous: number | null;
  change: number | null;
  /** percent, null when either side is unknown or previous is 0 */
  change_pct: number | null;
}

export interface Comparison {
  from: Time;
  to: Time;
  previous_from: Time;
  previous_to: Time;
  total: Change;
  completed: Change;
  failed: Change;
  timed_out: Change;
  success_rate: Change;
  per_hour: Change;
  mean_ms: Change;
  p50_ms: Change;
  p95_ms: Change;
  p99_ms: Change;
  queue_wait_p95_ms: Change;
}

/** One agent's queue: waiting now, and queue wait over the window. */
export interface AgentQueue {
  agent_id: string;
  queued: number;
  oldest_wait_ms: number | null;
  count: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

/** One bucket of the backlog (sampled every 15 s); null where no sample was taken. */
export interface QueuePoint {
  t: Time;
  queued_max: number | null;
  queued_mean: number | null;
  oldest_wait_ms_max: number | null;
  wait_count: number;
}

/** GET /api/v1/metrics/execution/queue */
export interface QueueMetrics {
  at: Time;
  from: Time;
  to: Time;
  step_seconds: number;
  queued: number;
  oldest_wait_ms: number | null;
  /** finished per minute over the last 5 minutes */
  completion_rate_per_minute: number;
  /** started per minute over the last 5 minutes */
  arrival_rate_per_minute: number;
  /** queued / completion rate; 0 with nothing queued, null when nothing finished in 5 minutes while work waits */
  drain_seconds: number | null;
  /** queue wait over the window */
  wait: QueueWaitStat;
  by_agent: AgentQueue[];
  series: QueuePoint[];
}

/** A worker, from its latest heartbeat. */
export interface WorkerInfo {
  worker_id: string;
  labels: Record<string, string>;
  capacity_slots: number;
  busy_slots: number;
  /** busy / capacity, 0..1 */
  utilization: number | null;
  cpu_percent: number | null;
  memory_bytes: number | null;
  memory_limit_bytes: number | null;
  interval_seconds: number;
  first_seen: Time;
  last_seen: Time;
  lost: boolean;
  /** executions running on it now, from events */
  running: number;
}

/** One bucket of the workers' gauges: means of the heartbeats in it, null where none arrived. */
export interface ResourcePoint {
  t: Time;
  workers: number;
  capacity_slots: number | null;
  busy_slots: number | null;
  utilization: number | null;
  cpu_percent: number | null;
  memory_bytes: number | null;
}

/** The host of this service. */
export interface HostInfo {
  hostname: string;
  cpu_percent: number | null;
  /** the cores this service may use (its cgroup quota, else the machine's) */
  cpu_limit_cores: number;
  memory_bytes: number | null;
  memory_limit_bytes: number | null;
  process_rss_bytes: number | null;
  /** true when the limits come from a container's cgroup */
  cgroup: boolean;
  sampled_at: Time;
}

/** GET /api/v1/metrics/execution/resources */
export interface Resources {
  at: Time;
  from: Time;
  to: Time;
  step_seconds: number;
  workers_active: number;
  workers_lost: number;
  capacity_slots: number;
  busy_slots: number;
  utilization: number | null;
  cpu_percent: number | null;
  memory_bytes: number;
  workers: WorkerInfo[];
  series: ResourcePoint[];
  host: HostInfo;
}

export type FindingMetric = 'throughput' | 'error_rate' | 'duration_p95' | 'queue_wait_p95';
export type FindingSeverity = 'warning' | 'critical';
export type FindingBaseline = 'seasonal' | 'robust';

/** An agent behind a workspace finding. */
export interface Contributor {
  agent_id: string;
  observed: number;
  expected: number;
  /** of the excess, 0..1 */
  share: number;
}

/** An unusual stretch found by the detector. */
export interface Finding {
  id: string;
  metric: FindingMetric;
  /** null for the workspace as a whole */
  agent_id: string | null;
  direction: 'up' | 'down';
  start: Time;
  end: Time;
  ongoing: boolean;
  observed: number;
  expected: number;
  score: number;
  severity: FindingSeverity;
  baseline: FindingBaseline;
  explanation: string;
  contributors: Contributor[];
  updated_at: Time;
}

export interface DetectorStatus {
  running: boolean;
  evaluated_through: Time | null;
  baseline: FindingBaseline | 'none';
  /** hours, fractional */
  history_hours: number;
}

/** GET /api/v1/metrics/execution/patterns */
export interface Patterns {
  from: Time;
  to: Time;
  /** newest first */
  anomalies: Finding[];
  bursts: Finding[];
  detector: DetectorStatus;
}

/** One hour of the forecast; lower and upper bound the 90% prediction interval. */
export interface ForecastPoint {
  t: Time;
  expected: number;
  lower: number;
  upper: number;
}

export interface CapacityWarning {
  t: Time;
  expected: number;
  capacity_per_hour: number;
}

/** GET /api/v1/metrics/execution/forecast: executions expected per hour over the next 24 hours. */
export interface Forecast {
  available: boolean;
  reason: string;
  generated_at: Time;
  model: string;
  history_hours: number;
  step_seconds: number;
  series: ForecastPoint[];
  backtest_mape_pct: number | null;
  capacity_per_hour: number | null;
  capacity_warning: CapacityWarning | null;
}

/** GET /api/v1/metrics/execution */
export interface ExecutionMetrics {
  realtime: RealtimeSnapshot;
  throughput: Throughput;
  latency: Latency;
  performance: Performance;
  patterns: Patterns;
  resources: Resources;
  queue: QueueMetrics;
  forecast: Forecast;
  comparison: Comparison;
}

export type ExecutionStatus =
  | 'queued'
  | 'running'
  | 'completed'
  | 'failed'
  | 'timed_out'
  | 'cancelled'
  | 'stale';

export interface ErrorInfo {
  type: string;
  message: string;
}

/** One execution as the listing shows it. */
export interface Execution {
  execution_id: string;
  agent_id: string;
  status: ExecutionStatus;
  queued_at: Time | null;
  started_at: Time | null;
  finished_at: Time | null;
  duration_ms: number | null;
  queue_wait_ms: number | null;
  worker_id: string;
  trigger: string;
  progress: number | null;
  error: ErrorInfo | null;
  credits: number;
  tokens: number;
}

export interface ExecutionList {
  items: Execution[];
  next_cursor: string | null;
}

export type EventType =
  | 'queued'
  | 'started'
  | 'progress'
  | 'completed'
  | 'failed'
  | 'timed_out'
  | 'cancelled';

/** An event as stored (execution.StoredEvent); optional fields are absent when not sent. */
export interface StoredEvent {
  event_id: string;
  type: EventType;
  execution_id: string;
  workspace_id: string;
  agent_id: string;
  timestamp: Time;
  worker_id?: string;
  trigger?: string;
  progress?: number;
  error?: ErrorInfo;
  credits?: number;
  tokens?: number;
  received_at: Time;
}

export interface ExecutionDetail extends Execution {
  events: StoredEvent[];
}

// WebSocket messages (GET /api/v1/ws, subprotocol "shadower.v1").

export interface ExecutionStartedData {
  execution_id: string;
  agent_id: string;
  worker_id: string;
  started_at: Time;
}

export interface ExecutionCompletedData {
  execution_id: string;
  agent_id: string;
  status: ExecutionStatus;
  duration_ms: number | null;
  finished_at: Time;
  error_type: string | null;
}

export type LiveMessage =
  | { type: 'execution_update'; data: RealtimeSnapshot }
  | { type: 'execution_started'; data: ExecutionStartedData }
  | { type: 'execution_completed'; data: ExecutionCompletedData }
  | { type: 'anomaly_detected'; data: Finding }
  | { type: 'anomalies_replayed'; data: { findings: number } };
