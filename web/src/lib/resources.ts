// Pure transforms of the resources section: the load series and worker figures.
import type { ResourcePoint, Resources, WorkerInfo } from '../api/types';
import { formatBytes, percentOf } from './format';
import { bucketLabel, bucketRange } from './time';

export interface LoadChartData {
  labels: string[];
  ranges: string[];
  /** Busy over capacity slots, in percent; null where no heartbeat arrived. */
  utilizationPct: (number | null)[];
  cpuPct: (number | null)[];
  workers: (number | null)[];
  /** True when at least one bucket had a heartbeat. */
  sampled: boolean;
}

/** A bucket had a heartbeat when its gauges are known (workers is 0 in the others). */
export function hadHeartbeat(p: ResourcePoint): boolean {
  return p.capacity_slots !== null || p.busy_slots !== null || p.workers > 0;
}

export function loadChartData(series: ResourcePoint[], stepSeconds: number, timeZone?: string): LoadChartData {
  return {
    labels: series.map((p) => bucketLabel(p.t, stepSeconds, timeZone)),
    ranges: series.map((p) => bucketRange(p.t, stepSeconds, timeZone)),
    utilizationPct: series.map((p) => (p.utilization === null ? null : percentOf(p.utilization))),
    cpuPct: series.map((p) => (p.cpu_percent === null ? null : Math.round(p.cpu_percent * 10) / 10)),
    workers: series.map((p) => (hadHeartbeat(p) ? p.workers : null)),
    sampled: series.some(hadHeartbeat),
  };
}

/**
 * Whether any worker has reported: one is listed (heard from in the last 24
 * hours) or a heartbeat arrived in the window.
 */
export function anyHeartbeat(r: Pick<Resources, 'workers' | 'series' | 'workers_active' | 'workers_lost'>): boolean {
  return r.workers.length > 0 || r.workers_active + r.workers_lost > 0 || r.series.some(hadHeartbeat);
}

/** "1.2 GiB of 4 GiB", "1.2 GiB", or "—" when not sent. */
export function memoryText(bytes: number | null, limit: number | null): string {
  if (bytes === null) return limit === null ? '—' : `— of ${formatBytes(limit)}`;
  return limit === null ? formatBytes(bytes) : `${formatBytes(bytes)} of ${formatBytes(limit)}`;
}

/** A worker's labels as "key=value", sorted by key. */
export function labelList(labels: WorkerInfo['labels'] | null | undefined): string[] {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
}

/** A fraction 0..1 as a bar width in percent, clamped. */
export function barWidth(fraction: number | null): number {
  if (fraction === null || !Number.isFinite(fraction)) return 0;
  return Math.min(100, Math.max(0, fraction * 100));
}
