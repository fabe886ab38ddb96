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
/** The queue and the workers move by the second: refreshed every 10 s. */
export const QUEUE_REFRESH_MS = 10_000;
export const RESOURCES_REFRESH_MS = 10_000;
/** Findings every 30 s, and at once when the live stream announces one. */
export const PATTERNS_REFRESH_MS = 30_000;
/** The hourly forecast changes slowly. */
export const FORECAST_REFRESH_MS = 5 * 60_000;

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
  /** Under metricsOf: finished executions change the queue too. */
  queue: (ws: string, win: WindowParams, agent: string | null) =>
    ['metrics', ws, 'queue', windowKey(win), agent ?? ''] as const,
  resources: (ws: string, win: WindowParams) => ['resources', ws, windowKey(win)] as const,
  /** Every patterns query of a workspace: invalidated when the live stream announces a finding. */
  patternsOf: (ws: string) => ['patterns', ws] as const,
  patterns: (ws: string, win: WindowParams, agent: string | null) =>
    ['patterns', ws, windowKey(win), agent ?? ''] as const,
  forecast: (ws: string, agent: string | null) => ['forecast', ws, agent ?? ''] as const,
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

/** What waits now, queue wait over the window, and when the backlog drains. */
export function useQueue(ws: string, win: WindowParams, agent: string | null) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.queue(ws, win, agent),
    queryFn: ({ signal }) => api.queue(ws, win, agent ?? undefined, signal),
    staleTime: QUEUE_REFRESH_MS,
    refetchInterval: QUEUE_REFRESH_MS,
  });
}

/** The workers (from their heartbeats) and this service's host, for the whole workspace. */
export function useResources(ws: string, win: WindowParams) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.resources(ws, win),
    queryFn: ({ signal }) => api.resources(ws, win, signal),
    staleTime: RESOURCES_REFRESH_MS,
    refetchInterval: RESOURCES_REFRESH_MS,
  });
}

/** The detector's findings overlapping the window (the anomaly list and the chart shading share it). */
export function usePatterns(ws: string, win: WindowParams, agent: string | null) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.patterns(ws, win, agent),
    queryFn: ({ signal }) => api.patterns(ws, win, agent ?? undefined, signal),
    staleTime: PATTERNS_REFRESH_MS,
    refetchInterval: PATTERNS_REFRESH_MS,
  });
}

/** The next 24 hours, hourly; fetched only where a chart shows it. */
export function useForecast(ws: string, agent: string | null, enabled: boolean) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.forecast(ws, agent),
    queryFn: ({ signal }) => api.forecast(ws, agent ?? undefined, signal),
    enabled,
    staleTime: FORECAST_REFRESH_MS,
    refetchInterval: FORECAST_REFRESH_MS,
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
