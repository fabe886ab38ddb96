// Pure transforms of the detector's findings: labels, values, and the time
// ranges shaded on the charts.
import type { DetectorStatus, Finding, FindingMetric, FindingSeverity } from '../api/types';
import { formatDuration, formatMinute, formatRate, formatRatePct } from './format';

export const METRIC_LABELS: Record<FindingMetric, string> = {
  throughput: 'Throughput',
  error_rate: 'Error rate',
  duration_p95: 'Run time p95',
  queue_wait_p95: 'Queue wait p95',
};

export function metricLabel(m: string): string {
  return METRIC_LABELS[m as FindingMetric] ?? m;
}

/**
 * A value of a finding's metric: throughput is executions finished per
 * minute, the error rate a fraction (failed and timed out over finished),
 * the p95s milliseconds.
 */
export function formatMetricValue(metric: string, v: number | null | undefined): string {
  switch (metric) {
    case 'throughput':
      return `${formatRate(v)}/min`;
    case 'error_rate':
      return formatRatePct(v);
    case 'duration_p95':
    case 'queue_wait_p95':
      return formatDuration(v);
    default:
      return formatRate(v);
  }
}

/** Whom a finding is about: its agent, or the workspace as a whole. */
export function findingSubject(f: Pick<Finding, 'agent_id'>): string {
  return f.agent_id ?? 'workspace';
}

/** "14:03 – 14:27", "14:03 – ongoing", "3 Mar 23:50 – 4 Mar 00:20". */
export function findingSpan(f: Pick<Finding, 'start' | 'end' | 'ongoing'>, now: Date = new Date(), timeZone?: string): string {
  const start = formatMinute(f.start, now, timeZone);
  if (f.ongoing) return `${start} – ongoing`;
  // The end's day is written only when it differs from the start's.
  const end = formatMinute(f.end, new Date(f.start), timeZone);
  return `${start} – ${end}`;
}

export interface DetectorText {
  state: 'starting' | 'learning' | 'ready';
  text: string;
}

/** What the detector compares with, for the panel's header. */
export function detectorText(d: DetectorStatus, now: Date = new Date(), timeZone?: string): DetectorText {
  const hours = `${formatRate(d.history_hours)} h of history`;
  if (!d.running) return { state: 'starting', text: 'Detector starting: reading the history' };
  if (d.baseline === 'none') return { state: 'learning', text: `Learning: ${hours}, too little for a baseline yet` };
  const checked = d.evaluated_through ? ` · checked through ${formatMinute(d.evaluated_through, now, timeZone)}` : '';
  const what = d.baseline === 'seasonal' ? 'seasonal baseline (same time on earlier days and weeks)' : 'robust baseline (median of recent hours)';
  return { state: 'ready', text: `${what[0]!.toUpperCase()}${what.slice(1)} · ${hours}${checked}` };
}

/** A finding as a range of a category axis whose bucket i spans [i - 0.5, i + 0.5). */
export interface FindingBand {
  id: string;
  /** Axis positions in bucket units, clamped to the series. */
  from: number;
  to: number;
  severity: FindingSeverity;
  /** A short label drawn on the band: "↑ Throughput". */
  label: string;
}

/**
 * The findings that overlap a series, placed on its category axis: a time t
 * falls at (t - t0) / step - 0.5. Findings outside the series are left out;
 * the others are clamped to its ends.
 */
export function findingBands(findings: Finding[], series: { t: string }[], stepSeconds: number): FindingBand[] {
  const first = series[0];
  if (!first || stepSeconds <= 0) return [];
  const t0 = Date.parse(first.t);
  const stepMs = stepSeconds * 1000;
  const lo = -0.5;
  const hi = series.length - 0.5;
  const out: FindingBand[] = [];
  for (const f of findings) {
    const s = Date.parse(f.start);
    const e = Date.parse(f.end);
    if (Number.isNaN(s) || Number.isNaN(e) || Number.isNaN(t0)) continue;
    const from = (s - t0) / stepMs - 0.5;
    const to = (Math.max(e, s) - t0) / stepMs - 0.5;
    if (to <= lo || from >= hi) continue;
    out.push({
      id: f.id,
      from: Math.max(lo, from),
      to: Math.min(hi, to),
      severity: f.severity,
      label: `${f.direction === 'up' ? '↑' : '↓'} ${metricLabel(f.metric)}`,
    });
  }
  // Overlapping findings of one severity become one band, so shading does
  // not darken where several agree; critical bands are drawn last, on top.
  const merged: FindingBand[] = [];
  for (const severity of ['warning', 'critical'] as const) {
    let cur: (FindingBand & { n: number }) | null = null;
    for (const b of out.filter((x) => x.severity === severity).sort((a, b) => a.from - b.from)) {
      if (cur && b.from <= cur.to) {
        cur.to = Math.max(cur.to, b.to);
        cur.n++;
        continue;
      }
      if (cur) merged.push(bandOf(cur));
      cur = { ...b, n: 1 };
    }
    if (cur) merged.push(bandOf(cur));
  }
  return merged;
}

function bandOf(b: FindingBand & { n: number }): FindingBand {
  const { n, ...band } = b;
  return n > 1 ? { ...band, label: `${band.label} +${n - 1}` } : band;
}
