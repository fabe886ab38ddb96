import { describe, expect, it } from 'vitest';
import {
  bucketLabel,
  bucketRange,
  elapsedSince,
  isRfc3339,
  isTimeframe,
  localInputToRfc3339,
  rfc3339ToLocalInput,
  stepLabel,
} from './time';

describe('bucketLabel for each step', () => {
  const t = '2026-03-03T14:15:00Z';
  it.each([
    [60, '14:15'],
    [300, '14:15'],
    [900, '14:15'],
    [3600, '3 Mar 14:15'],
    [21600, '3 Mar 14:15'],
    [86400, '3 Mar'],
  ])('step %s -> %s', (step, want) => {
    expect(bucketLabel(t, step, 'UTC')).toBe(want);
  });
  it('uses the viewer zone below a day and UTC days for daily buckets', () => {
    expect(bucketLabel('2026-03-03T23:00:00Z', 3600, 'Asia/Tokyo')).toBe('4 Mar 08:00');
    expect(bucketLabel('2026-03-03T00:00:00Z', 86400, 'America/New_York')).toBe('3 Mar');
  });
  it('gives spans for tooltips', () => {
    expect(bucketRange('2026-03-03T14:00:00Z', 3600, 'UTC')).toBe('3 Mar, 14:00 – 15:00');
    expect(bucketRange('2026-03-03T00:00:00Z', 86400, 'UTC')).toBe('3 Mar 2026 (UTC)');
  });
  it('leaves a bad time as it is', () => {
    expect(bucketLabel('nope', 60)).toBe('nope');
  });
});

describe('steps and timeframes', () => {
  it('labels steps', () => {
    expect(stepLabel(60)).toBe('1 min');
    expect(stepLabel(900)).toBe('15 min');
    expect(stepLabel(3600)).toBe('1 h');
    expect(stepLabel(21600)).toBe('6 h');
    expect(stepLabel(86400)).toBe('1 day');
    expect(stepLabel(172800)).toBe('2 days');
  });
  it('knows the timeframes', () => {
    expect(isTimeframe('7d')).toBe(true);
    expect(isTimeframe('2d')).toBe(false);
    expect(isTimeframe(null)).toBe(false);
  });
});

describe('custom range conversions', () => {
  it('turns a datetime-local value into RFC 3339 UTC and back', () => {
    const iso = localInputToRfc3339('2026-03-01T14:30');
    expect(iso).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    // Local time, whatever the test machine's zone.
    expect(iso).toBe(new Date(2026, 2, 1, 14, 30).toISOString().replace('.000Z', 'Z'));
    expect(rfc3339ToLocalInput(iso)).toBe('2026-03-01T14:30');
  });
  it('refuses empty or malformed values', () => {
    expect(localInputToRfc3339('')).toBeNull();
    expect(localInputToRfc3339('2026-03-01')).toBeNull();
    expect(rfc3339ToLocalInput(null)).toBe('');
  });
  it('checks RFC 3339 with an offset', () => {
    expect(isRfc3339('2026-03-01T12:00:00Z')).toBe(true);
    expect(isRfc3339('2026-03-01T12:00:00.5+01:00')).toBe(true);
    expect(isRfc3339('2026-03-01T12:00:00')).toBe(false);
    expect(isRfc3339('2026-13-45T12:00:00Z')).toBe(false);
  });
});

describe('elapsedSince', () => {
  it('counts on the server clock plus the time since the snapshot arrived', () => {
    const received = 1_000_000;
    // Server says 60 s have passed at the snapshot; 5 s later on this machine.
    expect(elapsedSince('2026-03-01T11:59:00Z', '2026-03-01T12:00:00Z', received, received + 5000)).toBe(65_000);
  });
  it('is never negative', () => {
    expect(elapsedSince('2026-03-01T12:00:05Z', '2026-03-01T12:00:00Z', 0, 0)).toBe(0);
  });
});
