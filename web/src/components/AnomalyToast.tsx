import { useEffect } from 'react';
import type { Finding } from '../api/types';
import { findingSubject, formatMetricValue, metricLabel } from '../lib/patterns';
import { DirectionArrow, SEVERITY_LOOK, SeverityBadge } from './AnomalyList';

/** How long a live notice stays before it goes by itself; the Anomalies panel keeps the finding. */
export const TOAST_MS = 60_000;

function Toast(props: { f: Finding; onDismiss: (id: string) => void }) {
  const { f, onDismiss } = props;
  useEffect(() => {
    const t = setTimeout(() => onDismiss(f.id), TOAST_MS);
    return () => clearTimeout(t);
  }, [f, onDismiss]);
  const l = SEVERITY_LOOK[f.severity] ?? SEVERITY_LOOK.warning;
  return (
    <div
      role="group"
      aria-label={`New anomaly: ${metricLabel(f.metric)} ${f.direction}, ${findingSubject(f)}`}
      className={`pointer-events-auto rounded-md border border-l-4 border-slate-200 bg-white p-3 text-sm shadow-lg ${l.edge}`}
    >
      <div className="flex items-center gap-2">
        <SeverityBadge severity={f.severity} />
        <span className="font-semibold">
          {metricLabel(f.metric)} <DirectionArrow direction={f.direction} />
        </span>
        <span className={f.agent_id ? 'font-mono text-xs' : 'text-xs text-slate-500 italic'}>{findingSubject(f)}</span>
        <button
          type="button"
          onClick={() => onDismiss(f.id)}
          aria-label="Dismiss"
          className="ml-auto rounded px-1.5 text-slate-500 hover:bg-slate-100 hover:text-slate-900"
        >
          ×
        </button>
      </div>
      <p className="mt-1 tabular-nums">
        {formatMetricValue(f.metric, f.observed)} observed vs {formatMetricValue(f.metric, f.expected)} expected
      </p>
      {f.explanation && <p className="mt-1 text-slate-700">{f.explanation}</p>}
      <button
        type="button"
        onClick={() => {
          document.getElementById('anomalies')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
          onDismiss(f.id);
        }}
        className="mt-2 text-xs font-medium text-sky-700 hover:underline"
      >
        Show in Anomalies
      </button>
    </div>
  );
}

/** Findings the live stream announced (opened, or turned critical), newest on top. */
export function AnomalyToasts(props: { items: Finding[]; onDismiss: (id: string) => void }) {
  return (
    <section
      aria-label="New anomalies"
      aria-live="polite"
      className="pointer-events-none fixed right-4 bottom-4 z-40 flex w-96 max-w-[calc(100vw-2rem)] flex-col gap-2"
    >
      {props.items.map((f) => (
        <Toast key={f.id} f={f} onDismiss={props.onDismiss} />
      ))}
    </section>
  );
}
