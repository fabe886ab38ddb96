// Queue severity: how worrying the queue is now.

/**
 * Thresholds of the queue depth indicator (documented in web/README.md):
 * ok while the oldest queued execution has waited less than 30 s; warning
 * below 5 min; critical from 5 min, or whenever more than 100 are queued.
 */
export const QUEUE_SEVERITY = {
  /** Oldest wait at or above this is a warning (ms). */
  warningAgeMs: 30_000,
  /** Oldest wait at or above this is critical (ms). */
  criticalAgeMs: 5 * 60_000,
  /** More queued executions than this is critical, whatever their age. */
  criticalQueued: 100,
} as const;

export type Severity = 'ok' | 'warning' | 'critical';

export function queueSeverity(queued: number, oldestAgeMs: number | null | undefined): Severity {
  const age = oldestAgeMs ?? 0;
  if (queued > QUEUE_SEVERITY.criticalQueued || age >= QUEUE_SEVERITY.criticalAgeMs) return 'critical';
  if (age >= QUEUE_SEVERITY.warningAgeMs) return 'warning';
  return 'ok';
}
