import { useRealtime } from '../api/hooks';
import { formatCount, formatDuration } from '../lib/format';
import { QUEUE_SEVERITY, queueSeverity, type Severity } from '../lib/severity';
import { useNow } from '../lib/useNow';
import { ErrorState, Loading, Panel } from './Panel';

const look: Record<Severity, { box: string; dot: string; label: string }> = {
  ok: { box: 'border-emerald-200 bg-emerald-50 text-emerald-900', dot: 'bg-emerald-500', label: 'OK' },
  warning: { box: 'border-amber-200 bg-amber-50 text-amber-900', dot: 'bg-amber-500', label: 'Warning' },
  critical: { box: 'border-red-200 bg-red-50 text-red-900', dot: 'bg-red-600', label: 'Critical' },
};

export function QueueDepthIndicator(props: { ws: string; agent: string | null }) {
  const rt = useRealtime(props.ws, props.agent);
  const now = useNow(1000);
  const snap = rt.data;

  let body;
  if (rt.isPending) body = <Loading what="the queue" />;
  else if (rt.isError && !snap) body = <ErrorState what="the queue" error={rt.error} onRetry={() => rt.refetch()} />;
  else if (snap) {
    // The oldest wait keeps growing between snapshots.
    const age =
      snap.oldest_queued_age_ms === null ? null : snap.oldest_queued_age_ms + Math.max(0, now - rt.dataUpdatedAt);
    const sev = queueSeverity(snap.queued, age);
    const l = look[sev];
    body = (
      <div className={`rounded-md border p-3 ${l.box}`} data-severity={sev} aria-label={`Queue: ${l.label}`} role="group">
        <div className="flex items-center gap-2 text-xs font-semibold uppercase">
          <span className={`inline-block h-2.5 w-2.5 rounded-full ${l.dot}`} aria-hidden />
          {l.label}
        </div>
        <dl className="mt-2 grid grid-cols-2 gap-2">
          <div>
            <dt className="text-xs opacity-75">Queued</dt>
            <dd className="text-2xl font-semibold tabular-nums">{formatCount(snap.queued)}</dd>
          </div>
          <div>
            <dt className="text-xs opacity-75">Oldest wait</dt>
            <dd className="text-2xl font-semibold tabular-nums">{age === null ? '—' : formatDuration(age)}</dd>
          </div>
        </dl>
        {snap.stale > 0 && (
          <p className="mt-2 text-xs opacity-75">
            {formatCount(snap.stale)} unfinished execution{snap.stale === 1 ? '' : 's'} stale (past the maximum run time)
          </p>
        )}
      </div>
    );
  }
  return (
    <Panel title="Queue">
      {body}
      <p className="mt-2 text-xs text-slate-500">
        Warning from {formatDuration(QUEUE_SEVERITY.warningAgeMs)} of waiting, critical from{' '}
        {formatDuration(QUEUE_SEVERITY.criticalAgeMs)} or over {QUEUE_SEVERITY.criticalQueued} queued.
      </p>
    </Panel>
  );
}
