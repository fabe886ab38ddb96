// TanStack Query hooks: the only way components read the API. Components
// render from these hooks' data directly; nothing is copied into local state.
import { createContext, useContext } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useApi } from './session';
import type { WindowParams } from './client';
import type { Comparison, ExecutionMetrics } from './types';
import { windowKey } from '../lib/urlState';

/** Full metrics are fresh for 30 s and refetched every 30 s. */
export const METRICS_REFRESH_MS = 30_000;
/** Realtime polling while the WebSocket is down. */
export const REALTIME_POLL_MS = 5_000;

export const queryKeys = {
  workspaces: () => ['workspaces'] as const,
  /** Everything that depends on a window of a workspace: invalidated when executions finish. */
  metricsOf: (ws: string) => ['metrics', ws] as const,
  metrics: (ws: string, win: WindowParams, agent: string | null) =>
    ['metrics', ws, 'all', windowKey(win), agent ?? ''] as const,
  previousThroughput: (ws: string, from: string, to: string, step: number, agent: string | null) =>
    ['metrics', ws, 'throughput', from, to, step, agent ?? ''] as const,
  failures: (ws: string, win: WindowParams, agent: string | null) =>
    ['metrics', ws, 'failures', windowKey(win), agent ?? ''] as const,
  realtime: (ws: string, agent: string | null) => ['realtime', ws, agent ?? ''] as const,
  execution: (ws: string, id: string) => ['execution', ws, id] as const,
};

export function useWorkspaces() {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.workspaces(),
    queryFn: ({ signal }) => api.workspaces(signal),
    staleTime: 60_000,
  });
}

export function useMetrics(ws: string, win: WindowParams, agent: string | null) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.metrics(ws, win, agent),
    queryFn: ({ signal }) => api.metrics(ws, win, agent ?? undefined, signal),
    staleTime: METRICS_REFRESH_MS,
    refetchInterval: METRICS_REFRESH_MS,
  });
}

/** Picks one section of the full metrics; all sections share one request. */
export function useMetricsSection<K extends keyof ExecutionMetrics>(
  ws: string,
  win: WindowParams,
  agent: string | null,
  key: K,
) {
  const q = useMetrics(ws, win, agent);
  return { ...q, section: q.data?.[key] };
}

/** The throughput of the window before this one, for the faint comparison bars. */
export function usePreviousThroughput(ws: string, comparison: Comparison | undefined, step: number | undefined, agent: string | null) {
  const api = useApi();
  const from = comparison?.previous_from ?? '';
  const to = comparison?.previous_to ?? '';
  return useQuery({
    queryKey: queryKeys.previousThroughput(ws, from, to, step ?? 0, agent),
    queryFn: ({ signal }) => api.throughput(ws, from, to, step!, agent ?? undefined, signal),
    enabled: !!from && !!to && !!step,
    staleTime: METRICS_REFRESH_MS,
    refetchInterval: METRICS_REFRESH_MS,
    placeholderData: keepPreviousData,
  });
}

export function useRecentFailures(ws: string, win: WindowParams, agent: string | null) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.failures(ws, win, agent),
    queryFn: ({ signal }) => api.executions(ws, { status: 'failed', agent: agent ?? undefined, window: win, limit: 20 }, signal),
    staleTime: METRICS_REFRESH_MS,
    refetchInterval: METRICS_REFRESH_MS,
  });
}

export function useExecution(ws: string, id: string | null) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.execution(ws, id ?? ''),
    queryFn: ({ signal }) => api.execution(ws, id!, signal),
    enabled: !!id,
  });
}

/** The live stream's state, shared by everything that reads realtime figures. */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'unsupported';
export const LiveStatusContext = createContext<LiveStatus>('connecting');
export const useLiveStatus = () => useContext(LiveStatusContext);

/**
 * The realtime section. While the WebSocket is live it writes each snapshot
 * into this query's cache; otherwise the query polls every 5 s.
 */
export function useRealtime(ws: string, agent: string | null) {
  const api = useApi();
  const live = useLiveStatus() === 'live';
  return useQuery({
    queryKey: queryKeys.realtime(ws, agent),
    queryFn: ({ signal }) => api.realtime(ws, agent ?? undefined, signal),
    staleTime: live ? Infinity : REALTIME_POLL_MS,
    refetchInterval: live ? false : REALTIME_POLL_MS,
  });
}
