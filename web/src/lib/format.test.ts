import { describe, expect, it } from 'vitest';
import {
  changeTone,
  formatAgo,
  formatBytes,
  formatChangePct,
  formatCount,
  formatDuration,
  formatElapsed,
  formatMinute,
  formatPercent,
  formatPointsChange,
  formatRate,
  formatRatePct,
  formatTimestamp,
} from './format';

describe('formatDuration', () => {
  it.each([
    [null, '—'],
    [undefined, '—'],
    [Number.NaN, '—'],
    [0, '0 ms'],
    [0.42, '0.4 ms'],
    [7, '7 ms'],
    [850, '850 ms'],
    [999.4, '999 ms'],
    [999.6, '1 s'],
    [1000, '1 s'],
    [1234, '1.2 s'],
    [9960, '10 s'],
    [45_000, '45 s'],
    [59_940, '60 s'],
    [60_000, '1 min'],
    [180_000, '3 min'],
    [210_000, '3.5 min'],
    [45 * 60_000, '45 min'],
    [3_600_000, '1 h'],
    [2.5 * 3_600_000, '2.5 h'],
    [3.2 * 86_400_000, '3.2 d'],
    [-1500, '-1.5 s'],
  ])('%s ms -> %s', (ms, want) => {
    expect(formatDuration(ms)).toBe(want);
  });
});

describe('formatElapsed', () => {
  it.each([
    [0, '0s'],
    [-5, '0s'],
    [7_900, '7s'],
    [185_000, '3m 05s'],
    [3_720_000, '1h 02m'],
    [2 * 86_400_000 + 4 * 3_600_000, '2d 04h'],
  ])('%s ms -> %s', (ms, want) => {
    expect(formatElapsed(ms)).toBe(want);
  });
});

describe('counts, rates and percentages', () => {
  it('formats counts', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(12345)).toBe('12,345');
    expect(formatCount(2_345_678)).toBe('2.3M');
    expect(formatCount(null)).toBe('—');
  });
  it('formats rates with sensible precision', () => {
    expect(formatRate(0)).toBe('0');
    expect(formatRate(0.254)).toBe('0.25');
    expect(formatRate(0.00357)).toBe('0.0036');
    expect(formatRate(0.5)).toBe('0.5');
    expect(formatRate(4.83)).toBe('4.8');
    expect(formatRate(4)).toBe('4');
    expect(formatRate(1234.4)).toBe('1,234');
    expect(formatRate(null)).toBe('—');
  });
  it('formats success rates from fractions', () => {
    expect(formatRatePct(0.9734)).toBe('97.3%');
    expect(formatRatePct(1)).toBe('100.0%');
    expect(formatRatePct(0)).toBe('0.0%');
    expect(formatRatePct(null)).toBe('—');
  });
  it('formats changes', () => {
    expect(formatChangePct(12.5)).toBe('+12.5%');
    expect(formatChangePct(-3.14)).toBe('−3.1%');
    expect(formatChangePct(0.01)).toBe('0%');
    expect(formatChangePct(null)).toBeNull();
    expect(formatPointsChange(0.012)).toBe('+1.2 pts');
    expect(formatPointsChange(-0.001)).toBe('−0.1 pts');
    expect(formatPointsChange(0)).toBe('0 pts');
    expect(formatPointsChange(null)).toBeNull();
  });
  it('says whether a change is good', () => {
    expect(changeTone(1, true)).toBe('good');
    expect(changeTone(-1, true)).toBe('bad');
    expect(changeTone(1, false)).toBe('bad');
    expect(changeTone(-1, false)).toBe('good');
    expect(changeTone(0, true)).toBe('neutral');
    expect(changeTone(null, true)).toBe('neutral');
    expect(changeTone(5, null)).toBe('neutral');
  });
});

describe('formatTimestamp', () => {
  it('shows the time alone on the same day, the date otherwise', () => {
    const now = new Date('2026-03-01T18:00:00Z');
    expect(formatTimestamp('2026-03-01T14:03:27Z', now, 'UTC')).toBe('14:03:27');
    expect(formatTimestamp('2026-02-27T14:03:27Z', now, 'UTC')).toBe('27 Feb 14:03:27');
    expect(formatTimestamp(null, now, 'UTC')).toBe('—');
    expect(formatTimestamp('garbage', now, 'UTC')).toBe('—');
  });
});

describe('formatBytes', () => {
  it.each([
    [null, '—'],
    [0, '0 B'],
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [730 * 1024 ** 2, '730 MiB'],
    [3.25 * 1024 ** 3, '3.3 GiB'],
    [1024 ** 3 - 1, '1 GiB'],
    [12 * 1024 ** 4, '12 TiB'],
  ])('%s -> %s', (v, want) => {
    expect(formatBytes(v)).toBe(want);
  });
});

describe('formatPercent', () => {
  it('keeps one decimal below 10%', () => {
    expect(formatPercent(0.42)).toBe('0.4%');
    expect(formatPercent(7.5)).toBe('7.5%');
    expect(formatPercent(41.5)).toBe('42%');
    expect(formatPercent(100)).toBe('100%');
    expect(formatPercent(null)).toBe('—');
  });
});

describe('formatAgo', () => {
  it('says how long ago', () => {
    expect(formatAgo(400)).toBe('just now');
    expect(formatAgo(12_000)).toBe('12 s ago');
    expect(formatAgo(210_000)).toBe('3.5 min ago');
    expect(formatAgo(null)).toBe('—');
  });
});

describe('formatMinute', () => {
  it('shows the time to the minute, with the day when not today', () => {
    const now = new Date('2026-03-01T18:00:00Z');
    expect(formatMinute('2026-03-01T14:03:27Z', now, 'UTC')).toBe('14:03');
    expect(formatMinute('2026-03-02T01:00:00Z', now, 'UTC')).toBe('2 Mar 01:00');
    expect(formatMinute(undefined, now, 'UTC')).toBe('—');
  });
});
