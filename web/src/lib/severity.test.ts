import { describe, expect, it } from 'vitest';
import { QUEUE_SEVERITY, queueSeverity } from './severity';

describe('queueSeverity', () => {
  it('has the documented thresholds', () => {
    expect(QUEUE_SEVERITY).toEqual({ warningAgeMs: 30_000, criticalAgeMs: 300_000, criticalQueued: 100 });
  });
  it.each([
    [0, null, 'ok'],
    [5, 29_999, 'ok'],
    [5, 30_000, 'warning'],
    [5, 299_999, 'warning'],
    [5, 300_000, 'critical'],
    [100, 1_000, 'ok'],
    [101, 1_000, 'critical'],
    [101, null, 'critical'],
  ] as const)('%s queued, oldest %s ms -> %s', (queued, age, want) => {
    expect(queueSeverity(queued, age)).toBe(want);
  });
});
