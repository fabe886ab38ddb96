import { useState } from 'react';
import type { WindowParams } from '../api/client';
import { useMetrics } from '../api/hooks';
import { formatCount, formatDuration, formatRatePct } from '../lib/format';
import { nextSort, sortAgents, type AgentSort, type AgentSortKey } from '../lib/sort';
import { Empty, ErrorState, Loading, Panel } from './Panel';

const COLUMNS: { key: AgentSortKey; label: string; numeric: boolean }[] = [
  { key: 'agent_id', label: 'Agent', numeric: false },
  { key: 'total', label: 'Total', numeric: true },
  { key: 'success_rate', label: 'Success rate', numeric: true },
  { key: 'p50_ms', label: 'p50', numeric: true },
  { key: 'p95_ms', label: 'p95', numeric: true },
  { key: 'p99_ms', label: 'p99', numeric: true },
];

function rateClass(r: number | null): string {
  if (r === null) return 'text-slate-400';
  if (r < 0.9) return 'text-red-700 font-medium';
  if (r < 0.97) return 'text-amber-700';
  return 'text-slate-900';
}

export function PerformanceByAgent(props: {
  ws: string;
  win: WindowParams;
  agent: string | null;
  onSelectAgent: (agent: string | null) => void;
}) {
  const m = useMetrics(props.ws, props.win, props.agent);
  const [sort, setSort] = useState<AgentSort>({ key: 'total', dir: 'desc' });
  const rows = m.data?.performance.by_agent;

  let body;
  if (m.isPending) body = <Loading what="agents" />;
  else if (m.isError) body = <ErrorState what="agents" error={m.error} onRetry={() => m.refetch()} />;
  else if (!rows || rows.length === 0) body = <Empty>No agent finished an execution in this window.</Empty>;
  else {
    const sorted = sortAgents(rows, sort);
    body = (
      <div className="max-h-96 overflow-auto">
        <table className="w-full text-left text-sm">
          <caption className="sr-only">
            Performance by agent, sorted by {COLUMNS.find((c) => c.key === sort.key)?.label} {sort.dir === 'asc' ? 'ascending' : 'descending'}
          </caption>
          <thead className="sticky top-0 bg-white text-xs text-slate-500">
            <tr>
              {COLUMNS.map((c) => {
                const active = sort.key === c.key;
                return (
                  <th
                    key={c.key}
                    scope="col"
                    aria-sort={active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
                    className={`py-1 font-medium ${c.numeric ? 'pl-2 text-right' : 'pr-2'}`}
                  >
                    <button
                      type="button"
                      onClick={() => setSort(nextSort(sort, c.key))}
                      className={`inline-flex items-center gap-1 hover:text-slate-900 ${active ? 'text-slate-900' : ''}`}
                    >
                      {c.label}
                      <span aria-hidden className="w-2">{active ? (sort.dir === 'asc' ? '▲' : '▼') : ''}</span>
                    </button>
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {sorted.map((a) => (
              <tr key={a.agent_id} className={`border-t border-slate-100 ${a.agent_id === props.agent ? 'bg-sky-50' : ''}`}>
                <td className="max-w-48 truncate py-1.5 pr-2">
                  <button
                    type="button"
                    onClick={() => props.onSelectAgent(a.agent_id)}
                    className="truncate text-sky-700 hover:underline"
                    title={`Show only ${a.agent_id}`}
                    aria-label={`Filter by agent ${a.agent_id}`}
                  >
                    {a.agent_id}
                  </button>
                </td>
                <td className="py-1.5 pl-2 text-right tabular-nums">{formatCount(a.total)}</td>
                <td className={`py-1.5 pl-2 text-right tabular-nums ${rateClass(a.success_rate)}`}>{formatRatePct(a.success_rate)}</td>
                <td className="py-1.5 pl-2 text-right tabular-nums">{formatDuration(a.p50_ms)}</td>
                <td className="py-1.5 pl-2 text-right tabular-nums">{formatDuration(a.p95_ms)}</td>
                <td className="py-1.5 pl-2 text-right tabular-nums">{formatDuration(a.p99_ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  return (
    <Panel
      title="Performance by agent"
      actions={
        props.agent ? (
          <button
            type="button"
            onClick={() => props.onSelectAgent(null)}
            className="rounded border border-slate-300 px-2 py-0.5 text-xs hover:bg-slate-100"
          >
            Show all agents
          </button>
        ) : (
          <p className="text-xs text-slate-500">Click an agent to filter the page</p>
        )
      }
    >
      {body}
    </Panel>
  );
}
