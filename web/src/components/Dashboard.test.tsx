import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket, healthyRoutes, renderApp } from '../test/harness';
import { finding, metrics, snapshot } from '../test/fixtures';

const figure = (name: string) => within(screen.getByRole('group', { name })).getByTestId('figure-value');

beforeEach(() => FakeWebSocket.reset());
afterEach(() => FakeWebSocket.reset());

describe('status bar', () => {
  it('shows the numbers of the realtime snapshot and the window', async () => {
    renderApp({ url: '/?ws=acme' });
    await waitFor(() => expect(figure('Running')).toHaveTextContent('3'));
    expect(figure('Queued')).toHaveTextContent('2');
    await waitFor(() => expect(figure('Throughput')).toHaveTextContent('0.5'));
    expect(figure('Success rate')).toHaveTextContent('86.7%');
    expect(figure('P95 latency')).toHaveTextContent('5.3 s');
    const running = screen.getByRole('group', { name: 'Running' });
    expect(within(running).getByTestId('figure-change')).toHaveTextContent('7 started last min');
    const p95 = screen.getByRole('group', { name: 'P95 latency' });
    expect(within(p95).getByTestId('figure-change')).toHaveTextContent('+6.0% vs previous period');
    const sr = screen.getByRole('group', { name: 'Success rate' });
    expect(within(sr).getByTestId('figure-change')).toHaveTextContent('−8.3 pts vs previous period');
  });

  it('moves with the live stream', async () => {
    renderApp({ url: '/?ws=acme' });
    await waitFor(() => expect(figure('Running')).toHaveTextContent('3'));
    const sock = FakeWebSocket.last();
    expect(sock.url).toMatch(/\/api\/v1\/ws\?workspace_id=acme$/);
    expect(sock.protocols).toEqual(['shadower.v1', 'bearer.shk_test']);
    act(() => sock.open());
    expect(await screen.findByRole('status', { name: 'Connection: Live' })).toBeInTheDocument();
    act(() => sock.message({ type: 'execution_update', data: snapshot({ running: 42, queued: 0 }) }));
    await waitFor(() => expect(figure('Running')).toHaveTextContent('42'));
    expect(figure('Queued')).toHaveTextContent('0');
  });

  it('polls realtime every 5 s while the stream is down, and not while it is live', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const { server } = renderApp({ url: '/?ws=acme' });
      await waitFor(() => expect(figure('Running')).toHaveTextContent('3'));
      const polls = () => server.calls.filter((c) => c.url.pathname === '/api/v1/metrics/execution/realtime').length;
      const n = polls();
      await act(() => vi.advanceTimersByTimeAsync(5_100));
      await waitFor(() => expect(polls()).toBeGreaterThan(n));
      act(() => FakeWebSocket.last().open());
      await screen.findByRole('status', { name: 'Connection: Live' });
      const m = polls();
      await act(() => vi.advanceTimersByTimeAsync(12_000));
      expect(polls()).toBe(m);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('live stream', () => {
  /** Renders the page until its findings are listed and opens the stream; counts the findings' fetches. */
  async function liveFindings() {
    const { server } = renderApp({ url: '/?ws=acme' });
    const anomalies = await screen.findByRole('region', { name: 'Anomalies' });
    await within(anomalies).findByRole('list', { name: 'Findings' });
    const sock = FakeWebSocket.last();
    act(() => sock.open());
    const patternCalls = () => server.calls.filter((c) => c.url.pathname === '/api/v1/metrics/execution/patterns').length;
    return { server, sock, patternCalls };
  }

  it('refreshes the window when executions finish, at most every 5 s', async () => {
    const { server } = renderApp({ url: '/?ws=acme' });
    await waitFor(() => expect(figure('Throughput')).toHaveTextContent('0.5'));
    const sock = FakeWebSocket.last();
    act(() => sock.open());
    const metricsCalls = () => server.calls.filter((c) => c.url.pathname === '/api/v1/metrics/execution').length;
    const before = metricsCalls();
    const done = { execution_id: 'x', agent_id: 'a', status: 'completed', duration_ms: 5, finished_at: '2026-03-01T12:00:00Z', error_type: null };
    act(() => {
      sock.message({ type: 'execution_completed', data: done });
      sock.message({ type: 'execution_completed', data: done });
      sock.message({ type: 'execution_completed', data: done });
    });
    await waitFor(() => expect(metricsCalls()).toBe(before + 1));
    // The two others wait for the end of the 5 s interval.
    await new Promise((r) => setTimeout(r, 100));
    expect(metricsCalls()).toBe(before + 1);
  });

  it('refetches the findings at once when the detector announces one, and shows a notice', async () => {
    const user = userEvent.setup();
    const { sock, patternCalls } = await liveFindings();
    const before = patternCalls();
    act(() =>
      sock.message({
        type: 'anomaly_detected',
        data: finding({
          id: 'f-9',
          metric: 'queue_wait_p95',
          agent_id: 'writer',
          observed: 45_000,
          expected: 4_000,
          explanation: 'Queue wait p95 of writer reached 45 s, against 4 s usually.',
          contributors: [],
        }),
      }),
    );
    await waitFor(() => expect(patternCalls()).toBe(before + 1));
    const notices = screen.getByRole('region', { name: 'New anomalies' });
    const notice = within(notices).getByRole('group', { name: 'New anomaly: Queue wait p95 up, writer' });
    expect(notice).toHaveTextContent('Critical');
    expect(notice).toHaveTextContent('45 s observed vs 4 s expected');
    expect(notice).toHaveTextContent('Queue wait p95 of writer reached 45 s, against 4 s usually.');
    await user.click(within(notice).getByRole('button', { name: 'Dismiss' }));
    expect(within(notices).queryByRole('group')).not.toBeInTheDocument();
  });

  it('refetches the findings, without a notice, when the detector has read them from history', async () => {
    const { sock, patternCalls } = await liveFindings();
    const before = patternCalls();
    act(() => sock.message({ type: 'anomalies_replayed', data: { findings: 3 } }));
    await waitFor(() => expect(patternCalls()).toBe(before + 1));
    expect(within(screen.getByRole('region', { name: 'New anomalies' })).queryByRole('group')).not.toBeInTheDocument();
  });

  it('reconnects after the server closes, showing it', async () => {
    renderApp({ url: '/?ws=acme' });
    await waitFor(() => expect(FakeWebSocket.instances.length).toBe(1));
    act(() => FakeWebSocket.last().open());
    act(() => FakeWebSocket.last().serverClose(1001));
    expect(await screen.findByRole('status', { name: 'Connection: Reconnecting…' })).toBeInTheDocument();
    await waitFor(() => expect(FakeWebSocket.instances.length).toBe(2), { timeout: 2500 });
  });

  it('refetches the window and the findings when it is back after a gap', async () => {
    const { server, sock, patternCalls } = await liveFindings();
    const metricsCalls = () => server.calls.filter((c) => c.url.pathname === '/api/v1/metrics/execution').length;
    const [m0, p0] = [metricsCalls(), patternCalls()];
    act(() => sock.serverClose(1001));
    await waitFor(() => expect(FakeWebSocket.instances.length).toBe(2), { timeout: 2500 });
    expect([metricsCalls(), patternCalls()]).toEqual([m0, p0]);
    act(() => FakeWebSocket.last().open());
    await waitFor(() => expect([metricsCalls(), patternCalls()]).toEqual([m0 + 1, p0 + 1]));
  });

  it('signs out when the stream refuses the key', async () => {
    renderApp({ url: '/?ws=acme' });
    await waitFor(() => expect(FakeWebSocket.instances.length).toBe(1));
    act(() => FakeWebSocket.last().serverClose(4401));
    expect(await screen.findByRole('alert')).toHaveTextContent(/Your key was refused/);
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeInTheDocument();
  });
});

describe('performance by agent', () => {
  const table = async () => {
    const region = await screen.findByRole('region', { name: 'Performance by agent' });
    await within(region).findByRole('table');
    return region;
  };
  const agentOrder = (region: HTMLElement) =>
    within(region)
      .getAllByRole('button', { name: /^Filter by agent / })
      .map((b) => b.textContent);

  it('sorts by a column when its header is clicked', async () => {
    const user = userEvent.setup();
    renderApp({ url: '/?ws=acme' });
    const region = await table();
    expect(agentOrder(region)).toEqual(['summarizer', 'classifier', 'writer']);
    await user.click(within(region).getByRole('button', { name: /^Total/ }));
    expect(agentOrder(region)).toEqual(['writer', 'classifier', 'summarizer']);
    expect(within(region).getByRole('columnheader', { name: /Total/ })).toHaveAttribute('aria-sort', 'ascending');
    await user.click(within(region).getByRole('button', { name: /^p95/ }));
    expect(agentOrder(region)).toEqual(['writer', 'summarizer', 'classifier']);
    await user.click(within(region).getByRole('button', { name: /^Agent/ }));
    expect(agentOrder(region)).toEqual(['classifier', 'summarizer', 'writer']);
  });

  it('filters the whole page to an agent, and clears the filter', async () => {
    const user = userEvent.setup();
    const { server } = renderApp({ url: '/?ws=acme' });
    const region = await table();
    await user.click(within(region).getByRole('button', { name: 'Filter by agent classifier' }));
    expect(new URLSearchParams(window.location.search).get('agent')).toBe('classifier');
    expect(screen.getByRole('region', { name: 'Filter' })).toHaveTextContent('Showing agent classifier only');
    await waitFor(() =>
      expect(server.calls.some((c) => c.url.pathname === '/api/v1/metrics/execution' && c.url.searchParams.get('agent_id') === 'classifier')).toBe(true),
    );
    for (const path of ['/api/v1/metrics/execution/realtime', '/api/v1/executions']) {
      await waitFor(() =>
        expect(server.calls.some((c) => c.url.pathname === path && c.url.searchParams.get('agent_id') === 'classifier')).toBe(true),
      );
    }
    await waitFor(() => expect(FakeWebSocket.last().url).toContain('agent_id=classifier'));
    await user.click(screen.getByRole('button', { name: 'Clear filter' }));
    expect(new URLSearchParams(window.location.search).get('agent')).toBeNull();
    expect(screen.queryByRole('region', { name: 'Filter' })).not.toBeInTheDocument();
  });
});

describe('header', () => {
  it('switches timeframe through the URL', async () => {
    const user = userEvent.setup();
    const { server } = renderApp({ url: '/?ws=acme' });
    await waitFor(() => expect(figure('Throughput')).toHaveTextContent('0.5'));
    await user.click(within(screen.getByRole('group', { name: 'Timeframe' })).getByRole('button', { name: '7d' }));
    expect(window.location.search).toBe('?ws=acme&tf=7d');
    expect(screen.getByRole('button', { name: '7d' })).toHaveAttribute('aria-pressed', 'true');
    await waitFor(() =>
      expect(server.calls.some((c) => c.url.pathname === '/api/v1/metrics/execution' && c.url.searchParams.get('timeframe') === '7d')).toBe(true),
    );
  });

  it('sets a custom range as RFC 3339 UTC', async () => {
    const user = userEvent.setup();
    const { server } = renderApp({ url: '/?ws=acme' });
    await user.click(screen.getByRole('button', { name: 'Custom…' }));
    const form = screen.getByRole('form', { name: 'Custom range' });
    const from = within(form).getByLabelText('From');
    const to = within(form).getByLabelText('To');
    await user.clear(from);
    await user.type(from, '2026-03-01T08:00');
    await user.clear(to);
    await user.type(to, '2026-03-01T20:00');
    await user.click(within(form).getByRole('button', { name: 'Apply' }));
    const q = new URLSearchParams(window.location.search);
    expect(q.get('from')).toBe(new Date(2026, 2, 1, 8).toISOString().replace('.000Z', 'Z'));
    expect(q.get('to')).toBe(new Date(2026, 2, 1, 20).toISOString().replace('.000Z', 'Z'));
    expect(q.get('tf')).toBeNull();
    await waitFor(() =>
      expect(server.calls.some((c) => c.url.pathname === '/api/v1/metrics/execution' && c.url.searchParams.get('from') === q.get('from'))).toBe(true),
    );
  });

  it('refuses a backwards range', async () => {
    const user = userEvent.setup();
    renderApp({ url: '/?ws=acme' });
    await user.click(screen.getByRole('button', { name: 'Custom…' }));
    const form = screen.getByRole('form', { name: 'Custom range' });
    await user.clear(within(form).getByLabelText('From'));
    await user.type(within(form).getByLabelText('From'), '2026-03-02T08:00');
    await user.clear(within(form).getByLabelText('To'));
    await user.type(within(form).getByLabelText('To'), '2026-03-01T08:00');
    await user.click(within(form).getByRole('button', { name: 'Apply' }));
    expect(within(form).getByRole('alert')).toHaveTextContent('The start must be before the end.');
    expect(window.location.search).toBe('?ws=acme');
  });

  it('picks the first workspace when the URL names none', async () => {
    renderApp({ url: '/' });
    await waitFor(() => expect(window.location.search).toBe('?ws=acme'));
    expect(await screen.findByRole('combobox', { name: 'Workspace' })).toHaveValue('acme');
  });
});

describe('drill-down', () => {
  it('opens a failed execution with its events', async () => {
    const user = userEvent.setup();
    const { server } = renderApp({ url: '/?ws=acme' });
    const failures = await screen.findByRole('region', { name: 'Recent failures' });
    const item = await within(failures).findByRole('button', { name: 'Open failed execution run-9' });
    expect(item).toHaveTextContent('RateLimit');
    expect(item).toHaveTextContent('429 from provider');
    const call = server.calls.find((c) => c.url.pathname === '/api/v1/executions')!;
    expect(call.url.searchParams.get('status')).toBe('failed');
    expect(call.url.searchParams.get('limit')).toBe('20');
    await user.click(item);
    expect(new URLSearchParams(window.location.search).get('exec')).toBe('run-9');
    const dialog = await screen.findByRole('dialog', { name: 'run-9' });
    const events = await within(dialog).findByRole('table', { name: 'Events' });
    expect(within(events).getAllByRole('row')).toHaveLength(4);
    expect(events).toHaveTextContent('RateLimit: 429 from provider');
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(new URLSearchParams(window.location.search).get('exec')).toBeNull();
  });
});

describe('empty and error states', () => {
  it('says so when nothing happened', async () => {
    const empty = metrics();
    empty.throughput = { ...empty.throughput, total: 0, completed: 0, failed: 0, timed_out: 0, series: [] };
    empty.latency = { ...empty.latency, count: 0, distribution: [], p50_ms: null, p75_ms: null, p90_ms: null, p95_ms: null, p99_ms: null };
    empty.latency.queue_wait = { ...empty.latency.queue_wait, count: 0 };
    empty.performance = { ...empty.performance, success_rate: null, by_agent: [] };
    renderApp({
      url: '/?ws=acme',
      routes: healthyRoutes({
        '/api/v1/metrics/execution': { body: empty },
        '/api/v1/metrics/execution/realtime': { body: snapshot({ running: 0, queued: 0, oldest_queued_age_ms: null, running_executions: [] }) },
        '/api/v1/executions': { body: { items: [], next_cursor: null } },
      }),
    });
    expect(await screen.findByText('Nothing is running right now.')).toBeInTheDocument();
    expect(await screen.findAllByText('No execution finished in this window.')).toHaveLength(2);
    expect(screen.getByText('No execution with a run time finished in this window.')).toBeInTheDocument();
    expect(screen.getByText('No agent finished an execution in this window.')).toBeInTheDocument();
    expect(await screen.findByText('No failed execution in this window.')).toBeInTheDocument();
    expect(figure('Success rate')).toHaveTextContent('—');
    expect(screen.getByRole('group', { name: 'Queue: OK' })).toBeInTheDocument();
  });

  it('shows errors with a retry, panel by panel', async () => {
    const user = userEvent.setup();
    let fail = true;
    renderApp({
      url: '/?ws=acme',
      routes: healthyRoutes({
        '/api/v1/metrics/execution': () =>
          fail ? { status: 500, body: { error: { code: 'internal', message: 'an internal error occurred; it has been logged' } } } : { body: metrics() },
      }),
    });
    const tp = await screen.findByRole('region', { name: 'Throughput' });
    const alert = await within(tp).findByRole('alert');
    expect(alert).toHaveTextContent('Could not load throughput: an internal error occurred');
    expect(figure('P95 latency')).toHaveTextContent('—');
    // Realtime has its own request and still works.
    expect(figure('Running')).toHaveTextContent('3');
    fail = false;
    await user.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(await within(tp).findByRole('img')).toBeInTheDocument();
  });

  it('shows loading first', async () => {
    renderApp({ url: '/?ws=acme' });
    expect(screen.getAllByRole('status').some((s) => /Loading/.test(s.textContent ?? ''))).toBe(true);
    expect(figure('Running')).toHaveTextContent('…');
    await waitFor(() => expect(figure('Running')).toHaveTextContent('3'));
  });

  it('says when the key sees no workspace', async () => {
    renderApp({ url: '/', routes: healthyRoutes({ '/api/v1/workspaces': { body: { workspaces: [] } } }) });
    expect(await screen.findByText(/This key sees no workspace yet/)).toBeInTheDocument();
  });
});

describe('queue', () => {
  it('colours by severity', async () => {
    renderApp({
      url: '/?ws=acme',
      routes: healthyRoutes({ '/api/v1/metrics/execution/realtime': { body: snapshot({ queued: 4, oldest_queued_age_ms: 400_000 }) } }),
    });
    const q = await screen.findByRole('group', { name: 'Queue: Critical' });
    expect(q).toHaveTextContent('6.7 min');
  });
});

describe('charts', () => {
  it('fetch the previous window for the throughput comparison', async () => {
    const { server } = renderApp({ url: '/?ws=acme&agent=summarizer' });
    const region = await screen.findByRole('region', { name: 'Throughput' });
    await waitFor(() => expect(within(region).getByRole('img')).toHaveAccessibleName(/previous period 30/));
    const call = server.calls.find((c) => c.url.pathname === '/api/v1/metrics/execution/throughput')!;
    expect(Object.fromEntries(call.url.searchParams)).toEqual({
      workspace_id: 'acme',
      from: '2026-03-01T09:59:00Z',
      to: '2026-03-01T11:00:00Z',
      step: '60',
      agent_id: 'summarizer',
    });
  });

  it('mark latency percentiles and show queue wait beside them', async () => {
    renderApp({ url: '/?ws=acme' });
    const region = await screen.findByRole('region', { name: 'Latency' });
    const marks = await within(region).findByRole('list', { name: 'Run time percentiles' });
    expect(marks).toHaveTextContent('p501.2 s');
    expect(marks).toHaveTextContent('p998.8 s');
    expect(within(region).getByRole('img')).toHaveAccessibleName(/p50 1\.2 s, p75 2 s, p90 4 s, p95 5\.3 s, p99 8\.8 s/);
    const qw = within(region).getByRole('group', { name: 'Queue wait percentiles' });
    expect(qw).toHaveTextContent('p95900 ms');
    expect(qw).toHaveTextContent('max2 s');
  });

  it('draw the timeline from the same series', async () => {
    renderApp({ url: '/?ws=acme' });
    const region = await screen.findByRole('region', { name: 'Executions and success rate' });
    expect(await within(region).findByRole('img')).toHaveAccessibleName(/30 in all, 86\.7% succeeded/);
    // The findings are shaded here too: the burst overlaps the series, the earlier one does not.
    await waitFor(() => expect(within(region).getByRole('img')).toHaveAccessibleName(/succeeded; 1 anomaly shaded$/));
  });
});

describe('workers, queue and findings', () => {
  it('have their panels on the page', async () => {
    renderApp({ url: '/?ws=acme' });
    const load = await screen.findByRole('region', { name: 'System load' });
    expect(await within(load).findByRole('table')).toHaveTextContent('w-3');
    const q = screen.getByRole('region', { name: 'Queue backlog and wait' });
    expect(await within(q).findByRole('group', { name: 'Drain estimate' })).toHaveTextContent('Drains in ~29 s at 4.2/min');
    const a = screen.getByRole('region', { name: 'Anomalies' });
    expect(await within(a).findAllByRole('listitem', { name: /,/ })).toHaveLength(2);
    const tp = screen.getByRole('region', { name: 'Throughput' });
    await waitFor(() => expect(tp).toHaveTextContent('Forecast, per hour, next 24 h'));
  });
});

describe('running executions', () => {
  it('lists them with elapsed time and progress', async () => {
    renderApp({ url: '/?ws=acme' });
    const region = await screen.findByRole('region', { name: 'Running now' });
    const bar = await within(region).findByRole('progressbar', { name: 'Progress of run-1' });
    expect(bar).toHaveAttribute('aria-valuenow', '40');
    expect(within(region).getByTestId('elapsed')).toHaveTextContent(/^1m 0\ds$/);
  });
});
