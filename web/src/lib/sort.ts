// Sorting of the per-agent table.
import type { AgentPerf } from '../api/types';

export type AgentSortKey = 'agent_id' | 'total' | 'success_rate' | 'p50_ms' | 'p95_ms' | 'p99_ms';
export type SortDir = 'asc' | 'desc';
export interface AgentSort {
  key: AgentSortKey;
  dir: SortDir;
}

/**
 * Sorts a copy of rows. Unknown values (null) go last whichever the
 * direction; ties keep agent order so the table does not jump.
 */
export function sortAgents(rows: readonly AgentPerf[], sort: AgentSort): AgentPerf[] {
  const sign = sort.dir === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const va = a[sort.key];
    const vb = b[sort.key];
    if (va === null && vb === null) return a.agent_id.localeCompare(b.agent_id);
    if (va === null) return 1;
    if (vb === null) return -1;
    const c = typeof va === 'string' ? va.localeCompare(vb as string) : (va as number) - (vb as number);
    return c !== 0 ? sign * c : a.agent_id.localeCompare(b.agent_id);
  });
}

/** The sort after clicking a column: the same column flips, a new one starts in its natural direction. */
export function nextSort(cur: AgentSort, key: AgentSortKey): AgentSort {
  if (cur.key === key) return { key, dir: cur.dir === 'asc' ? 'desc' : 'asc' };
  return { key, dir: key === 'agent_id' ? 'asc' : 'desc' };
}
