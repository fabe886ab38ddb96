import type { WindowParams } from '../api/client';
import { useRecentFailures } from '../api/hooks';
import { formatDuration, formatTimestamp } from '../lib/format';
import { Empty, ErrorState, Loading, Panel } from './Panel';

export function RecentFailures(props: {
  ws: string;
  win: WindowParams;
  agent: string | null;
  onOpen: (id: string) => void;
}) {
  const q = useRecentFailures(props.ws, props.win, props.agent);

  let body;
  if (q.isPending) body = <Loading what="failures" />;
  else if (q.isError) body = <ErrorState what="failures" error={q.error} onRetry={() => q.refetch()} />;
  else if (q.data.items.length === 0) body = <Empty>No failed execution in this window.</Empty>;
  else {
    body = (
      <ul className="max-h-96 divide-y divide-slate-100 overflow-auto" aria-label="Recent failed executions">
        {q.data.items.map((x) => (
          <li key={x.execution_id}>
            <button
              type="button"
              onClick={() => props.onOpen(x.execution_id)}
              className="block w-full px-1 py-2 text-left hover:bg-slate-50"
              aria-label={`Open failed execution ${x.execution_id}`}
            >
              <div className="flex flex-wrap items-baseline justify-between gap-x-3">
                <span className="font-mono text-xs text-sky-700">{x.execution_id}</span>
                <span className="text-xs text-slate-500">
                  {x.agent_id} · {formatTimestamp(x.finished_at)} · ran {formatDuration(x.duration_ms)}
                </span>
              </div>
              <div className="mt-0.5 text-sm">
                <span className="rounded bg-red-50 px-1.5 py-0.5 font-mono text-xs text-red-800">{x.error?.type ?? 'no error type'}</span>{' '}
                <span className="text-slate-700">{x.error?.message || <em className="text-slate-400">no message</em>}</span>
              </div>
            </button>
          </li>
        ))}
      </ul>
    );
  }
  return (
    <Panel
      title="Recent failures"
      actions={q.data?.next_cursor ? <p className="text-xs text-slate-500">latest 20 shown</p> : undefined}
    >
      {body}
    </Panel>
  );
}
