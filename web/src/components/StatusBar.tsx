import type { ReactNode } from 'react';
import type { WindowParams } from '../api/client';
import { useMetrics, useRealtime } from '../api/hooks';
import {
  changeTone,
  formatChangePct,
  formatCount,
  formatDuration,
  formatPointsChange,
  formatRate,
  formatRatePct,
  type Tone,
} from '../lib/format';
import { errorMessage } from './Panel';

const toneClass: Record<Tone, string> = {
  good: 'text-emerald-700',
  bad: 'text-red-700',
  neutral: 'text-slate-500',
};

/** One key figure: a stable accessible name, the number, and how it moved. */
export function Figure(props: {
  name: string;
  value: string;
  unit?: string;
  change?: ReactNode;
  tone?: Tone;
  busy?: boolean;
  title?: string;
}) {
  return (
    <div
      role="group"
      aria-label={props.name}
      aria-busy={props.busy || undefined}
      title={props.title}
      className="min-w-0 rounded-lg border border-slate-200 bg-white px-4 py-3 shadow-sm"
    >
      <div className="text-xs font-medium tracking-wide text-slate-500 uppercase">{props.name}</div>
      <div className="mt-1 flex items-baseline gap-1">
        <span data-testid="figure-value" className="text-2xl font-semibold tabular-nums text-slate-900">
          {props.value}
        </span>
        {props.unit && <span className="text-sm text-slate-500">{props.unit}</span>}
      </div>
      <div data-testid="figure-change" className={`mt-1 truncate text-xs ${toneClass[props.tone ?? 'neutral']}`}>
        {props.change ?? '\u00a0'}
      </div>
    </div>
  );
}

const LOADING = '…';

export function StatusBar(props: { ws: string; win: WindowParams; agent: string | null }) {
  const rt = useRealtime(props.ws, props.agent);
  const m = useMetrics(props.ws, props.win, props.agent);
  const snap = rt.data;
  const data = m.data;
  const cmp = data?.comparison;
  const vsPrev = 'vs previous period';

  const rtValue = (v: number | undefined) => (snap ? formatCount(v) : rt.isError ? '—' : LOADING);
  const mValue = (f: () => string) => (data ? f() : m.isError ? '—' : LOADING);
  const mError = m.isError ? `Could not load: ${errorMessage(m.error)}` : undefined;
  const rtError = rt.isError && !snap ? `Could not load: ${errorMessage(rt.error)}` : undefined;

  const pct = (v: number | null | undefined) => {
    const s = formatChangePct(v);
    return s ? `${s} ${vsPrev}` : 'no previous data to compare';
  };

  const successChange = cmp?.success_rate.change;
  const pts = formatPointsChange(successChange);

  return (
    <section aria-label="Key figures" className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-5">
      <Figure
        name="Running"
        value={rtValue(snap?.running)}
        busy={rt.isPending}
        change={rtError ?? (snap ? `${formatCount(snap.started_last_minute)} started last min` : undefined)}
        tone={rtError ? 'bad' : 'neutral'}
      />
      <Figure
        name="Queued"
        value={rtValue(snap?.queued)}
        busy={rt.isPending}
        change={rtError ?? (snap ? `${formatCount(snap.finished_last_minute)} finished last min` : undefined)}
        tone={rtError ? 'bad' : 'neutral'}
      />
      <Figure
        name="Throughput"
        value={mValue(() => formatRate(data!.throughput.per_minute))}
        unit="/min"
        busy={m.isPending}
        change={mError ?? (cmp ? pct(cmp.per_hour.change_pct) : undefined)}
        tone={mError ? 'bad' : 'neutral'}
        title="Executions finished per minute over the window"
      />
      <Figure
        name="Success rate"
        value={mValue(() => formatRatePct(data!.performance.success_rate))}
        busy={m.isPending}
        change={mError ?? (cmp ? (pts ? `${pts} ${vsPrev}` : 'no previous data to compare') : undefined)}
        tone={mError ? 'bad' : changeTone(successChange, true)}
        title="Completed / (completed + failed + timed out)"
      />
      <Figure
        name="P95 latency"
        value={mValue(() => formatDuration(data!.latency.p95_ms))}
        busy={m.isPending}
        change={mError ?? (cmp ? pct(cmp.p95_ms.change_pct) : undefined)}
        tone={mError ? 'bad' : changeTone(cmp?.p95_ms.change, false)}
        title="95th percentile of run time (started to finished)"
      />
    </section>
  );
}
