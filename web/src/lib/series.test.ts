import { describe, expect, it } from 'vitest';
import { point } from '../test/fixtures';
import {
  histogramData,
  loneDots,
  lonePoints,
  percentileMarks,
  positionInBuckets,
  seriesIsEmpty,
  spanLabel,
  successRate,
  throughputChartData,
  timelineData,
} from './series';

const series = [
  point('2026-03-01T10:00:00Z', { total: 10, completed: 7, failed: 2, timed_out: 1, started: 10 }),
  point('2026-03-01T10:01:00Z', { total: 0, started: 2 }),
  point('2026-03-01T10:02:00Z', { total: 5, completed: 4, cancelled: 1, started: 4 }),
];

describe('successRate', () => {
  it('is completed over completed, failed and timed out; cancelled counts as neither', () => {
    expect(successRate({ completed: 7, failed: 2, timed_out: 1 })).toBeCloseTo(0.7);
    expect(successRate({ completed: 4, failed: 0, timed_out: 0 })).toBe(1);
    expect(successRate({ completed: 0, failed: 0, timed_out: 0 })).toBeNull();
  });
});

describe('throughputChartData', () => {
  it('splits buckets by status', () => {
    const d = throughputChartData(series, 60, null, 'UTC');
    expect(d.labels).toEqual(['10:00', '10:01', '10:02']);
    expect(d.completed).toEqual([7, 0, 4]);
    expect(d.failed).toEqual([2, 0, 0]);
    expect(d.timedOut).toEqual([1, 0, 0]);
    expect(d.cancelled).toEqual([0, 0, 1]);
    expect(d.total).toBe(15);
    expect(d.previousTotal).toBeNull();
    expect(d.previousSum).toBeNull();
  });
  it('aligns the previous window bucket for bucket', () => {
    const prev = [point('2026-03-01T09:57:00Z', { total: 3 }), point('2026-03-01T09:58:00Z', { total: 4 })];
    const d = throughputChartData(series, 60, prev, 'UTC');
    expect(d.previousTotal).toEqual([3, 4, null]);
    expect(d.previousSum).toBe(7);
  });
});

describe('timelineData', () => {
  it('gives totals and per-bucket success rate in percent, null where undefined', () => {
    const d = timelineData(series, 60, 'UTC');
    expect(d.totals).toEqual([10, 0, 5]);
    expect(d.successPct).toEqual([70, null, 100]);
  });
  it('tells an empty series', () => {
    expect(seriesIsEmpty([point('2026-03-01T10:00:00Z')])).toBe(true);
    expect(seriesIsEmpty(series)).toBe(false);
    expect(seriesIsEmpty(null)).toBe(true);
  });
});

describe('latency histogram', () => {
  const dist = [
    { from_ms: 0, to_ms: 1, count: 1 },
    { from_ms: 1, to_ms: 2, count: 0 },
    { from_ms: 500, to_ms: 1000, count: 5 },
    { from_ms: 1000, to_ms: 2000, count: 8 },
    { from_ms: 10_000, to_ms: 20_000, count: 3 },
  ];
  it('labels log-spaced buckets by span', () => {
    expect(spanLabel(10_000, 20_000)).toBe('10–20 s');
    expect(spanLabel(500, 1000)).toBe('500 ms–1 s');
    expect(spanLabel(0, 1)).toBe('< 1 ms');
    const h = histogramData(dist);
    expect(h.labels).toEqual(['< 1 ms', '1–2 ms', '500 ms–1 s', '1–2 s', '10–20 s']);
    expect(h.counts).toEqual([1, 0, 5, 8, 3]);
    expect(h.ranges[2]).toBe('500 ms to 1 s');
  });
  it('places values within buckets on a log scale', () => {
    expect(positionInBuckets(dist, 1000)).toBeCloseTo(2.5); // start of bucket 3
    expect(positionInBuckets(dist, Math.SQRT2 * 1000)).toBeCloseTo(3); // log-middle of bucket 3
    expect(positionInBuckets(dist, 0.5)).toBeCloseTo(0); // linear in a bucket from 0
    expect(positionInBuckets(dist, 20_000)).toBeCloseTo(4.5); // the top edge of the last bucket
    expect(positionInBuckets(dist, 5000)).toBeNull(); // in no bucket
  });
  it('marks the known percentiles', () => {
    const marks = percentileMarks({
      distribution: dist,
      p50_ms: 1000,
      p75_ms: null,
      p90_ms: 1500,
      p95_ms: 15_000,
      p99_ms: 20_000,
    });
    expect(marks.map((m) => m.name)).toEqual(['p50', 'p90', 'p95', 'p99']);
    expect(marks[0]!.position).toBeCloseTo(2.5);
    expect(marks[3]!.valueMs).toBe(20_000);
  });
});

describe('lonePoints', () => {
  it('marks known values between gaps', () => {
    expect(lonePoints([5, null, 3, 4, null, 7])).toEqual([true, false, false, false, false, true]);
    expect(lonePoints([null, null])).toEqual([false, false]);
    expect(lonePoints([1])).toEqual([true]);
  });
  it('gives a dot radius to lone points only', () => {
    expect(loneDots([5, null, 3, 4], 2)).toEqual([2, 0, 0, 0]);
  });
});
