// Pure transforms of the hourly forecast onto a chart of `step`-second buckets.
import type { WindowParams } from '../api/client';
import type { Forecast, ForecastPoint } from '../api/types';
import { bucketLabel, bucketRange, stepLabel } from './time';

const HOUR = 3600;

/** The forecast is drawn after windows that end now and have hourly or finer buckets: 24h and 7d. */
export function showsForecast(win: WindowParams): boolean {
  return 'timeframe' in win && (win.timeframe === '24h' || win.timeframe === '7d');
}

/** The chart's legend for the forecast: honest about the hourly model and its scaling. */
export function forecastLabel(stepSeconds: number): string {
  if (stepSeconds === HOUR) return 'Forecast, per hour';
  return `Forecast, per hour ÷ ${HOUR / stepSeconds} (per ${stepLabel(stepSeconds)})`;
}

export interface ForecastChartData {
  labels: string[];
  ranges: string[];
  /** Per chart bucket: the hour's value × step / 3600 (the hour spread evenly); null outside the forecast. */
  expected: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
  /** capacity_per_hour on the same scale, where the forecast is; null without heartbeats. */
  capacity: (number | null)[];
  /** The forecast hour each bucket falls in, for tooltips in per-hour figures. */
  hours: (ForecastPoint | null)[];
  /** step / 3600: what a per-hour figure is multiplied by. */
  factor: number;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/**
 * Buckets after the observed series (whose last bucket starts at lastT),
 * through the end of the last forecast hour. Each takes the hour it starts
 * in; buckets before the first forecast hour stay empty. Steps above an hour
 * are not drawn (null).
 */
export function forecastChartData(
  forecast: Pick<Forecast, 'series' | 'capacity_per_hour'>,
  lastT: string,
  stepSeconds: number,
  timeZone?: string,
): ForecastChartData | null {
  const last = forecast.series.at(-1);
  const start = Date.parse(lastT);
  if (!last || stepSeconds <= 0 || stepSeconds > HOUR || Number.isNaN(start)) return null;
  const stepMs = stepSeconds * 1000;
  const end = Date.parse(last.t) + HOUR * 1000;
  const hours = forecast.series.map((p) => ({ p, from: Date.parse(p.t) }));
  const factor = stepSeconds / HOUR;
  const out: ForecastChartData = { labels: [], ranges: [], expected: [], lower: [], upper: [], capacity: [], hours: [], factor };
  for (let t = start + stepMs; t < end; t += stepMs) {
    const iso = new Date(t).toISOString();
    const h = hours.find((x) => x.from <= t && t < x.from + HOUR * 1000)?.p ?? null;
    out.labels.push(bucketLabel(iso, stepSeconds, timeZone));
    out.ranges.push(bucketRange(iso, stepSeconds, timeZone) + ' (forecast)');
    out.hours.push(h);
    out.expected.push(h ? round2(h.expected * factor) : null);
    out.lower.push(h ? round2(h.lower * factor) : null);
    out.upper.push(h ? round2(h.upper * factor) : null);
    out.capacity.push(h && forecast.capacity_per_hour !== null ? round2(forecast.capacity_per_hour * factor) : null);
  }
  return out.labels.length ? out : null;
}

/**
 * Executions expected over the whole forecast. (The hours' 90% intervals do
 * not add up to an interval of the sum, so none is given for it.)
 */
export function forecastTotal(series: ForecastPoint[]): number {
  return series.reduce((s, p) => s + p.expected, 0);
}

/**
 * Whether the capacity line belongs on the chart: when it is at most twice
 * the highest bar or forecast bound. Farther above it would squash the bars
 * to the floor, so it is written in the note instead.
 */
export function capacityInView(capacityPerBucket: number | null, top: number): boolean {
  if (capacityPerBucket === null) return false;
  return capacityPerBucket <= Math.max(top, 1) * 2;
}
