// Renders the app against a fake server and a fake WebSocket.
import type { ReactNode } from 'react';
import { render } from '@testing-library/react';
import { QueryClientProvider } from '@tanstack/react-query';
import { vi } from 'vitest';
import { App, makeQueryClient } from '../App';
import { SessionProvider } from '../api/session';
import { forecast, metrics, patterns, queue, resources, snapshot } from './fixtures';

export interface Reply {
  status?: number;
  body: unknown;
}
export type Route = (url: URL, init?: RequestInit) => Reply | undefined;

/** A fetch that answers from routes by path; unknown paths are 404. Records every request. */
export function fakeServer(routes: Record<string, Route | Reply>) {
  const calls: { url: URL; auth: string | null }[] = [];
  const fetchFn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://localhost');
    const headers = new Headers(init?.headers);
    calls.push({ url, auth: headers.get('Authorization') });
    const r = routes[url.pathname];
    const reply = typeof r === 'function' ? r(url, init) : r;
    const { status = 200, body } = reply ?? { status: 404, body: { error: { code: 'not_found', message: 'no route' } } };
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  });
  return { fetch: fetchFn as unknown as typeof fetch, calls };
}

/** The usual answers of a healthy server. */
export function healthyRoutes(over: Record<string, Route | Reply> = {}): Record<string, Route | Reply> {
  return {
    '/api/v1/workspaces': { body: { workspaces: ['acme', 'globex'] } },
    '/api/v1/metrics/execution': { body: metrics() },
    '/api/v1/metrics/execution/realtime': { body: snapshot() },
    '/api/v1/metrics/execution/throughput': { body: metrics().throughput },
    '/api/v1/metrics/execution/queue': { body: queue() },
    '/api/v1/metrics/execution/resources': { body: resources() },
    '/api/v1/metrics/execution/patterns': { body: patterns() },
    '/api/v1/metrics/execution/forecast': { body: forecast() },
    '/api/v1/executions': {
      body: {
        items: [
          {
            execution_id: 'run-9',
            agent_id: 'summarizer',
            status: 'failed',
            queued_at: '2026-03-01T11:58:00Z',
            started_at: '2026-03-01T11:58:01Z',
            finished_at: '2026-03-01T11:58:30Z',
            duration_ms: 29000,
            queue_wait_ms: 1000,
            worker_id: 'w-2',
            trigger: 'api',
            progress: null,
            error: { type: 'RateLimit', message: '429 from provider' },
            credits: 0,
            tokens: 0,
          },
        ],
        next_cursor: null,
      },
    },
    '/api/v1/executions/run-9': {
      body: {
        execution_id: 'run-9',
        agent_id: 'summarizer',
        status: 'failed',
        queued_at: '2026-03-01T11:58:00Z',
        started_at: '2026-03-01T11:58:01Z',
        finished_at: '2026-03-01T11:58:30Z',
        duration_ms: 29000,
        queue_wait_ms: 1000,
        worker_id: 'w-2',
        trigger: 'api',
        progress: null,
        error: { type: 'RateLimit', message: '429 from provider' },
        credits: 0,
        tokens: 0,
        events: [
          { event_id: 'e1', type: 'queued', execution_id: 'run-9', workspace_id: 'acme', agent_id: 'summarizer', timestamp: '2026-03-01T11:58:00Z', received_at: '2026-03-01T11:58:00Z' },
          { event_id: 'e2', type: 'started', execution_id: 'run-9', workspace_id: 'acme', agent_id: 'summarizer', timestamp: '2026-03-01T11:58:01Z', worker_id: 'w-2', received_at: '2026-03-01T11:58:01Z' },
          { event_id: 'e3', type: 'failed', execution_id: 'run-9', workspace_id: 'acme', agent_id: 'summarizer', timestamp: '2026-03-01T11:58:30Z', error: { type: 'RateLimit', message: '429 from provider' }, received_at: '2026-03-01T11:58:30Z' },
        ],
      },
    },
    ...over,
  };
}

/** A WebSocket that tests drive by hand. */
export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  static reset() {
    FakeWebSocket.instances = [];
  }
  static last(): FakeWebSocket {
    const s = FakeWebSocket.instances.at(-1);
    if (!s) throw new Error('no WebSocket opened');
    return s;
  }
  readonly url: string;
  readonly protocols: string[];
  readyState = 0;
  closedWith: number | null = null;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  constructor(url: string, protocols?: string | string[]) {
    this.url = url;
    this.protocols = protocols === undefined ? [] : Array.isArray(protocols) ? protocols : [protocols];
    FakeWebSocket.instances.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  send() {}
  message(obj: unknown) {
    this.onmessage?.(new MessageEvent('message', { data: JSON.stringify(obj) }));
  }
  /** The server closes the connection. */
  serverClose(code: number) {
    this.readyState = 3;
    this.onclose?.(new CloseEvent('close', { code }));
  }
  close(code = 1000) {
    this.readyState = 3;
    this.closedWith = code;
  }
}

export function renderApp(opts: { routes?: Record<string, Route | Reply>; key?: string | null; url?: string } = {}) {
  const server = fakeServer(opts.routes ?? healthyRoutes());
  if (opts.url) window.history.replaceState(null, '', opts.url);
  const queryClient = makeQueryClient();
  queryClient.setDefaultOptions({ queries: { ...queryClient.getDefaultOptions().queries, retry: false } });
  vi.stubGlobal('WebSocket', FakeWebSocket);
  const utils = render(<App queryClient={queryClient} fetch={server.fetch} initialKey={opts.key === undefined ? 'shk_test' : opts.key} />);
  return { ...utils, server, queryClient };
}

/** Renders one panel signed in against a fake server, without the rest of the page. */
export function renderPanel(ui: ReactNode, opts: { routes?: Record<string, Route | Reply> } = {}) {
  const server = fakeServer(opts.routes ?? healthyRoutes());
  const queryClient = makeQueryClient();
  queryClient.setDefaultOptions({ queries: { ...queryClient.getDefaultOptions().queries, retry: false } });
  const utils = render(
    <QueryClientProvider client={queryClient}>
      <SessionProvider fetch={server.fetch} initialKey="shk_test">
        {ui}
      </SessionProvider>
    </QueryClientProvider>,
  );
  return { ...utils, server, queryClient };
}
