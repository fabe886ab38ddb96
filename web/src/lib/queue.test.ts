import { describe, expect, it } from 'vitest';
import { queue } from '../test/fixtures';
import { backlogChartData, drainEstimate, queueWindowIsEmpty } from './queue';

describe('drainEstimate', () => {
  it('says when the backlog drains at the recent pace', () => {
    expect(drainEstimate({ queued: 80, drain_seconds: 120, completion_rate_per_minute: 40 })).toEqual({
      state: 'draining',
      text: 'Drains in ~2 min at 40/min',
    });
    expect(drainEstimate(queue()).text).toBe('Drains in ~29 s at 4.2/min');
    expect(drainEstimate({ queued: 1, drain_seconds: 0.3, completion_rate_per_minute: 200 }).text).toBe('Drains in under 1 s at 200/min');
  });
  it('says "not draining" when nothing finished while work waits', () => {
    expect(drainEstimate({ queued: 5, drain_seconds: null, completion_rate_per_minute: 0 })).toEqual({
      state: 'stuck',
      text: 'Not draining: nothing finished in the last 5 minutes',
    });
  });
  it('says "empty" with nothing queued', () => {
    expect(drainEstimate({ queued: 0, drain_seconds: 0, completion_rate_per_minute: 12 })).toEqual({
      state: 'empty',
      text: 'Empty: nothing is waiting',
    });
  });
});

describe('backlogChartData', () => {
  it('keeps gaps where no sample was taken and finds the peak', () => {
    const q = queue();
    const d = backlogChartData(q.series, 60, 'UTC');
    expect(d.labels).toEqual(['11:57', '11:58', '11:59']);
    expect(d.max).toEqual([null, 3, 4]);
    expect(d.mean).toEqual([null, 1.5, 2.3]);
    expect(d.peak).toBe(4);
  });
  it('has no peak without samples', () => {
    const d = backlogChartData([{ t: '2026-03-01T10:00:00Z', queued_max: null, queued_mean: null, oldest_wait_ms_max: null, wait_count: 0 }], 60);
    expect(d.peak).toBeNull();
  });
});

describe('queueWindowIsEmpty', () => {
  it('is empty only without waits, agents or any backlog', () => {
    expect(queueWindowIsEmpty(queue())).toBe(false);
    const quiet = queue({
      wait: { count: 0, min_ms: null, mean_ms: null, p50_ms: null, p75_ms: null, p90_ms: null, p95_ms: null, p99_ms: null, max_ms: null },
      by_agent: [],
      series: [{ t: '2026-03-01T10:00:00Z', queued_max: 0, queued_mean: 0, oldest_wait_ms_max: null, wait_count: 0 }],
    });
    expect(queueWindowIsEmpty(quiet)).toBe(true);
    expect(queueWindowIsEmpty({ ...quiet, series: [{ ...quiet.series[0]!, queued_max: 2 }] })).toBe(false);
  });
});
