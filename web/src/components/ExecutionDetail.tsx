import { useEffect, useRef } from 'react';
import { useExecution } from '../api/hooks';
import type { ExecutionStatus } from '../api/types';
import { formatDuration, formatTimestamp } from '../lib/format';
import { ErrorState, Loading } from './Panel';

const statusClass: Record<ExecutionStatus, string> = {
  queued: 'bg-slate-100 text-slate-700',
  running: 'bg-sky-100 text-sky-800',
  completed: 'bg-emerald-100 text-emerald-800',
  failed: 'bg-red-100 text-red-800',
  timed_out: 'bg-amber-100 text-amber-800',
  cancelled: 'bg-slate-200 text-slate-700',
  stale: 'bg-slate-100 text-slate-500',
};

export function StatusBadge(props: { status: ExecutionStatus }) {
  return (
    <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${statusClass[props.status] ?? ''}`}>
      {props.status.replace('_', ' ')}
    </span>
  );
}

export function ExecutionDetail(props: { ws: string; id: string; onClose: () => void }) {
  const q = useExecution(props.ws, props.id);
  const closeRef = useRef<HTMLButtonElement>(null);
  const { onClose } = props;

  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    closeRef.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      prev?.focus?.();
    };
  }, [onClose]);

  const x = q.data;
  return (
    <div className="fixed inset-0 z-40 flex justify-end bg-slate-900/30" onClick={onClose}>
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby="execution-title"
        className="flex h-full w-full max-w-2xl flex-col overflow-hidden bg-white shadow-xl"
        onClick={(e) => e.stopPropagation()}
      >
        <div className="flex items-start justify-between gap-3 border-b border-slate-200 p-4">
          <div className="min-w-0">
            <p className="text-xs text-slate-500 uppercase">Execution</p>
            <h2 id="execution-title" className="truncate font-mono text-base font-semibold" title={props.id}>
              {props.id}
            </h2>
          </div>
          <button
            ref={closeRef}
            type="button"
            onClick={onClose}
            className="rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100"
          >
            Close
          </button>
        </div>
        <div className="flex-1 overflow-auto p-4">
          {q.isPending && <Loading what="the execution" />}
          {q.isError && <ErrorState what="the execution" error={q.error} onRetry={() => q.refetch()} />}
          {x && (
            <>
              <dl className="grid grid-cols-2 gap-x-4 gap-y-2 text-sm sm:grid-cols-3">
                <div><dt className="text-xs text-slate-500">Status</dt><dd><StatusBadge status={x.status} /></dd></div>
                <div><dt className="text-xs text-slate-500">Agent</dt><dd className="truncate">{x.agent_id}</dd></div>
                <div><dt className="text-xs text-slate-500">Worker</dt><dd className="truncate">{x.worker_id || '—'}</dd></div>
                <div><dt className="text-xs text-slate-500">Queued</dt><dd>{formatTimestamp(x.queued_at)}</dd></div>
                <div><dt className="text-xs text-slate-500">Started</dt><dd>{formatTimestamp(x.started_at)}</dd></div>
                <div><dt className="text-xs text-slate-500">Finished</dt><dd>{formatTimestamp(x.finished_at)}</dd></div>
                <div><dt className="text-xs text-slate-500">Queue wait</dt><dd>{formatDuration(x.queue_wait_ms)}</dd></div>
                <div><dt className="text-xs text-slate-500">Run time</dt><dd>{formatDuration(x.duration_ms)}</dd></div>
                <div><dt className="text-xs text-slate-500">Trigger</dt><dd>{x.trigger || '—'}</dd></div>
                <div><dt className="text-xs text-slate-500">Tokens</dt><dd className="tabular-nums">{x.tokens}</dd></div>
                <div><dt className="text-xs text-slate-500">Credits</dt><dd className="tabular-nums">{x.credits}</dd></div>
                <div><dt className="text-xs text-slate-500">Progress</dt><dd>{x.progress === null ? '—' : `${x.progress}%`}</dd></div>
              </dl>
              {x.error && (
                <div className="mt-4 rounded border border-red-200 bg-red-50 p-3 text-sm">
                  <p className="font-mono text-xs font-semibold text-red-800">{x.error.type}</p>
                  <p className="mt-1 whitespace-pre-wrap text-red-900">{x.error.message || 'no message'}</p>
                </div>
              )}
              <h3 className="mt-5 mb-2 text-sm font-semibold text-slate-700">Events</h3>
              {x.events.length === 0 ? (
                <p className="text-sm text-slate-500">No stored events (they may have left retention).</p>
              ) : (
                <table className="w-full text-left text-sm" aria-label="Events">
                  <thead className="text-xs text-slate-500">
                    <tr>
                      <th scope="col" className="py-1 pr-2 font-medium">Time</th>
                      <th scope="col" className="py-1 pr-2 font-medium">Type</th>
                      <th scope="col" className="py-1 pr-2 font-medium">Details</th>
                      <th scope="col" className="py-1 font-medium">Received</th>
                    </tr>
                  </thead>
                  <tbody>
                    {x.events.map((ev) => (
                      <tr key={ev.event_id} className="border-t border-slate-100 align-top">
                        <td className="py-1.5 pr-2 whitespace-nowrap tabular-nums">{formatTimestamp(ev.timestamp)}</td>
                        <td className="py-1.5 pr-2 font-medium">{ev.type}</td>
                        <td className="py-1.5 pr-2 text-xs text-slate-600">
                          {[
                            ev.worker_id && `worker ${ev.worker_id}`,
                            ev.progress !== undefined && `progress ${ev.progress}%`,
                            ev.trigger && `trigger ${ev.trigger}`,
                            ev.error && `${ev.error.type}: ${ev.error.message}`,
                            ev.tokens !== undefined && `${ev.tokens} tokens`,
                            ev.credits !== undefined && `${ev.credits} credits`,
                          ]
                            .filter(Boolean)
                            .join(' · ') || '—'}
                        </td>
                        <td className="py-1.5 whitespace-nowrap text-xs text-slate-500 tabular-nums">{formatTimestamp(ev.received_at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </>
          )}
        </div>
      </div>
    </div>
  );
}
