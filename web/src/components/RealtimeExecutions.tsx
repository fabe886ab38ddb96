import { useRealtime } from '../api/hooks';
import { formatElapsed, formatTimestamp } from '../lib/format';
import { elapsedSince } from '../lib/time';
import { useNow } from '../lib/useNow';
import { Empty, ErrorState, Loading, Panel } from './Panel';

export function ProgressBar(props: { value: number | null; label: string }) {
  if (props.value === null) {
    return <span className="text-xs text-slate-400">no progress reported</span>;
  }
  const v = Math.min(100, Math.max(0, props.value));
  return (
    <div className="flex items-center gap-2">
      <div
        role="progressbar"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(v)}
        className="h-2 w-full min-w-16 overflow-hidden rounded bg-slate-100"
      >
        <div className="h-full rounded bg-sky-500 transition-[width]" style={{ width: `${v}%` }} />
      </div>
      <span className="w-10 text-right text-xs tabular-nums text-slate-600">{Math.round(v)}%</span>
    </div>
  );
}

export function RealtimeExecutions(props: { ws: string; agent: string | null; onOpen: (id: string) => void }) {
  const rt = useRealtime(props.ws, props.agent);
  const now = useNow(1000);
  const snap = rt.data;

  let body;
  if (rt.isPending) body = <Loading what="running executions" />;
  else if (rt.isError && !snap) body = <ErrorState what="running executions" error={rt.error} onRetry={() => rt.refetch()} />;
  else if (!snap || snap.running_executions.length === 0) body = <Empty>Nothing is running right now.</Empty>;
  else {
    const more = snap.running - snap.running_executions.length;
    body = (
      <div className="max-h-80 overflow-auto">
        <table className="w-full text-left text-sm">
          <caption className="sr-only">Running executions, longest-running first</caption>
          <thead className="sticky top-0 bg-white text-xs text-slate-500">
            <tr>
              <th scope="col" className="py-1 pr-2 font-medium">Execution</th>
              <th scope="col" className="py-1 pr-2 font-medium">Agent</th>
              <th scope="col" className="hidden py-1 pr-2 font-medium lg:table-cell">Worker</th>
              <th scope="col" className="py-1 pr-2 text-right font-medium">Elapsed</th>
              <th scope="col" className="w-1/4 py-1 font-medium">Progress</th>
            </tr>
          </thead>
          <tbody>
            {snap.running_executions.map((x) => (
              <tr key={x.execution_id} className="border-t border-slate-100">
                <td className="max-w-40 truncate py-1.5 pr-2 font-mono text-xs">
                  <button
                    type="button"
                    className="truncate text-sky-700 hover:underline"
                    onClick={() => props.onOpen(x.execution_id)}
                    title={x.execution_id}
                  >
                    {x.execution_id}
                  </button>
                </td>
                <td className="max-w-32 truncate py-1.5 pr-2" title={x.agent_id}>{x.agent_id}</td>
                <td className="hidden max-w-28 truncate py-1.5 pr-2 text-slate-500 lg:table-cell">{x.worker_id || '—'}</td>
                <td
                  className="py-1.5 pr-2 text-right tabular-nums"
                  title={`started ${formatTimestamp(x.started_at)}`}
                  data-testid="elapsed"
                >
                  {formatElapsed(elapsedSince(x.started_at, snap.at, rt.dataUpdatedAt, now))}
                </td>
                <td className="py-1.5">
                  <ProgressBar value={x.progress} label={`Progress of ${x.execution_id}`} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {more > 0 && <p className="mt-2 text-xs text-slate-500">and {more} more running (the {snap.running_executions.length} longest-running are listed)</p>}
      </div>
    );
  }
  return (
    <Panel title="Running now">
      {body}
    </Panel>
  );
}
