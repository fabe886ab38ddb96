// Pure transforms from API sections to what the charts draw.
import type { HistBucket, Latency, ThroughputPoint } from '../api/types';
import { bucketLabel, bucketRange } from './time';
import { formatDuration, percentOf } from './format';

/** completed / (completed + failed + timed_out); cancelled counts as neither. */
export function successRate(p: { completed: number; failed: number; timed_out: number }): number | null {
  const den = p.completed + p.failed + p.timed_out;
  return den === 0 ? null : p.completed / den;
}

export interface ThroughputChartData {
  labels: string[];
  /** Tooltip titles: each bucket's span. */
  ranges: string[];
  completed: number[];
  failed: number[];
  timedOut: number[];
  cancelled: number[];
  /** The previous window's finished total per bucket, aligned by position; null when not loaded. */
  previousTotal: (number | null)[] | null;
  total: number;
  previousSum: number | null;
}

/**
 * Stacked finished-per-bucket series by status, with the previous window's
 * totals aligned bucket for bucket (both windows have the same length and step).
 */
export function throughputChartData(
  series: ThroughputPoint[],
  stepSeconds: number,
  previous?: ThroughputPoint[] | null,
  timeZone?: string,
): ThroughputChartData {
  const prev = previous ?? null;
  return {
    labels: series.map((p) => bucketLabel(p.t, stepSeconds, timeZone)),
    ranges: series.map((p) => bucketRange(p.t, stepSeconds, timeZone)),
    completed: series.map((p) => p.completed),
    failed: series.map((p) => p.failed),
    timedOut: series.map((p) => p.timed_out),
    cancelled: series.map((p) => p.cancelled),
    previousTotal: prev ? series.map((_, i) => prev[i]?.total ?? null) : null,
    total: series.reduce((s, p) => s + p.total, 0),
    previousSum: prev ? prev.reduce((s, p) => s + p.total, 0) : null,
  };
}

export interface TimelineData {
  labels: string[];
  ranges: string[];
  totals: number[];
  /** Success rate per bucket in percent; null where nothing succeeded or failed. */
  successPct: (number | null)[];
}

/** Executions finished per bucket and their success rate, for a two-axis chart. */
export function timelineData(series: ThroughputPoint[], stepSeconds: number, timeZone?: string): TimelineData {
  return {
    labels: series.map((p) => bucketLabel(p.t, stepSeconds, timeZone)),
    ranges: series.map((p) => bucketRange(p.t, stepSeconds, timeZone)),
    totals: series.map((p) => p.total),
    successPct: series.map((p) => {
      const r = successRate(p);
      return r === null ? null : percentOf(r);
    }),
  };
}

/** True when a series holds no finished execution at all. */
export function seriesIsEmpty(series: ThroughputPoint[] | null | undefined): boolean {
  return !series || series.every((p) => p.total === 0 && p.started === 0);
}

/** A compact duration for axis ticks: "500 ms", "1 s", "2 min". */
export function shortDuration(ms: number): string {
  return formatDuration(ms).replace(/\.0 /, ' ');
}

export interface HistogramData {
  labels: string[];
  ranges: string[];
  counts: number[];
}

/**
 * A bucket's span, short: "10–20 s", "500 ms–1 s"; the unit is written once
 * when both ends share it.
 */
export function spanLabel(fromMs: number, toMs: number): string {
  const a = shortDuration(fromMs);
  const b = shortDuration(toMs);
  const [av, au] = a.split(' ');
  const [, bu] = b.split(' ');
  if (fromMs === 0) return `< ${b}`;
  return au === bu ? `${av}–${b}` : `${a}–${b}`;
}

/**
 * The latency histogram: one bar per log-spaced bucket, labelled by its
 * span ("500 ms–1 s").
 */
export function histogramData(distribution: HistBucket[]): HistogramData {
  return {
    labels: distribution.map((b) => spanLabel(b.from_ms, b.to_ms)),
    ranges: distribution.map((b) => `${shortDuration(b.from_ms)} to ${shortDuration(b.to_ms)}`),
    counts: distribution.map((b) => b.count),
  };
}

export const PERCENTILES = ['p50', 'p75', 'p90', 'p95', 'p99'] as const;
export type PercentileName = (typeof PERCENTILES)[number];

export interface PercentileMark {
  name: PercentileName;
  valueMs: number;
  /**
   * Where the value falls on the category axis, in bar units: bucket i spans
   * [i - 0.5, i + 0.5), and the value is placed within it on a log scale
   * (linearly in a bucket starting at 0). null when outside every bucket.
   */
  position: number | null;
}

/** Position of a duration on the histogram's category axis (see PercentileMark). */
export function positionInBuckets(distribution: HistBucket[], ms: number): number | null {
  for (let i = 0; i < distribution.length; i++) {
    const b = distribution[i]!;
    const last = i === distribution.length - 1;
    if (ms >= b.from_ms && (ms < b.to_ms || (last && ms <= b.to_ms))) {
      let frac: number;
      if (b.from_ms <= 0) frac = b.to_ms > 0 ? ms / b.to_ms : 0;
      else frac = Math.log(ms / b.from_ms) / Math.log(b.to_ms / b.from_ms);
      return i - 0.5 + Math.min(Math.max(frac, 0), 1);
    }
  }
  return null;
}

/** p50..p99 of the latency section, each placed on the histogram; unknown ones are left out. */
export function percentileMarks(latency: Pick<Latency, 'distribution' | `${PercentileName}_ms`>): PercentileMark[] {
  const out: PercentileMark[] = [];
  for (const name of PERCENTILES) {
    const v = latency[`${name}_ms`];
    if (v === null || v === undefined) continue;
    out.push({ name, valueMs: v, position: positionInBuckets(latency.distribution, v) });
  }
  return out;
}

/**
 * The points a line cannot show: known values with no known neighbour. A
 * chart draws a dot there, and nowhere else.
 */
export function lonePoints(values: (number | null)[]): boolean[] {
  return values.map((v, i) => v !== null && (values[i - 1] ?? null) === null && (values[i + 1] ?? null) === null);
}

/** Point radii for a line: a dot on each lone point, none elsewhere. */
export function loneDots(values: (number | null)[], radius = 2): number[] {
  return lonePoints(values).map((lone) => (lone ? radius : 0));
}
