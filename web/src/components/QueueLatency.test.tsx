import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { healthyRoutes, renderPanel } from '../test/harness';
import { queue } from '../test/fixtures';
import { QueueLatency } from './QueueLatency';

function panel(routes = healthyRoutes(), agent: string | null = null) {
  return renderPanel(<QueueLatency ws="acme" win={{ timeframe: '24h' }} agent={agent} />, { routes });
}
const withQueue = (body: unknown) => healthyRoutes({ '/api/v1/metrics/execution/queue': { body } });

describe('QueueLatency', () => {
  it('says when the backlog drains, and how fast work arrives and finishes', async () => {
    panel();
    const drain = await screen.findByRole('group', { name: 'Drain estimate' });
    expect(drain).toHaveTextContent('Drains in ~29 s at 4.2/min');
    expect(drain).toHaveTextContent('2 queued now · arriving 5/min · finishing 4.2/min (last 5 minutes)');
    expect(within(screen.getByRole('group', { name: 'Oldest wait' })).getByTestId('stat-value')).toHaveTextContent('12 s');
    expect(within(screen.getByRole('group', { name: 'Arrivals' })).getByTestId('stat-value')).toHaveTextContent('5/min');
    expect(within(screen.getByRole('group', { name: 'Completions' })).getByTestId('stat-value')).toHaveTextContent('4.2/min');
  });

  it('draws the backlog and gives queue wait percentiles for the window', async () => {
    panel();
    const region = await screen.findByRole('region', { name: 'Queue backlog and wait' });
    expect(await within(region).findByRole('img')).toHaveAccessibleName('Executions queued per 1 min, peak and mean of the samples; highest 4');
    const wait = within(region).getByRole('group', { name: 'Queue wait in this window' });
    expect(wait).toHaveTextContent('30 started after queueing');
    expect(wait).toHaveTextContent('p50150 ms');
    expect(wait).toHaveTextContent('p95900 ms');
    expect(wait).toHaveTextContent('p991.5 s');
    expect(wait).toHaveTextContent('max2 s');
  });

  it('lists queue wait by agent, most queued first', async () => {
    panel();
    const table = await screen.findByRole('table', { name: /Queue wait by agent/ });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getByRole('rowheader').textContent)).toEqual(['summarizer', 'classifier', 'writer']);
    const cells = (r: HTMLElement) => within(r).getAllByRole('cell').map((c) => c.textContent);
    expect(cells(rows[0]!)).toEqual(['2', '12 s', '20', '120 ms', '800 ms', '1.4 s']);
    expect(cells(rows[1]!)).toEqual(['0', '—', '7', '200 ms', '950 ms', '1.1 s']);
  });

  it('says "not draining" when nothing finished while work waits', async () => {
    panel(withQueue(queue({ queued: 9, oldest_wait_ms: 400_000, completion_rate_per_minute: 0, drain_seconds: null })));
    const drain = await screen.findByRole('group', { name: 'Drain estimate' });
    expect(drain).toHaveTextContent('Not draining: nothing finished in the last 5 minutes');
    expect(drain).toHaveAttribute('data-drain', 'stuck');
  });

  it('says the queue is empty, and when nothing waited in the window', async () => {
    const none = { count: 0, min_ms: null, mean_ms: null, p50_ms: null, p75_ms: null, p90_ms: null, p95_ms: null, p99_ms: null, max_ms: null };
    panel(
      withQueue(
        queue({
          queued: 0,
          oldest_wait_ms: null,
          drain_seconds: 0,
          arrival_rate_per_minute: 0,
          completion_rate_per_minute: 0,
          wait: none,
          by_agent: [],
          series: queue().series.map((p) => ({ ...p, queued_max: p.queued_max === null ? null : 0, queued_mean: p.queued_mean === null ? null : 0, wait_count: 0 })),
        }),
      ),
    );
    expect(await screen.findByRole('group', { name: 'Drain estimate' })).toHaveTextContent('Empty: nothing is waiting');
    expect(screen.getByText('Nothing waited in the queue in this window.')).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });

  it('sends the window and the agent filter', async () => {
    const { server } = panel(healthyRoutes(), 'summarizer');
    await screen.findByRole('group', { name: 'Drain estimate' });
    const call = server.calls.find((c) => c.url.pathname === '/api/v1/metrics/execution/queue')!;
    expect(Object.fromEntries(call.url.searchParams)).toEqual({ workspace_id: 'acme', timeframe: '24h', agent_id: 'summarizer' });
  });

  it('shows loading, then errors', async () => {
    panel(healthyRoutes({ '/api/v1/metrics/execution/queue': { status: 400, body: { error: { code: 'invalid_request', message: 'unknown timeframe', where: 'timeframe' } } } }));
    expect(screen.getByRole('status')).toHaveTextContent('Loading queue wait…');
    await waitFor(() => expect(screen.getByRole('alert')).toHaveTextContent('Could not load queue wait: unknown timeframe (timeframe)'));
  });
});
