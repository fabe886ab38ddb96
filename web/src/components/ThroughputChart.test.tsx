import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { WindowParams } from '../api/client';
import { healthyRoutes, renderPanel } from '../test/harness';
import { forecast, FORECAST_EXPECTED, patterns } from '../test/fixtures';
import { formatMinute } from '../lib/format';
import { ThroughputChart } from './ThroughputChart';

const total = FORECAST_EXPECTED.reduce((a, b) => a + b, 0).toLocaleString('en-US');

function panel(routes = healthyRoutes(), win: WindowParams = { timeframe: '24h' }, agent: string | null = null) {
  return renderPanel(<ThroughputChart ws="acme" win={win} agent={agent} />, { routes });
}

describe('ThroughputChart', () => {
  it('draws the next 24 hours of forecast after the 24h window, labelled per hour', async () => {
    const { server } = panel(healthyRoutes(), { timeframe: '24h' }, 'summarizer');
    const region = await screen.findByRole('region', { name: 'Throughput' });
    await waitFor(() =>
      expect(within(region).getByRole('img')).toHaveAccessibleName(new RegExp(`then the forecast for the next 24 h, ${total} expected$`)),
    );
    expect(region).toHaveTextContent(
      `Forecast, per hour, next 24 h: ${total} expected in all (dashed, with its 90% interval shaded) · model seasonal daily from 72 h of history · 11.8% mean error on the last full day · capacity 960 per hour`,
    );
    const call = server.calls.find((c) => c.url.pathname === '/api/v1/metrics/execution/forecast')!;
    expect(Object.fromEntries(call.url.searchParams)).toEqual({ workspace_id: 'acme', agent_id: 'summarizer' });
    expect(within(region).queryByTestId('capacity-warning')).not.toBeInTheDocument();
  });

  it('warns when the forecast exceeds capacity', async () => {
    panel(
      healthyRoutes({
        '/api/v1/metrics/execution/forecast': {
          body: forecast({ capacity_per_hour: 800, capacity_warning: { t: '2026-03-01T15:00:00Z', expected: 820, capacity_per_hour: 800 } }),
        },
      }),
    );
    const warning = await screen.findByTestId('capacity-warning');
    expect(warning).toHaveTextContent(
      `Forecast exceeds capacity from ${formatMinute('2026-03-01T15:00:00Z')}: 820 expected against 800 per hour the active workers can finish.`,
    );
  });

  it('writes a capacity far above the data instead of drawing it', async () => {
    panel(healthyRoutes({ '/api/v1/metrics/execution/forecast': { body: forecast({ capacity_per_hour: 20_000 }) } }));
    expect(await screen.findByText(/capacity 20,000 per hour \(far above the chart, not drawn\)/)).toBeInTheDocument();
  });

  it('says why there is no forecast', async () => {
    panel(
      healthyRoutes({
        '/api/v1/metrics/execution/forecast': {
          body: forecast({ available: false, reason: 'a forecast needs 48 hours of history; there are 31', model: '', series: [], capacity_per_hour: null, backtest_mape_pct: null }),
        },
      }),
    );
    expect(await screen.findByText('Forecast unavailable: a forecast needs 48 hours of history; there are 31')).toBeInTheDocument();
    expect(screen.getByRole('img')).not.toHaveAccessibleName(/forecast/);
  });

  it('neither fetches nor mentions a forecast for other windows', async () => {
    const { server } = panel(healthyRoutes(), { timeframe: '1h' });
    const region = await screen.findByRole('region', { name: 'Throughput' });
    await within(region).findByRole('img');
    expect(region).not.toHaveTextContent(/forecast/i);
    expect(server.calls.some((c) => c.url.pathname === '/api/v1/metrics/execution/forecast')).toBe(false);
  });

  it('shades the findings of the window', async () => {
    panel(healthyRoutes(), { timeframe: '1h' });
    const region = await screen.findByRole('region', { name: 'Throughput' });
    // The burst overlaps the series; the error-rate finding lies before it.
    await waitFor(() => expect(within(region).getByRole('img')).toHaveAccessibleName(/; 1 anomaly shaded/));
    expect(region).toHaveTextContent('Shaded: 1 anomaly of this window (amber warning, red critical; listed under Anomalies).');
  });

  it('shades nothing without findings', async () => {
    const { queryClient, server } = panel(
      healthyRoutes({ '/api/v1/metrics/execution/patterns': { body: patterns({ anomalies: [], bursts: [] }) } }),
      { timeframe: '1h' },
    );
    const region = await screen.findByRole('region', { name: 'Throughput' });
    await within(region).findByRole('img');
    await waitFor(() => expect(server.calls.some((c) => c.url.pathname === '/api/v1/metrics/execution/patterns')).toBe(true));
    await waitFor(() => expect(queryClient.isFetching()).toBe(0));
    expect(within(region).getByRole('img')).not.toHaveAccessibleName(/shaded/);
    expect(region).not.toHaveTextContent('Shaded');
  });
});
