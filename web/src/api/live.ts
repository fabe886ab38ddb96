// The live stream: a WebSocket that writes realtime snapshots into the query
// cache, refreshes the window's metrics when executions finish, and the
// findings when the detector announces one or has read them from history.
import { useEffect, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { WS_UNAUTHORIZED } from './client';
import { queryKeys, type LiveStatus } from './hooks';
import { REFUSED_MESSAGE, useApi, useSession } from './session';
import type { Finding, LiveMessage } from './types';
import { backoffDelay, throttle } from '../lib/throttle';

/** Finished executions refresh the window's metrics at most this often. */
export const INVALIDATE_EVERY_MS = 5_000;

export function parseLiveMessage(raw: unknown): LiveMessage | null {
  if (typeof raw !== 'string') return null;
  try {
    const m = JSON.parse(raw) as { type?: unknown; data?: unknown };
    if (!m || typeof m.type !== 'string' || typeof m.data !== 'object' || m.data === null) return null;
    if (
      m.type === 'execution_update' ||
      m.type === 'execution_started' ||
      m.type === 'execution_completed' ||
      m.type === 'anomaly_detected' ||
      m.type === 'anomalies_replayed'
    ) {
      return m as LiveMessage;
    }
    return null;
  } catch {
    return null;
  }
}

export interface LiveOptions {
  /** Called with each finding the server announces (opened, or become critical). */
  onAnomaly?: (f: Finding) => void;
  WebSocketImpl?: typeof WebSocket;
}

export function useLiveStream(ws: string | null, agent: string | null, opts: LiveOptions = {}): LiveStatus {
  const api = useApi();
  const { signOut } = useSession();
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const WebSocketImpl = opts.WebSocketImpl ?? globalThis.WebSocket;
  // The latest callback, without reconnecting when it changes.
  const onAnomaly = useRef(opts.onAnomaly);
  useEffect(() => {
    onAnomaly.current = opts.onAnomaly;
  }, [opts.onAnomaly]);

  useEffect(() => {
    if (!ws) return;
    if (!WebSocketImpl) {
      setStatus('unsupported');
      return;
    }
    let socket: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let stopped = false;
    let opened = false; // a connection was open before this one
    const invalidate = throttle(
      () => void queryClient.invalidateQueries({ queryKey: queryKeys.metricsOf(ws) }),
      INVALIDATE_EVERY_MS,
    );

    const connect = () => {
      setStatus(attempt === 0 ? 'connecting' : 'reconnecting');
      let s: WebSocket;
      try {
        s = new WebSocketImpl(api.liveUrl(ws, agent ?? undefined), api.liveProtocols());
      } catch {
        // The key cannot be sent as a subprotocol (characters a token may
        // not hold): stay on polling.
        setStatus('unsupported');
        return;
      }
      socket = s;
      s.onopen = () => {
        attempt = 0;
        setStatus('live');
        if (opened) {
          // Back after a gap: what finished or was found meanwhile was not heard.
          void queryClient.invalidateQueries({ queryKey: queryKeys.metricsOf(ws) });
          void queryClient.invalidateQueries({ queryKey: queryKeys.patternsOf(ws) });
        }
        opened = true;
      };
      s.onmessage = (ev: MessageEvent) => {
        const m = parseLiveMessage(ev.data);
        if (!m) return;
        if (m.type === 'execution_update') {
          queryClient.setQueryData(queryKeys.realtime(ws, agent), m.data);
        } else if (m.type === 'execution_completed') {
          invalidate();
        } else if (m.type === 'anomaly_detected') {
          void queryClient.invalidateQueries({ queryKey: queryKeys.patternsOf(ws) });
          onAnomaly.current?.(m.data);
        } else if (m.type === 'anomalies_replayed') {
          // Old news: shown in the list, not raised as a notice.
          void queryClient.invalidateQueries({ queryKey: queryKeys.patternsOf(ws) });
        }
      };
      s.onclose = (ev: CloseEvent) => {
        if (socket === s) socket = null;
        if (stopped) return;
        if (ev.code === WS_UNAUTHORIZED) {
          signOut(REFUSED_MESSAGE);
          return;
        }
        setStatus('reconnecting');
        retry = setTimeout(connect, backoffDelay(attempt++));
      };
    };
    connect();

    return () => {
      stopped = true;
      clearTimeout(retry);
      invalidate.cancel();
      if (socket) {
        socket.onclose = null;
        socket.onmessage = null;
        socket.onopen = null;
        socket.close(1000);
      }
    };
  }, [ws, agent, api, queryClient, signOut, WebSocketImpl]);

  return status;
}
