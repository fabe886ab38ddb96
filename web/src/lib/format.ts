// Number, duration and percentage formatting. Every function takes null for
// "unknown" and shows an em dash for it, never a made-up zero.

export const NONE = '—';

/** Trims a fixed-decimal number: 3.0 -> "3", 3.25 -> "3.3" (1 decimal). */
function trim(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/**
 * A duration for people: "0.4 ms", "850 ms", "1.2 s", "45 s", "3 min",
 * "2.5 h", "3.2 d". One decimal below 10 of a unit, whole numbers above.
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return NONE;
  const neg = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  const unit = (v: number, u: string) => neg + trim(v, v < 10 ? 1 : 0) + ' ' + u;
  if (a < 1) return a === 0 ? '0 ms' : unit(a, 'ms');
  if (a < 999.5) return neg + Math.round(a) + ' ms';
  if (a < 59_950) return unit(a / 1000, 's');
  if (a < 3_597_000) return unit(a / 60_000, 'min');
  if (a < 86_220_000) return unit(a / 3_600_000, 'h');
  return unit(a / 86_400_000, 'd');
}

/** A ticking clock for elapsed time: "7s", "3m 05s", "1h 02m", "2d 04h". */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor((s % 86400) / 3600))}h`;
}

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A count with thousands separators: 12345 -> "12,345"; above a million "1.2M". */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return NONE;
  if (Math.abs(n) >= 1_000_000) return trim(n / 1_000_000, 1) + 'M';
  return intFmt.format(n);
}

/** A rate: "0.0036", "0.25", "4.8", "125" (two significant digits below 1). */
export function formatRate(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NONE;
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 1) return String(Number(v.toPrecision(2)));
  if (a < 100) return trim(v, 1);
  return formatCount(Math.round(v));
}

/** A success rate (a fraction 0..1) as a percentage: 0.9734 -> "97.3%". */
export function formatRatePct(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return NONE;
  return percentOf(fraction).toFixed(1) + '%';
}

/** 0..1 -> 0..100, rounded to 0.01 so 0.1 + 0.2 shows no float noise. */
export function percentOf(fraction: number): number {
  return Math.round(fraction * 10000) / 100;
}

/** A relative change in percent: "+12.5%", "−3.1%", "0%"; unknown -> null. */
export function formatChangePct(pct: number | null | undefined): string | null {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return null;
  if (Math.abs(pct) < 0.05) return '0%';
  return (pct > 0 ? '+' : '−') + Math.abs(pct).toFixed(1) + '%';
}

/** A change of a rate in percentage points, from fractions: 0.012 -> "+1.2 pts". */
export function formatPointsChange(fractionChange: number | null | undefined): string | null {
  if (fractionChange === null || fractionChange === undefined || !Number.isFinite(fractionChange)) return null;
  const pts = fractionChange * 100;
  if (Math.abs(pts) < 0.05) return '0 pts';
  return (pts > 0 ? '+' : '−') + Math.abs(pts).toFixed(1) + ' pts';
}

/** How a change reads: better, worse or neutral, given which way is good. */
export type Tone = 'good' | 'bad' | 'neutral';

export function changeTone(change: number | null | undefined, higherIsBetter: boolean | null): Tone {
  if (change === null || change === undefined || change === 0 || higherIsBetter === null) return 'neutral';
  return change > 0 === higherIsBetter ? 'good' : 'bad';
}

/** A timestamp in the viewer's locale, with seconds: "14:03:27" today, else "3 Mar 14:03:27". */
export function formatTimestamp(iso: string | null | undefined, now: Date = new Date(), timeZone?: string): string {
  if (!iso) return NONE;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return NONE;
  const dayOf = (x: Date) => new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'short' }).format(x);
  const time = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(d);
  if (dayOf(d) === dayOf(now)) return time;
  const day = new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short' }).format(d);
  return `${day} ${time}`;
}

/** A size in bytes, binary units: "512 B", "1.5 KiB", "730 MiB", "3.2 GiB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return NONE;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Math.abs(bytes);
  let i = 0;
  while (v >= 1023.95 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const sign = bytes < 0 ? '-' : '';
  return sign + (i === 0 ? String(Math.round(v)) : trim(v, v < 10 ? 1 : 0)) + ' ' + units[i];
}

/** A percentage already in 0..100: "0.4%", "7.5%", "42%". */
export function formatPercent(pct: number | null | undefined): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return NONE;
  return trim(pct, Math.abs(pct) < 10 ? 1 : 0) + '%';
}

/** How long ago: "just now", "12 s ago", "3.5 min ago". */
export function formatAgo(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return NONE;
  if (ms < 1000) return 'just now';
  return formatDuration(ms) + ' ago';
}

/** A time to the minute: "14:03" on the day of `now`, else "3 Mar 14:03". */
export function formatMinute(iso: string | null | undefined, now: Date = new Date(), timeZone?: string): string {
  if (!iso) return NONE;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return NONE;
  const dayOf = (x: Date) => new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'short' }).format(x);
  const hm = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hour12: false }).format(d);
  if (dayOf(d) === dayOf(now)) return hm;
  const day = new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short' }).format(d);
  return `${day} ${hm}`;
}
