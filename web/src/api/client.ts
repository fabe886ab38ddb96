// The one module that talks HTTP to the service: it builds URLs, adds the
// Authorization header, and turns error answers into ApiError.
import type {
  ApiErrorBody,
  ExecutionDetail,
  ExecutionList,
  ExecutionMetrics,
  ExecutionStatus,
  Forecast,
  Patterns,
  QueueMetrics,
  RealtimeSnapshot,
  Resources,
  Throughput,
  WorkspacesResponse,
} from './types';

/** An error answer of the API, or a failure to reach it (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly where?: string;
  readonly details?: ApiErrorBody['error']['details'];

  constructor(status: number, code: string, message: string, where?: string, details?: ApiErrorBody['error']['details']) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.where = where;
    this.details = details;
  }

  /** The key was refused: no key, unknown or revoked. */
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

export function isUnauthorized(err: unknown): boolean {
  return err instanceof ApiError && err.unauthorized;
}

/** The window of a metrics request: a named timeframe, or from/to in RFC 3339. */
export type WindowParams = { timeframe: string } | { from: string; to: string };

export interface ClientOptions {
  /** The read key, sent as "Authorization: Bearer <key>". */
  apiKey: string;
  /** Called on any 401 answer, before the error is thrown. */
  onUnauthorized?: (err: ApiError) => void;
  /** Base URL; '' for the page's own origin. */
  baseUrl?: string;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | undefined | null>;

function windowQuery(w: WindowParams): Query {
  return 'timeframe' in w ? { timeframe: w.timeframe } : { from: w.from, to: w.to };
}

/** Decodes an error answer; anything not in the API's shape still becomes an ApiError. */
export async function decodeError(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const e = (body as ApiErrorBody | undefined)?.error;
  if (e && typeof e.message === 'string') {
    return new ApiError(res.status, e.code ?? 'unknown', e.message, e.where, e.details);
  }
  return new ApiError(res.status, 'http_' + res.status, `The server answered ${res.status} ${res.statusText}`.trim());
}

export class ApiClient {
  readonly apiKey: string;
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly onUnauthorized?: (err: ApiError) => void;

  constructor(opts: ClientOptions) {
    this.apiKey = opts.apiKey;
    this.baseUrl = opts.baseUrl ?? '';
    this.fetchFn = opts.fetch ?? ((...args) => globalThis.fetch(...args));
    this.onUnauthorized = opts.onUnauthorized;
  }

  url(path: string, query: Query = {}): string {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') qs.append(k, String(v));
    }
    const s = qs.toString();
    return this.baseUrl + path + (s ? '?' + s : '');
  }

  async get<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchFn(this.url(path, query), {
        headers: { Authorization: 'Bearer ' + this.apiKey, Accept: 'application/json' },
        signal,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'network', 'Could not reach the server. Is it running?');
    }
    if (!res.ok) {
      const err = await decodeError(res);
      if (err.unauthorized) this.onUnauthorized?.(err);
      throw err;
    }
    return (await res.json()) as T;
  }

  workspaces(signal?: AbortSignal) {
    return this.get<WorkspacesResponse>('/api/v1/workspaces', {}, signal);
  }

  metrics(ws: string, win: WindowParams, agent?: string, signal?: AbortSignal) {
    return this.get<ExecutionMetrics>(
      '/api/v1/metrics/execution',
      { workspace_id: ws, ...windowQuery(win), agent_id: agent },
      signal,
    );
  }

  realtime(ws: string, agent?: string, signal?: AbortSignal) {
    return this.get<RealtimeSnapshot>('/api/v1/metrics/execution/realtime', { workspace_id: ws, agent_id: agent }, signal);
  }

  throughput(ws: string, from: string, to: string, step: number, agent?: string, signal?: AbortSignal) {
    return this.get<Throughput>(
      '/api/v1/metrics/execution/throughput',
      { workspace_id: ws, from, to, step, agent_id: agent },
      signal,
    );
  }

  queue(ws: string, win: WindowParams, agent?: string, signal?: AbortSignal) {
    return this.get<QueueMetrics>(
      '/api/v1/metrics/execution/queue',
      { workspace_id: ws, ...windowQuery(win), agent_id: agent },
      signal,
    );
  }

  /** Workers and the service's host; not filtered by agent (workers serve every agent). */
  resources(ws: string, win: WindowParams, signal?: AbortSignal) {
    return this.get<Resources>('/api/v1/metrics/execution/resources', { workspace_id: ws, ...windowQuery(win) }, signal);
  }

  patterns(ws: string, win: WindowParams, agent?: string, signal?: AbortSignal) {
    return this.get<Patterns>(
      '/api/v1/metrics/execution/patterns',
      { workspace_id: ws, ...windowQuery(win), agent_id: agent },
      signal,
    );
  }

  /** The next 24 hours; takes no window. */
  forecast(ws: string, agent?: string, signal?: AbortSignal) {
    return this.get<Forecast>('/api/v1/metrics/execution/forecast', { workspace_id: ws, agent_id: agent }, signal);
  }

  executions(
    ws: string,
    opts: { status?: ExecutionStatus; agent?: string; window?: WindowParams; limit?: number; cursor?: string },
    signal?: AbortSignal,
  ) {
    return this.get<ExecutionList>(
      '/api/v1/executions',
      {
        workspace_id: ws,
        status: opts.status,
        agent_id: opts.agent,
        ...(opts.window ? windowQuery(opts.window) : {}),
        limit: opts.limit,
        cursor: opts.cursor,
      },
      signal,
    );
  }

  execution(ws: string, id: string, signal?: AbortSignal) {
    return this.get<ExecutionDetail>('/api/v1/executions/' + encodeURIComponent(id), { workspace_id: ws }, signal);
  }

  /** The WebSocket URL of the live stream, on the page's own host. */
  liveUrl(ws: string, agent?: string, loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
    const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
    const base = this.baseUrl ? this.baseUrl.replace(/^http/, 'ws') : `${proto}//${loc.host}`;
    const qs = new URLSearchParams({ workspace_id: ws });
    if (agent) qs.append('agent_id', agent);
    return `${base}/api/v1/ws?${qs.toString()}`;
  }

  /** Subprotocols that carry the key, since browsers cannot set headers on a WebSocket. */
  liveProtocols(): string[] {
    return [LIVE_PROTOCOL, 'bearer.' + this.apiKey];
  }
}

export const LIVE_PROTOCOL = 'shadower.v1';
/** Close code the server uses for a refused key on the WebSocket. */
export const WS_UNAUTHORIZED = 4401;
