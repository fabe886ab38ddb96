import { describe, expect, it } from 'vitest';
import { finding, patterns } from '../test/fixtures';
import { detectorText, findingBands, findingSpan, findingSubject, formatMetricValue, metricLabel } from './patterns';

const now = new Date('2026-03-01T12:00:30Z');

describe('finding labels', () => {
  it('names metrics and formats their values in their units', () => {
    expect(metricLabel('queue_wait_p95')).toBe('Queue wait p95');
    expect(formatMetricValue('throughput', 20)).toBe('20/min');
    expect(formatMetricValue('error_rate', 0.4)).toBe('40.0%');
    expect(formatMetricValue('duration_p95', 5300)).toBe('5.3 s');
    expect(formatMetricValue('queue_wait_p95', 750)).toBe('750 ms');
  });
  it('says workspace for findings of no agent', () => {
    expect(findingSubject(finding())).toBe('workspace');
    expect(findingSubject(finding({ agent_id: 'coder' }))).toBe('coder');
  });
  it('writes the span, or ongoing', () => {
    expect(findingSpan(finding(), now, 'UTC')).toBe('11:58 – ongoing');
    expect(findingSpan(finding({ ongoing: false, start: '2026-03-01T11:20:00Z', end: '2026-03-01T11:35:00Z' }), now, 'UTC')).toBe('11:20 – 11:35');
    expect(findingSpan(finding({ ongoing: false, start: '2026-02-28T23:50:00Z', end: '2026-03-01T00:20:00Z' }), now, 'UTC')).toBe('28 Feb 23:50 – 1 Mar 00:20');
    expect(findingSpan(finding({ ongoing: false, start: '2026-02-27T10:00:00Z', end: '2026-02-27T10:45:00Z' }), now, 'UTC')).toBe('27 Feb 10:00 – 10:45');
  });
});

describe('detectorText', () => {
  it('says learning while there is no baseline', () => {
    const d = detectorText({ running: true, evaluated_through: '2026-03-01T12:00:00Z', baseline: 'none', history_hours: 12.5 }, now, 'UTC');
    expect(d).toEqual({ state: 'learning', text: 'Learning: 12.5 h of history, too little for a baseline yet' });
  });
  it('names the baseline and how far it checked', () => {
    const d = detectorText(patterns().detector, now, 'UTC');
    expect(d.state).toBe('ready');
    expect(d.text).toBe('Seasonal baseline (same time on earlier days and weeks) · 336 h of history · checked through 12:00');
  });
  it('says so before the history is read', () => {
    expect(detectorText({ running: false, evaluated_through: null, baseline: 'none', history_hours: 0 }).state).toBe('starting');
  });
});

describe('findingBands', () => {
  const series = [
    { t: '2026-03-01T11:00:00Z' },
    { t: '2026-03-01T11:15:00Z' },
    { t: '2026-03-01T11:30:00Z' },
    { t: '2026-03-01T11:45:00Z' },
  ];
  it('places findings on the category axis in bucket units', () => {
    const b = findingBands([finding({ start: '2026-03-01T11:15:00Z', end: '2026-03-01T11:37:30Z' })], series, 900);
    expect(b).toEqual([{ id: 'f-1', from: 0.5, to: 2, severity: 'critical', label: '↑ Throughput' }]);
  });
  it('clamps findings to the series and leaves out those outside it', () => {
    const b = findingBands(
      [
        finding({ id: 'early', start: '2026-03-01T10:00:00Z', end: '2026-03-01T11:05:00Z', severity: 'warning', direction: 'down' }),
        finding({ id: 'late', start: '2026-03-01T11:50:00Z', end: '2026-03-01T13:00:00Z' }),
        finding({ id: 'before', start: '2026-03-01T09:00:00Z', end: '2026-03-01T10:00:00Z' }),
        finding({ id: 'after', start: '2026-03-01T12:00:00Z', end: '2026-03-01T12:10:00Z' }),
      ],
      series,
      900,
    );
    expect(b.map((x) => x.id)).toEqual(['early', 'late']);
    expect(b[0]).toMatchObject({ from: -0.5, label: '↓ Throughput', severity: 'warning' });
    expect(b[0]!.to).toBeCloseTo(-0.5 + 5 / 15);
    expect(b[1]).toMatchObject({ to: 3.5 });
    expect(b[1]!.from).toBeCloseTo(50 / 15 - 0.5);
  });
  it('draws critical findings over warnings', () => {
    const b = findingBands(
      [finding({ id: 'c' }), finding({ id: 'w', severity: 'warning' })],
      [{ t: '2026-03-01T11:58:00Z' }, { t: '2026-03-01T11:59:00Z' }],
      60,
    );
    expect(b.map((x) => x.id)).toEqual(['w', 'c']);
  });
  it('merges overlapping findings of one severity into one band', () => {
    const b = findingBands(
      [
        finding({ id: 'a', start: '2026-03-01T11:00:00Z', end: '2026-03-01T11:30:00Z', metric: 'queue_wait_p95' }),
        finding({ id: 'b', start: '2026-03-01T11:15:00Z', end: '2026-03-01T11:45:00Z' }),
        finding({ id: 'w', start: '2026-03-01T11:15:00Z', end: '2026-03-01T11:20:00Z', severity: 'warning' }),
      ],
      series,
      900,
    );
    expect(b).toEqual([
      { id: 'w', from: 0.5, to: 0.5 + 5 / 15, severity: 'warning', label: '↑ Throughput' },
      { id: 'a', from: -0.5, to: 2.5, severity: 'critical', label: '↑ Queue wait p95 +1' },
    ]);
  });
  it('gives nothing for an empty series', () => {
    expect(findingBands([finding()], [], 60)).toEqual([]);
  });
});
