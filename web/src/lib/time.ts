// Windows, bucket labels and the conversions of the custom range picker.

export const TIMEFRAMES = ['1h', '6h', '24h', '7d', '30d', '90d'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];
export const DEFAULT_TIMEFRAME: Timeframe = '24h';

export function isTimeframe(s: string | null | undefined): s is Timeframe {
  return !!s && (TIMEFRAMES as readonly string[]).includes(s);
}

// Building an Intl.DateTimeFormat costs far more than using one, and a chart
// labels hundreds of buckets: formatters are kept per options and zone.
const formatters = new Map<string, Intl.DateTimeFormat>();
function dtf(timeZone: string | undefined, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${timeZone ?? ''}|${JSON.stringify(opts)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { ...opts, timeZone });
    formatters.set(key, f);
  }
  return f;
}

/**
 * The label of a bucket starting at `iso`, for a series of `stepSeconds`
 * steps: times of day for minute steps, day and hour for hourly ones, dates
 * for daily ones. Daily buckets are UTC days (the API aligns buckets in UTC),
 * so they are labelled in UTC; finer ones in the viewer's zone.
 */
export function bucketLabel(iso: string, stepSeconds: number, timeZone?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  if (stepSeconds >= 86400) {
    return dtf('UTC', { day: 'numeric', month: 'short' }).format(d);
  }
  const hm = dtf(timeZone, { hour: '2-digit', minute: '2-digit', hour12: false }).format(d);
  if (stepSeconds < 3600) return hm;
  const day = dtf(timeZone, { day: 'numeric', month: 'short' }).format(d);
  return `${day} ${hm}`;
}

/** A bucket's full span for tooltips: "3 Mar 14:00 – 15:00". */
export function bucketRange(iso: string, stepSeconds: number, timeZone?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const end = new Date(d.getTime() + stepSeconds * 1000);
  if (stepSeconds >= 86400) {
    const f = dtf('UTC', { day: 'numeric', month: 'short', year: 'numeric' });
    return stepSeconds === 86400 ? f.format(d) + ' (UTC)' : `${f.format(d)} – ${f.format(end)} (UTC)`;
  }
  const full = dtf(timeZone, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hour12: false });
  const hm = dtf(timeZone, { hour: '2-digit', minute: '2-digit', hour12: false });
  return `${full.format(d)} – ${hm.format(end)}`;
}

/** A step for people: 60 -> "1 min", 3600 -> "1 h", 86400 -> "1 day". */
export function stepLabel(stepSeconds: number): string {
  if (stepSeconds % 86400 === 0) return stepSeconds === 86400 ? '1 day' : `${stepSeconds / 86400} days`;
  if (stepSeconds % 3600 === 0) return `${stepSeconds / 3600} h`;
  return `${Math.round(stepSeconds / 60)} min`;
}

/**
 * The value of a datetime-local input ("2026-03-01T14:30", in the viewer's
 * zone) as RFC 3339 UTC ("2026-03-01T13:30:00Z"); null when empty or invalid.
 */
export function localInputToRfc3339(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return null;
  const d = new Date(value); // no offset: local time, per ECMAScript
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

/** RFC 3339 -> the value of a datetime-local input, in the viewer's zone. */
export function rfc3339ToLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A valid RFC 3339 timestamp with an offset, as the API wants. */
export function isRfc3339(s: string | null | undefined): s is string {
  return (
    !!s &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) &&
    !Number.isNaN(Date.parse(s))
  );
}

/** A short description of a custom range: "3 Mar 14:00 → 4 Mar 09:30". */
export function rangeLabel(from: string, to: string, timeZone?: string): string {
  const f = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
  return `${f.format(new Date(from))} → ${f.format(new Date(to))}`;
}

/**
 * Elapsed time of something that started at `startedAt` (server clock), now:
 * the snapshot's server time `serverAt` minus the start, plus the time that
 * has passed on this machine since the snapshot arrived (`receivedAtMs`).
 * Clock skew between the browser and the server cancels out. Never negative.
 */
export function elapsedSince(startedAt: string, serverAt: string, receivedAtMs: number, nowMs: number): number {
  const start = Date.parse(startedAt);
  const at = Date.parse(serverAt);
  if (Number.isNaN(start)) return 0;
  const base = Number.isNaN(at) ? nowMs - start : at - start + Math.max(0, nowMs - receivedAtMs);
  return Math.max(0, base);
}
