import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError } from './client';
import { fakeServer } from '../test/harness';

describe('ApiClient', () => {
  it('sends the key and builds queries', async () => {
    const s = fakeServer({ '/api/v1/metrics/execution': { body: { ok: 1 } } });
    const c = new ApiClient({ apiKey: 'shk_x', fetch: s.fetch });
    await c.metrics('acme', { timeframe: '7d' }, 'agent/1');
    expect(s.calls[0]!.auth).toBe('Bearer shk_x');
    expect(s.calls[0]!.url.search).toBe('?workspace_id=acme&timeframe=7d&agent_id=agent%2F1');
    await c.metrics('acme', { from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' }, undefined);
    expect(Object.fromEntries(s.calls[1]!.url.searchParams)).toEqual({
      workspace_id: 'acme',
      from: '2026-03-01T00:00:00Z',
      to: '2026-03-02T00:00:00Z',
    });
  });
  it('escapes execution ids in the path', async () => {
    const s = fakeServer({ '/api/v1/executions/a%2Fb': { body: { execution_id: 'a/b', events: [] } } });
    const c = new ApiClient({ apiKey: 'k', fetch: s.fetch });
    await expect(c.execution('acme', 'a/b')).resolves.toMatchObject({ execution_id: 'a/b' });
  });
  it('decodes API errors', async () => {
    const s = fakeServer({
      '/api/v1/executions': {
        status: 400,
        body: { error: { code: 'invalid_request', message: 'must be 1 to 1000', where: 'limit' } },
      },
    });
    const c = new ApiClient({ apiKey: 'k', fetch: s.fetch });
    const err = await c.executions('acme', { limit: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_request', where: 'limit', message: 'must be 1 to 1000' });
  });
  it('calls onUnauthorized on 401', async () => {
    const s = fakeServer({ '/api/v1/workspaces': { status: 401, body: { error: { code: 'unauthorized', message: 'bad key' } } } });
    const onUnauthorized = vi.fn();
    const c = new ApiClient({ apiKey: 'k', fetch: s.fetch, onUnauthorized });
    const err = await c.workspaces().catch((e: unknown) => e);
    expect((err as ApiError).unauthorized).toBe(true);
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });
  it('turns a non-JSON error and a network failure into ApiError', async () => {
    const c1 = new ApiClient({ apiKey: 'k', fetch: async () => new Response('oops', { status: 502, statusText: 'Bad Gateway' }) });
    await expect(c1.workspaces()).rejects.toMatchObject({ status: 502, message: 'The server answered 502 Bad Gateway' });
    const c2 = new ApiClient({ apiKey: 'k', fetch: async () => Promise.reject(new TypeError('failed')) });
    await expect(c2.workspaces()).rejects.toMatchObject({ status: 0, code: 'network' });
  });
  it('builds the WebSocket address and subprotocols', () => {
    const c = new ApiClient({ apiKey: 'shk_abc' });
    expect(c.liveUrl('acme', 'x', { protocol: 'https:', host: 'h:1' })).toBe('wss://h:1/api/v1/ws?workspace_id=acme&agent_id=x');
    expect(c.liveUrl('acme', undefined, { protocol: 'http:', host: 'h' })).toBe('ws://h/api/v1/ws?workspace_id=acme');
    expect(c.liveProtocols()).toEqual(['shadower.v1', 'bearer.shk_abc']);
  });
});
