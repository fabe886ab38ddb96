import type { WindowParams } from '../api/client';
import { usePatterns } from '../api/hooks';
import type { Finding, FindingSeverity } from '../api/types';
import { formatCount, formatRatePct } from '../lib/format';
import { detectorText, findingSpan, findingSubject, formatMetricValue, metricLabel } from '../lib/patterns';
import { Empty, ErrorState, Loading, Panel } from './Panel';

export const SEVERITY_LOOK: Record<FindingSeverity, { badge: string; edge: string; label: string }> = {
  warning: { badge: 'bg-amber-100 text-amber-900 border-amber-300', edge: 'border-l-amber-500', label: 'Warning' },
  critical: { badge: 'bg-red-600 text-white border-red-700', edge: 'border-l-red-600', label: 'Critical' },
};

export function SeverityBadge(props: { severity: FindingSeverity }) {
  const l = SEVERITY_LOOK[props.severity] ?? SEVERITY_LOOK.warning;
  return <span className={`rounded border px-1.5 py-0.5 text-xs font-semibold ${l.badge}`}>{l.label}</span>;
}

export function DirectionArrow(props: { direction: Finding['direction'] }) {
  return (
    <span className={props.direction === 'up' ? 'text-red-700' : 'text-sky-700'}>
      <span aria-hidden>{props.direction === 'up' ? '↑' : '↓'}</span>
      <span className="sr-only">{props.direction === 'up' ? ' up' : ' down'}</span>
    </span>
  );
}

/** The name a finding goes by: "Throughput up, workspace, critical". */
export function findingName(f: Finding): string {
  return `${metricLabel(f.metric)} ${f.direction}, ${findingSubject(f)}, ${f.severity}`;
}

function FindingItem(props: { f: Finding }) {
  const f = props.f;
  const l = SEVERITY_LOOK[f.severity] ?? SEVERITY_LOOK.warning;
  return (
    <li aria-label={findingName(f)} className={`rounded-md border border-l-4 border-slate-200 bg-white p-3 ${l.edge}`}>
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1">
        <SeverityBadge severity={f.severity} />
        <span className="font-semibold">
          {metricLabel(f.metric)} <DirectionArrow direction={f.direction} />
        </span>
        <span className={`text-sm ${f.agent_id ? 'font-mono' : 'text-slate-500 italic'}`}>{findingSubject(f)}</span>
        <span className="ml-auto text-xs whitespace-nowrap text-slate-600 tabular-nums" data-testid="finding-span">
          {findingSpan(f)}
          {f.ongoing && <span className="ml-1 inline-block h-2 w-2 animate-pulse rounded-full bg-red-500 align-middle" aria-hidden />}
        </span>
      </div>
      <p className="mt-1 text-sm tabular-nums" data-testid="finding-values">
        <span className="font-semibold">{formatMetricValue(f.metric, f.observed)}</span> observed vs{' '}
        {formatMetricValue(f.metric, f.expected)} expected
        <span className="text-xs text-slate-500">
          {' '}
          · {Math.abs(f.score).toFixed(1)} robust SD {f.score >= 0 ? 'above' : 'below'} · {f.baseline} baseline
        </span>
      </p>
      {f.explanation && <p className="mt-1 text-sm text-slate-700">{f.explanation}</p>}
      {f.contributors.length > 0 && (
        <div className="mt-2">
          <h4 className="text-xs font-semibold text-slate-500">Behind it</h4>
          <ul aria-label={`Contributors to ${findingName(f)}`} className="mt-0.5 space-y-0.5 text-xs">
            {f.contributors.map((c) => (
              <li key={c.agent_id} className="flex flex-wrap gap-x-2 tabular-nums">
                <span className="font-mono">{c.agent_id}</span>
                <span>
                  {formatMetricValue(f.metric, c.observed)} vs {formatMetricValue(f.metric, c.expected)} expected
                </span>
                <span className="text-slate-500">{formatRatePct(c.share)} of the excess</span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </li>
  );
}

export function AnomalyList(props: { ws: string; win: WindowParams; agent: string | null }) {
  const q = usePatterns(props.ws, props.win, props.agent);
  const p = q.data;

  let body;
  let actions;
  if (q.isPending) body = <Loading what="anomalies" />;
  else if (q.isError) body = <ErrorState what="anomalies" error={q.error} onRetry={() => q.refetch()} />;
  else if (p) {
    const det = detectorText(p.detector);
    actions = (
      <p
        data-testid="detector"
        data-detector={det.state}
        className={`text-xs ${det.state === 'ready' ? 'text-slate-500' : 'rounded bg-slate-100 px-1.5 py-0.5 text-slate-700'}`}
      >
        {det.text}
      </p>
    );
    if (p.anomalies.length === 0) {
      body = <Empty>Nothing unusual in this window.</Empty>;
    } else {
      const critical = p.anomalies.filter((f) => f.severity === 'critical').length;
      const ongoing = p.anomalies.filter((f) => f.ongoing).length;
      body = (
        <>
          <p className="mb-2 text-xs text-slate-500">
            {formatCount(p.anomalies.length)} finding{p.anomalies.length === 1 ? '' : 's'} · {formatCount(critical)} critical ·{' '}
            {formatCount(ongoing)} ongoing · {formatCount(p.bursts.length)} burst{p.bursts.length === 1 ? '' : 's'} · newest first
          </p>
          <ul aria-label="Findings" className="max-h-[28rem] space-y-2 overflow-auto">
            {p.anomalies.map((f) => (
              <FindingItem key={f.id} f={f} />
            ))}
          </ul>
        </>
      );
    }
  }
  return (
    <Panel title="Anomalies" id="anomalies" actions={actions}>
      {body}
    </Panel>
  );
}
