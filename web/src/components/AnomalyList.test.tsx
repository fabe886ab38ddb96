import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { healthyRoutes, renderPanel } from '../test/harness';
import { patterns } from '../test/fixtures';
import { formatMinute } from '../lib/format';
import { AnomalyList } from './AnomalyList';

function panel(routes = healthyRoutes(), agent: string | null = null) {
  return renderPanel(<AnomalyList ws="acme" win={{ timeframe: '6h' }} agent={agent} />, { routes });
}

describe('AnomalyList', () => {
  it('lists findings newest first with severity, direction, span and values', async () => {
    panel();
    const list = await screen.findByRole('list', { name: 'Findings' });
    const items = within(list).getAllByRole('listitem', { name: /,/ });
    expect(items.map((i) => i.getAttribute('aria-label'))).toEqual([
      'Throughput up, workspace, critical',
      'Error rate up, classifier, warning',
    ]);
    const burst = items[0]!;
    expect(burst).toHaveTextContent('Critical');
    expect(burst).toHaveTextContent('Throughput ↑ up');
    expect(within(burst).getByTestId('finding-span')).toHaveTextContent(`${formatMinute('2026-03-01T11:58:00Z')} – ongoing`);
    expect(within(burst).getByTestId('finding-values')).toHaveTextContent('20/min observed vs 6/min expected · 9.4 robust SD above · seasonal baseline');
    expect(burst).toHaveTextContent('Executions finished per minute rose to 20, against 6 expected at this time of day.');
    const errors = items[1]!;
    expect(errors).toHaveTextContent('Warning');
    expect(within(errors).getByTestId('finding-span')).toHaveTextContent(
      `${formatMinute('2026-03-01T11:20:00Z')} – ${formatMinute('2026-03-01T11:35:00Z', new Date('2026-03-01T11:20:00Z'))}`,
    );
    expect(within(errors).getByTestId('finding-values')).toHaveTextContent('40.0% observed vs 5.0% expected');
    expect(within(errors).queryByRole('list')).not.toBeInTheDocument();
  });

  it("names the agents behind a workspace finding", async () => {
    panel();
    const who = await screen.findByRole('list', { name: 'Contributors to Throughput up, workspace, critical' });
    const rows = within(who).getAllByRole('listitem');
    expect(rows[0]).toHaveTextContent('summarizer14/min vs 4/min expected71.0% of the excess');
    expect(rows[1]).toHaveTextContent('classifier5/min vs 2/min expected21.0% of the excess');
  });

  it('says what the detector compares with', async () => {
    panel();
    const region = await screen.findByRole('region', { name: 'Anomalies' });
    await waitFor(() => expect(within(region).getByTestId('detector')).toHaveTextContent(/^Seasonal baseline .* · 336 h of history · checked through/));
    expect(region).toHaveTextContent('2 findings · 1 critical · 1 ongoing · 1 burst · newest first');
  });

  it('says when nothing was unusual, and that it is learning without a baseline', async () => {
    panel(
      healthyRoutes({
        '/api/v1/metrics/execution/patterns': {
          body: patterns({ anomalies: [], bursts: [], detector: { running: true, evaluated_through: '2026-03-01T12:00:00Z', baseline: 'none', history_hours: 20 } }),
        },
      }),
    );
    expect(await screen.findByText('Nothing unusual in this window.')).toBeInTheDocument();
    expect(screen.getByTestId('detector')).toHaveTextContent('Learning: 20 h of history, too little for a baseline yet');
    expect(screen.queryByRole('list', { name: 'Findings' })).not.toBeInTheDocument();
  });

  it('sends the window and the agent filter', async () => {
    const { server } = panel(healthyRoutes(), 'classifier');
    await screen.findByRole('list', { name: 'Findings' });
    const call = server.calls.find((c) => c.url.pathname === '/api/v1/metrics/execution/patterns')!;
    expect(Object.fromEntries(call.url.searchParams)).toEqual({ workspace_id: 'acme', timeframe: '6h', agent_id: 'classifier' });
  });

  it('shows loading, then errors', async () => {
    panel(healthyRoutes({ '/api/v1/metrics/execution/patterns': { status: 503, body: { error: { code: 'unavailable', message: 'the store is unavailable' } } } }));
    expect(screen.getByRole('status')).toHaveTextContent('Loading anomalies…');
    expect(await screen.findByRole('alert')).toHaveTextContent('Could not load anomalies: the store is unavailable');
  });
});
