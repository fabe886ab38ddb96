// Pure transforms of the queue section: the drain estimate and the backlog series.
import type { QueuePoint, QueueMetrics } from '../api/types';
import { formatDuration, formatRate } from './format';
import { bucketLabel, bucketRange } from './time';

export type DrainState = 'empty' | 'draining' | 'stuck';

export interface Drain {
  state: DrainState;
  /** "Drains in ~2 min at 40/min", "Not draining: …", "Empty: nothing is waiting" */
  text: string;
}

/**
 * When the backlog is gone at the recent pace. The server's drain_seconds is
 * queued / completions per minute over the last 5 minutes: 0 with nothing
 * queued, null when nothing finished while work waits.
 */
export function drainEstimate(q: Pick<QueueMetrics, 'queued' | 'drain_seconds' | 'completion_rate_per_minute'>): Drain {
  if (q.queued === 0) return { state: 'empty', text: 'Empty: nothing is waiting' };
  if (q.drain_seconds === null) {
    return { state: 'stuck', text: 'Not draining: nothing finished in the last 5 minutes' };
  }
  const ms = q.drain_seconds * 1000;
  const when = ms < 1000 ? 'under 1 s' : `~${formatDuration(ms)}`;
  return { state: 'draining', text: `Drains in ${when} at ${formatRate(q.completion_rate_per_minute)}/min` };
}

export interface BacklogChartData {
  labels: string[];
  ranges: string[];
  max: (number | null)[];
  mean: (number | null)[];
  /** The highest backlog sampled in the window; null when no sample was taken. */
  peak: number | null;
}

/** The backlog per bucket: its peak and its mean; gaps where no sample was taken. */
export function backlogChartData(series: QueuePoint[], stepSeconds: number, timeZone?: string): BacklogChartData {
  let peak: number | null = null;
  for (const p of series) {
    if (p.queued_max !== null && (peak === null || p.queued_max > peak)) peak = p.queued_max;
  }
  return {
    labels: series.map((p) => bucketLabel(p.t, stepSeconds, timeZone)),
    ranges: series.map((p) => bucketRange(p.t, stepSeconds, timeZone)),
    max: series.map((p) => p.queued_max),
    mean: series.map((p) => (p.queued_mean === null ? null : Math.round(p.queued_mean * 10) / 10)),
    peak,
  };
}

/** True when the window holds nothing about the queue: no wait measured, no backlog sampled above zero. */
export function queueWindowIsEmpty(q: Pick<QueueMetrics, 'wait' | 'by_agent' | 'series'>): boolean {
  return q.wait.count === 0 && q.by_agent.length === 0 && q.series.every((p) => !p.queued_max);
}
